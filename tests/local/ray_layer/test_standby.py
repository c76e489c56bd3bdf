"""local/ray_layer/standby.py: when a warm worker is asked for (no Ray: the raylet call is replaced)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from local.ray_layer import standby


@dataclass
class Status:
    replicas: int


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(standby, "prestart_worker", lambda: calls.append(1))
    return calls


def test_a_worker_is_asked_for_while_a_unit_that_scales_to_zero_is_deployed(
    asked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(standby, "idle_workers", lambda pids: [])
    statuses = {"b": Status(0)}
    scalable = {"a"}
    keeper = standby.WarmStandby(lambda: statuses, lambda: scalable, lambda: [])
    keeper.tick()
    assert asked == []  # "a" is not deployed (yet); "b" cannot scale to zero
    statuses["a"] = Status(1)
    keeper.tick()
    assert asked == [1] and keeper.started == 1  # running: the worker is ready before it scales to zero
    keeper.tick()
    assert asked == [1]  # the one asked for is still starting
    scalable.clear()
    keeper._requested_at = None
    keeper.tick()
    assert asked == [1]  # nothing may scale to zero: no standby


def test_no_worker_is_asked_for_while_one_is_idle(asked: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standby, "idle_workers", lambda pids: [4242])
    keeper = standby.WarmStandby(lambda: {"a": Status(0)}, lambda: {"a"}, lambda: [])
    keeper.tick()
    assert asked == []


def test_idle_workers_are_found_by_their_process_title() -> None:
    import os

    assert standby.idle_workers([os.getpid()]) == []  # pytest is no ray::IDLE

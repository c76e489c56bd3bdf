"""Controller.live_statuses: the /metrics collector reads a snapshot and never waits for Ray."""

from __future__ import annotations

import threading
import time
from typing import Any

from kserve.model_repository import ModelRepository

from local.gateway.controller import Controller


class SlowRuntime:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def statuses(self) -> dict[str, Any]:
        self.calls += 1
        self.release.wait(timeout=10)  # a Serve controller that takes its time
        return {"iris-predictor-00001": "running"}


def test_the_snapshot_is_returned_at_once_and_filled_by_the_refresher() -> None:
    runtime = SlowRuntime()
    controller = Controller(runtime, ModelRepository(), "http://127.0.0.1:8080")  # type: ignore[arg-type]
    started = time.monotonic()
    assert controller.live_statuses(interval_s=0.05) == {}
    assert time.monotonic() - started < 0.5  # did not wait for the slow call
    runtime.release.set()
    deadline = time.monotonic() + 5
    while controller.live_statuses() == {} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert controller.live_statuses() == {"iris-predictor-00001": "running"}
    assert runtime.calls >= 1

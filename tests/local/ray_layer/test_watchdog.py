"""local/ray_layer/watchdog.py and Stopper.lost: Ray dying under `isvc up` is noticed once and ends it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from local.lifecycle import Stopper
from local.ray_layer.head import LocalHead
from local.ray_layer.watchdog import RayWatch, gcs_reachable


def test_the_watch_reports_once_and_stops() -> None:
    answers = iter([None, None, "gone", "gone again"])
    lost: list[str] = []
    called = threading.Event()

    def on_lost(reason: str) -> None:
        lost.append(reason)
        called.set()

    watch = RayWatch(lambda: next(answers), on_lost, interval_s=0.01)
    watch.start()
    assert called.wait(5)
    time.sleep(0.05)
    assert lost == ["gone"] and watch.reason == "gone"


def test_a_stopped_watch_never_reports() -> None:
    lost: list[str] = []
    watch = RayWatch(lambda: "gone", lost.append, interval_s=0.05)
    watch.stop()
    watch.start()
    time.sleep(0.2)
    assert lost == []


def test_a_failing_probe_is_no_verdict() -> None:
    calls: list[str | None] = []

    def check() -> str | None:
        calls.append(None)
        if len(calls) == 1:
            raise RuntimeError("probe")
        return "gone"

    called = threading.Event()
    watch = RayWatch(check, lambda reason: called.set(), interval_s=0.01).start()
    assert called.wait(5) and watch.reason == "gone"


def test_gcs_reachable_counts_refusals_in_a_row() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        check = gcs_reachable(f"127.0.0.1:{port}", failures=2, timeout_s=0.5)
        assert check() is None
    assert check() is None  # one refusal is not yet a verdict
    reason = check()
    assert reason is not None and f"127.0.0.1:{port}" in reason and "does not answer" in reason


class _Info:
    def __init__(self, process: Any):
        self.process = process


class _Node:
    def __init__(self, processes: dict[str, Any]):
        self.all_processes = {kind: [_Info(process)] for kind, process in processes.items()}


def test_the_head_is_lost_when_its_gcs_or_raylet_exits() -> None:
    gcs = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    raylet = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        head = LocalHead()
        head._node = _Node({"gcs_server": gcs})
        assert head.lost() is None
        raylet.wait(timeout=30)
        head._node = _Node({"gcs_server": gcs, "raylet": raylet})
        assert head.lost() == f"the Ray head's raylet (pid {raylet.pid}) exited with code 3"
    finally:
        gcs.kill()
        gcs.wait()


class _Server:
    should_exit = False


def test_stopper_lost_says_so_stops_serving_and_forces_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    stopper = Stopper(log=lines.append)
    forced = threading.Event()
    why: list[str] = []

    def force(why_: str = "") -> None:
        why.append(why_)
        forced.set()

    monkeypatch.setattr(stopper, "force", lambda **kw: force(kw["why"]))
    server = _Server()
    stopper.server = server
    stopper.lost("the Ray head's gcs_server (pid 1) exited with code -9", exit_within_s=0.05)
    assert server.should_exit and stopper.lost_reason and not stopper.requested
    assert lines == [
        "Ray is gone: the Ray head's gcs_server (pid 1) exited with code -9. "
        "Nothing can be served without it: stopping (exit code 1)"
    ]
    assert forced.wait(5) and why == ["Ray is gone: stopping the sink and Ray now"]


def test_stopper_ignores_a_lost_ray_while_it_stops_ray_itself() -> None:
    stopper = Stopper(log=lambda line: None)
    stopper.stopping = True
    stopper.lost("gone", exit_within_s=0.01)
    assert stopper.lost_reason is None

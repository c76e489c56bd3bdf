"""``isvc up`` when its Ray head dies under it: it says so and exits non-zero, in bounded time.

A real ``isvc up --sink -f manifests/iris.yaml`` (its own head, free ports); once it serves, one of its
head's vital processes is killed (SIGKILL). Without the watch, calls to Serve hung and Ray ended the
process 60 s later.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.local.cli.upctl import Up, alive

pytestmark = pytest.mark.ray
EXIT_WITHIN_S = 15.0


@pytest.mark.parametrize("victim", ["gcs_server", "raylet"])
def test_up_exits_non_zero_when_its_ray_head_dies(tmp_path: Path, victim: str) -> None:
    up = Up(tmp_path / "state", ["--sink", "-f", str(REPO_ROOT / "manifests" / "iris.yaml")]).start()
    pids: list[int] = []
    try:
        up.wait_first_200()
        tree = up.tree()
        pids = [process.pid for process in tree]
        [target] = [process for process in tree if process.name() == victim]
        killed_at = time.monotonic()
        target.send_signal(signal.SIGKILL)
        assert up.process is not None
        try:
            code = up.process.wait(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"isvc up still runs {EXIT_WITHIN_S:.0f}s after its {victim} died:\n{up.log()}"
            ) from None
        took = time.monotonic() - killed_at
        log = up.log()
        print(f"\n{victim} killed: isvc up exited with {code} after {took:.1f}s")
        assert code != 0, log
        assert "Ray is gone" in log and victim in log, log
        deadline = time.monotonic() + 10
        while alive(pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert alive(pids) == []  # nothing of it is left behind: head, workers, sink
    finally:
        if up.process is not None and up.process.poll() is None:
            up.stop()  # (the test failed) SIGINT, then its whole tree is killed if it does not stop

"""local.logger and local.sink never import ray, and importing them starts nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CHECK = """
import sys, threading
import local.logger, local.logger.delivery, local.logger.logger
import local.sink, local.sink.app, local.sink.query, local.sink.server, local.sink.__main__
import local.cli.sink, local.cli.events
assert "ray" not in sys.modules, sorted(m for m in sys.modules if m.startswith("ray"))
assert threading.active_count() == 1, threading.enumerate()
print("ok")
"""


def test_no_ray_and_no_import_time_side_effects() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

"""``isvc pods -f FILE``: any service's components as the processes their containers run, with a pasteable request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local.processes import free_port

pytestmark = pytest.mark.process
REPO = Path(__file__).resolve().parents[3]


def test_pods_serves_a_model_format_service_and_prints_a_request_that_works() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.cli.main", "pods", "-f", "manifests/wine.yaml", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("curl"):
                break
        curl = lines[-1].strip()
        assert f"127.0.0.1:{port}/v2/models/wine/infer" in curl, "".join(lines)
        body = json.loads(curl.split(" -d '", 1)[1].rstrip("'"))
        assert [tensor["shape"] for tensor in body["inputs"]] == [[1, 13]]  # from the model's own metadata
        answer = httpx.post(f"http://127.0.0.1:{port}/v2/models/wine/infer", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        (output, *_) = answer.json()["outputs"]
        assert output["datatype"] == "BYTES" and output["data"][0].startswith("class_")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)

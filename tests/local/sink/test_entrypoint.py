"""``python -m local.sink`` (the container's command) serves on loopback and stores what it receives."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from local.sink.store import EventStore

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_entrypoint_serves_and_stores(tmp_path: Path, binary_headers: Any) -> None:
    port = free_port()
    db = tmp_path / "sub" / "events.db"
    env = {**os.environ, "ISVC_BIND_HOST": "", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.sink", "--db", f"sqlite:///{db}", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "sink did not come up"
            time.sleep(0.05)
        response = httpx.post(f"http://127.0.0.1:{port}/", headers=binary_headers("via-main"), content=b'{"x": 1}')
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    store = EventStore(f"sqlite:///{db}", create=False)
    assert store.count() == 1
    store.dispose()

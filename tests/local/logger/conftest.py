"""A real event sink (uvicorn in a thread) on a loopback port that can be stopped and restarted."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from local.sink.app import create_app
from local.sink.store import EventStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedSink:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(create_app(self.store), host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "sink did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = None


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[ThreadedSink]:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    server = ThreadedSink(store)
    server.start()
    yield server
    if server._server is not None:
        server.stop()
    store.dispose()

"""A loopback HTTP file server on a free port, for ``http://`` storageUris in tests (no network)."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` at ``http://127.0.0.1:PORT``; yields the base URL and the list of paths requested."""
    hits: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            super().do_GET()

        def guess_type(self, path: str | Path) -> str:
            # What an object store answers for a model file; KServe's storage insists on it.
            return (
                "application/octet-stream"
                if str(path).endswith((".joblib", ".bst", ".json"))
                else super().guess_type(path)
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

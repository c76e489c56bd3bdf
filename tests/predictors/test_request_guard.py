"""predictors/request_guard.py: 413 past the body limit, counted as the body arrives (in-process ASGI)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from predictors.request_guard import BodyLimit

LIMIT = 100


class _App:
    """Reads the whole body (as FastAPI does), then answers 200 with its length; or 500 on a read error."""

    def __init__(self) -> None:
        self.called = False
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        try:
            while True:
                message = await receive()
                self.received += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except Exception:
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"read failed"})
            raise
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.received).encode()})


def _run(chunks: list[bytes], content_length: int | None = None) -> tuple[_App, int, Any]:
    app = _App()
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/v2/models/m/infer", "headers": headers}
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(BodyLimit(app, max_body_bytes=LIMIT)(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent  # exactly one response, whatever the app tried
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return app, starts[0]["status"], json.loads(body) if starts[0]["status"] == 413 else body


def test_a_declared_length_over_the_limit_never_reaches_the_app() -> None:
    app, status, body = _run([b"x" * 10], content_length=LIMIT + 1)
    assert status == 413 and not app.called
    assert "101 bytes (Content-Length)" in body["error"] and "ISVC_MAX_BODY_BYTES" in body["error"]


def test_a_streamed_body_is_cut_at_the_chunk_that_crosses_the_limit() -> None:
    app, status, body = _run([b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60])
    assert status == 413 and "larger than the limit of 100 bytes" in body["error"]
    assert app.received == 60  # the crossing chunk and those after it never reached the app


def test_a_body_within_the_limit_passes_untouched() -> None:
    app, status, body = _run([b"x" * 60, b"x" * 40], content_length=LIMIT)
    assert status == 200 and body == b"100" and app.received == 100


def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def drop(message: Message) -> None:
        pass

    asyncio.run(BodyLimit(app, max_body_bytes=1)({"type": "lifespan"}, nothing, drop))
    assert seen == ["lifespan"]

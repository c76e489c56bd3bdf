"""An ASGI middleware that bounds a request body: 413 with a V2 ``{"error": ...}`` past the limit.

uvicorn reads any body it is sent and FastAPI buffers it whole before a route runs. ``BodyLimit``
sits in front of the app: a ``Content-Length`` over the limit is answered at once, without calling
the app; otherwise the bytes are counted as the app receives them, and the message that crosses the
limit ends the request with 413 instead of reaching the app. Nothing is buffered here.

The answer does not close the connection: uvicorn discards the rest of the body of a request whose
response is complete and keeps the connection alive (``uvicorn/protocols/http/*_impl.py: on_body``),
so a client still sending its body reads the 413 rather than a reset.

``JSONInferBody`` reads a V2 infer body without the binary extension's header as JSON whatever its
Content-Type says: KServe takes a body as bytes unless the type is JSON, and tritonclient's HTTP client
sends JSON tensors with no Content-Type at all.

Used by the pods (``predictors.serving``) and the local gateway alike; never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LIMIT_ENV = "ISVC_MAX_BODY_BYTES"


class JSONInferBody:
    """A POST to ``.../infer`` without ``Inference-Header-Content-Length`` is JSON, whatever it says."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/infer"):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            if not any(k == b"inference-header-content-length" for k, _ in scope["headers"]):
                scope = dict(scope, headers=[*headers, (b"content-type", b"application/json")])
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once the body has passed the limit."""


class BodyLimit:
    """Answer 413 to an HTTP request whose body is longer than ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(send, f"{declared} bytes (Content-Length)")
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app answers to the aborted read, the client gets the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(send, f"more than {self.max_body_bytes} bytes")

    async def _too_large(self, send: Send, size: str) -> None:
        body = orjson.dumps(
            {"error": f"request body of {size} is larger than the limit of {self.max_body_bytes} bytes ({LIMIT_ENV})"}
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server rejects a malformed Content-Length itself
    return None

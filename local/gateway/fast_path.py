"""The gateway's request fast path: V1/V2 REST inference forwarded as raw bytes to the entry unit.

``FastInferencePath`` is a pure ASGI middleware in front of the FastAPI app. For
``POST /v2/models/{m}/infer`` and ``POST /v1/models/{m}:predict`` of a model the controller serves
(an ``IsvcModel``), it reads the body, lets the model pick revisions by the traffic split and sends
the bytes and headers through one Ray Serve handle call; the replica decodes once with KServe's data
plane and answers status, bytes and headers (``local.rest_inference``). The gateway thus never parses
a tensor: measured here, this saves the pydantic parse and the pickling of decoded requests.
Everything else (metadata, versioned paths, the API, unknown models) goes to the FastAPI app, which
answers as before, with the request's headers in ``local.gateway.namespaces.REQUEST_HEADERS`` (a model
name several namespaces serve is resolved by its Host there). Errors are V2 ``{"error": ...}`` with
KServe's status codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from local.errors import status_code_of, too_large_for_ray
from local.gateway.namespaces import REQUEST_HEADERS

FAST_PATH = re.compile(r"^/v2/models/([^/]+)/infer$|^/v1/models/([^/:]+):predict$")


class FastInferencePath:
    """Serve REST inference of the controller's models without decoding it in the gateway."""

    def __init__(self, app: ASGIApp, model_for: Callable[[str], Any]):
        self.app = app
        self.model_for = model_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = FAST_PATH.match(scope["path"]) if scope["method"] == "POST" else None
        model = self.model_for(match.group(1) or match.group(2)) if match else None
        if model is None or not hasattr(model, "infer_rest"):
            REQUEST_HEADERS.set(scope["headers"])  # raw: read only if a model name is ambiguous
            await self.app(scope, receive, send)
            return
        assert match is not None
        body = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        protocol = "v2" if match.group(1) else "v1"
        try:
            status, content, response_headers = await model.infer_rest(protocol, body, headers)
        except Exception as raised:
            exc = too_large_for_ray(raised)
            status, content = status_code_of(exc), orjson.dumps({"error": str(exc)})
            response_headers = {"content-type": "application/json"}
        raw_headers = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response_headers.items()]
        raw_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": content})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)

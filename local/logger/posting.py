"""HTTP posting of one CloudEvent: aiohttp by default, an httpx transport when one is injected.

Posting is the cost of logging: KServe's agent sends one POST per event, four per logged inference
through a transformer and a predictor. aiohttp's client spends ~0.1 ms of CPU a POST on these machines,
httpx's ~0.9 ms, so the delivery uses aiohttp; tests inject an ``httpx.MockTransport`` to script answers.

``post`` returns the status code; a connection error or a timeout raises :class:`PostError`.
Must not import ``ray`` or a web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp
import httpx


class PostError(Exception):
    """The event did not reach the sink (connection refused or reset, timeout): worth a retry."""


class Poster(Protocol):
    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int: ...

    async def close(self) -> None: ...


class AiohttpPoster:
    """One keep-alive ``aiohttp.ClientSession`` per delivery."""

    def __init__(self, timeout_s: float):
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        try:
            async with self._session.post(url, data=body, headers=dict(headers)) as response:
                await response.read()
                return response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise PostError(repr(exc)) from exc

    async def close(self) -> None:
        await self._session.close()


class HttpxPoster:
    """``httpx.AsyncClient`` over a given transport (tests script the sink's answers with it)."""

    def __init__(self, timeout_s: float, transport: httpx.AsyncBaseTransport):
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        try:
            response = await self._client.post(url, headers=dict(headers), content=body)
        except httpx.TransportError as exc:
            raise PostError(repr(exc)) from exc
        return response.status_code

    async def close(self) -> None:
        await self._client.aclose()


def make_poster(timeout_s: float, transport: httpx.AsyncBaseTransport | None = None) -> Poster:
    return HttpxPoster(timeout_s, transport) if transport is not None else AiohttpPoster(timeout_s)

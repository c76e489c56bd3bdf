"""Calls into a revision's replicas through a Ray Serve handle, with the component's own errors.

Ray wraps an exception raised in a replica (``RayTaskError``); the gateway needs the original
(``kserve.errors.InvalidInput`` -> 400, ...) with its own message, so it is unwrapped here. Ray's own
failures (a dead replica, a deleted unit, a full queue) become the kit's 503s, and every call is
bounded by the revision's ``timeout`` (504 past it): ``local.ray_layer.failures``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from local.limits import DEFAULT_TIMEOUT_S
from local.ray_layer.failures import bounded, kit_error

T = TypeVar("T")


class RevisionClient:
    """Async calls to one unit's ``UnitReplica`` deployment (``name``: the unit, for messages)."""

    def __init__(self, handle: Any, name: str = "", timeout_s: float = DEFAULT_TIMEOUT_S):
        self._handle = handle
        self.name = name or "the revision"
        self.timeout_s = timeout_s

    async def _call(self, response: Awaitable[T]) -> T:
        try:
            return await bounded(response, self.timeout_s, self.name)
        except Exception as exc:
            error = kit_error(exc, self.name)
            if error is exc:
                raise
            raise error from None

    async def infer(self, payload: Any, headers: dict[str, str] | None, downstream: str | None) -> tuple[Any, dict]:
        response, response_headers, _timings = await self._call(self._handle.infer.remote(payload, headers, downstream))
        return response, response_headers

    async def infer_rest(
        self, protocol: str, model_name: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Raw REST bytes in, (status, body, headers) out: the replica decodes and encodes."""
        result: tuple[int, bytes, dict[str, str]] = await self._call(
            self._handle.infer_rest.remote(protocol, model_name, body, headers, downstream)
        )
        return result

    async def reload_status(self) -> tuple[int, str | None]:
        """The code version the replica runs and the error of its last reload (None: it took)."""
        result: tuple[int, str | None] = await self._handle.reload_status.remote()
        return result

    async def close(self) -> None:
        """Stop the handle's router while its event loop still runs."""
        await self._handle.shutdown_async()

    async def metadata(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(self._handle.metadata.remote())
        return result

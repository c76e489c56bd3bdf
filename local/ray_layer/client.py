"""Calls into a revision's replicas through a Ray Serve handle, with the component's own errors.

Ray wraps an exception raised in a replica (``RayTaskError``); the gateway needs the original
(``kserve.errors.InvalidInput`` -> 400, ...) with its own message, so it is unwrapped here.
"""

from __future__ import annotations

from typing import Any

from ray.exceptions import RayTaskError


class RevisionClient:
    """Async calls to one revision's ``ComponentReplica`` deployment."""

    def __init__(self, handle: Any):
        self._handle = handle

    async def infer(self, payload: Any, headers: dict[str, str] | None, downstream: str | None) -> tuple[Any, dict]:
        try:
            response, response_headers, _timings = await self._handle.infer.remote(payload, headers, downstream)
        except RayTaskError as exc:
            raise _unwrap(exc) from None
        return response, response_headers

    async def infer_rest(
        self, protocol: str, model_name: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Raw REST bytes in, (status, body, headers) out: the replica decodes and encodes."""
        try:
            result: tuple[int, bytes, dict[str, str]] = await self._handle.infer_rest.remote(
                protocol, model_name, body, headers, downstream
            )
        except RayTaskError as exc:
            raise _unwrap(exc) from None
        return result

    async def reload_status(self) -> tuple[int, str | None]:
        """The code version the replica runs and the error of its last reload (None: it took)."""
        result: tuple[int, str | None] = await self._handle.reload_status.remote()
        return result

    async def close(self) -> None:
        """Stop the handle's router while its event loop still runs."""
        await self._handle.shutdown_async()

    async def metadata(self) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await self._handle.metadata.remote()
        except RayTaskError as exc:
            raise _unwrap(exc) from None
        return result


def _unwrap(exc: RayTaskError) -> BaseException:
    cause = exc.cause
    while isinstance(cause, RayTaskError):  # a transformer's error about its predictor call
        cause = cause.cause
    return cause if isinstance(cause, BaseException) else exc

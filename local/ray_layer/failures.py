"""Ray's failures of a revision call as the kit's errors: one line a client can read, the right status.

A call into a revision through a Ray Serve handle fails in Ray's own terms: ``RayTaskError`` wrapping
what the replica raised (its ``str`` is a traceback), ``ActorDiedError`` / ``ActorUnavailableError``
when the replica process died or cannot be reached, ``DeploymentUnavailableError`` when the unit is
gone, ``BackPressureError`` when the caller's queue for it is full (``max_queued_requests``).
``kit_error`` turns each into what Knative answers in the same situation (``local.errors``):
503 ``RevisionUnavailableError``, 503 ``QueueFullError`` ("pending request queue full"), and hands back
the replica's own error unwrapped. ``bounded`` awaits a call under the revision's ``timeout`` and
answers 504 ``RevisionTimeoutError`` ("request timeout") when it runs out.

Used on both sides of a hop: by the gateway (``local.ray_layer.client``) and by a transformer replica
calling its predictor's unit (``local.ray_layer.replica``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError, ReplicaUnavailableError

from local.errors import QueueFullError, RevisionTimeoutError, RevisionUnavailableError

T = TypeVar("T")


def unwrap(exc: RayTaskError) -> BaseException:
    """What the replica raised, through any chain of ``RayTaskError`` (a transformer's predictor call)."""
    cause: Any = exc.cause
    while isinstance(cause, RayTaskError):
        cause = cause.cause
    return cause if isinstance(cause, BaseException) else exc


def kit_error(exc: BaseException, revision: str) -> BaseException:
    """The error a client should see for ``exc`` raised by a call to ``revision`` (a unit's name)."""
    if isinstance(exc, RayTaskError):
        cause = unwrap(exc)
        return exc if cause is exc else kit_error(cause, revision)
    if isinstance(exc, BackPressureError):
        return QueueFullError(
            f"pending request queue full: {revision} has {exc.args[0]} requests waiting, "
            f"its bound (max_queued_requests) is {exc.args[1]}"
        )
    reason = _unavailable_reason(exc)
    if reason is not None:
        return RevisionUnavailableError(f"{revision} is unavailable: {reason}")
    return exc


def _unavailable_reason(exc: BaseException) -> str | None:
    if isinstance(exc, RayActorError | WorkerCrashedError | ReplicaUnavailableError):
        # The replica died (Serve starts another) or cannot be reached right now.
        return f"its replica died or cannot be reached ({type(exc).__name__}); Serve replaces a dead replica"
    if isinstance(exc, DeploymentUnavailableError):
        return "it is not deployed (deleted, or it failed to deploy)"
    return None


async def bounded(response: Awaitable[T], timeout_s: float, revision: str) -> T:
    """Await a handle call within ``timeout_s``; past it, cancel the call and raise ``RevisionTimeoutError``.

    For the caller's own event loop (the gateway's), which no user code blocks: ``asyncio.timeout``
    cancels this task at the deadline, while it waits for the assignment or the answer.
    """
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            return await response
    except TimeoutError:
        if not deadline.expired():
            raise  # a TimeoutError of the replica's own, not the revision's deadline
        cancel = getattr(response, "cancel", None)
        if cancel is not None:
            cancel()  # the request leaves the queue, or the replica is told to stop
        raise RevisionTimeoutError(revision, timeout_s) from None


async def within(call: Coroutine[Any, Any, T], timeout_s: float, revision: str) -> T:
    """Run ``call`` as its own task for at most ``timeout_s`` (inside a replica, where a model may block
    the loop: the deadline then cancels that task, never the caller's); ``RevisionTimeoutError`` past it."""
    task = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise RevisionTimeoutError(revision, timeout_s)
    return task.result()

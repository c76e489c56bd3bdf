"""The kit's error hierarchy, each error carrying its V2 HTTP status code (and so its gRPC code).

Everything the local runtime raises for a client derives from ``IsvcError``; the gateway maps the
whole tree to V2 ``{"error": ...}`` responses in one handler, the CLI maps it to exit code 1.
KServe's own errors (``kserve.errors.InvalidInput`` ...) keep KServe's mapping (400/404/503/501/500).
"""

from __future__ import annotations

from typing import Any


class IsvcError(Exception):
    """Base error; ``status_code`` is the V2 HTTP status the gateway answers with."""

    status_code = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SpecError(IsvcError):
    """An InferenceService that cannot be parsed or served; the message names the field path."""

    status_code = 400


class NotFoundError(IsvcError):
    """An InferenceService, model or revision that does not exist."""

    status_code = 404


class ConflictError(IsvcError):
    """An apply that would clash with what is already served (e.g. the same model name twice)."""

    status_code = 409


class NotReadyError(IsvcError):
    """Known but not ready to serve (no ready revision yet)."""

    status_code = 503


class RuntimeNotRunningError(IsvcError):
    """The local runtime (`isvc up`) is not reachable."""

    status_code = 503


class RevisionUnavailableError(IsvcError):
    """A revision's replicas cannot be reached: one died (Serve is replacing it) or its unit is gone.

    503, as Knative answers for a revision with no pod to take the request.
    """

    status_code = 503


class QueueFullError(IsvcError):
    """A revision's request queue is at its bound (``local.limits``): Knative's queue-proxy and
    activator answer 503 ``pending request queue full`` (``pkg/queue/breaker.go: ErrRequestQueueFull``)."""

    status_code = 503


class RevisionTimeoutError(IsvcError):
    """A request outlived its revision's ``timeout``: Knative's timeout handler answers 504 (``pkg/http/handler/
    timeout.go``) with queue-proxy's text ``request timeout`` (``pkg/queue/sharedmain/handlers.go``; the
    activator's would be ``activator request timeout``)."""

    status_code = 504

    def __init__(self, revision: str, timeout_s: float):
        super().__init__(f"request timeout: {revision} did not answer within its timeout of {timeout_s:g}s")
        self.revision = revision
        self.timeout_s = timeout_s

    def __reduce__(self) -> tuple[Any, ...]:  # crosses Ray's process boundary intact
        return (type(self), (self.revision, self.timeout_s))


class PayloadTooLargeError(IsvcError):
    """A request larger than a limit on its way: ``ISVC_MAX_BODY_BYTES``, or the Ray hop's message size."""

    status_code = 413


RAY_MESSAGE_LIMIT_ENV = "RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH"


def too_large_for_ray(exc: BaseException) -> BaseException:
    """A handle call Ray's inter-replica gRPC refused as too large, as a 413 that says so; else ``exc``.

    Under ``RAY_SERVE_THROUGHPUT_OPTIMIZED`` a handle call is one gRPC message, at most
    ``RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH`` bytes (4 MiB by default: ``ray/serve/_private/constants.py``);
    past it the caller gets ``grpc.aio.AioRpcError`` RESOURCE_EXHAUSTED, which would be a 500.
    """
    code = getattr(exc, "code", None)
    if not callable(code) or getattr(code(), "name", None) != "RESOURCE_EXHAUSTED":
        return exc
    details = getattr(exc, "details", None)
    reason = details() if callable(details) else str(exc)
    return PayloadTooLargeError(
        f"request too large for the local runtime's replica calls ({reason}); raise {RAY_MESSAGE_LIMIT_ENV}"
    )


def status_code_of(exc: BaseException) -> int:
    """The V2 status code of any error reaching the gateway: the kit's own, or KServe's (as its handlers map them)."""
    from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady

    if isinstance(exc, IsvcError):
        return exc.status_code
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, ModelNotFound):
        return 404
    if isinstance(exc, ModelNotReady):
        return 503
    if isinstance(exc, NotImplementedError):
        return 501
    return 500


# The gRPC code of each V2 HTTP status, as KServe's ExceptionToStatusInterceptor pairs them
# (kserve/protocol/grpc/interceptors.py: InvalidInput -> INVALID_ARGUMENT, ModelNotFound -> NOT_FOUND,
# ModelNotReady -> UNAVAILABLE, NotImplementedError -> UNIMPLEMENTED), and gRPC's HTTP mapping for the rest.
_GRPC_CODE_OF_STATUS = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_code_name_of(exc: BaseException) -> str:
    """The gRPC status code name for any error reaching the gateway (``INTERNAL`` for the unknown)."""
    return _GRPC_CODE_OF_STATUS.get(status_code_of(exc), "INTERNAL")

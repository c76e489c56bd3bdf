"""local/errors.py: one mapping from every error to its V2 HTTP status and its gRPC code."""

from __future__ import annotations

import pytest
from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady

from local.errors import (
    ConflictError,
    NotFoundError,
    NotReadyError,
    QueueFullError,
    RevisionTimeoutError,
    RevisionUnavailableError,
    SpecError,
    grpc_code_name_of,
    status_code_of,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (SpecError("spec.predictor: x"), 400, "INVALID_ARGUMENT"),
        (NotFoundError("no revision"), 404, "NOT_FOUND"),
        (ConflictError("taken"), 409, "ALREADY_EXISTS"),
        (NotReadyError("starting"), 503, "UNAVAILABLE"),
        (RevisionUnavailableError("replica died"), 503, "UNAVAILABLE"),
        (QueueFullError("pending request queue full"), 503, "UNAVAILABLE"),
        (RevisionTimeoutError("iris-predictor-00001", 2), 504, "DEADLINE_EXCEEDED"),
        (InvalidInput("bad"), 400, "INVALID_ARGUMENT"),
        (ModelNotFound("m"), 404, "NOT_FOUND"),
        (ModelNotReady("m"), 503, "UNAVAILABLE"),
        (NotImplementedError("v"), 501, "UNIMPLEMENTED"),
        (RuntimeError("boom"), 500, "INTERNAL"),
    ],
)
def test_status_and_grpc_code(error: BaseException, status: int, code: str) -> None:
    assert status_code_of(error) == status
    assert grpc_code_name_of(error) == code


def test_the_timeout_error_reads_as_knatives_and_survives_pickling() -> None:
    """It crosses Ray's process boundary (a predictor's timeout, raised in its replica)."""
    import pickle

    error = pickle.loads(pickle.dumps(RevisionTimeoutError("iris-predictor-00001", 2.5)))
    assert str(error) == "request timeout: iris-predictor-00001 did not answer within its timeout of 2.5s"
    assert (error.revision, error.timeout_s, status_code_of(error)) == ("iris-predictor-00001", 2.5, 504)


def test_a_message_too_large_for_the_ray_hop_is_413_saying_what_to_raise() -> None:
    """Ray's inter-replica gRPC refuses a message over its limit with RESOURCE_EXHAUSTED: a 413, not a 500."""
    import grpc
    from grpc.aio import AioRpcError, Metadata

    from local.errors import PayloadTooLargeError, too_large_for_ray

    refused = AioRpcError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        Metadata(),
        Metadata(),
        details="SERVER: Received message larger than max (5242880 vs. 4194304)",
    )
    error = too_large_for_ray(refused)
    assert isinstance(error, PayloadTooLargeError) and status_code_of(error) == 413
    assert grpc_code_name_of(error) == "RESOURCE_EXHAUSTED"
    assert "5242880 vs. 4194304" in str(error) and "RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH" in str(error)
    other = AioRpcError(grpc.StatusCode.UNAVAILABLE, Metadata(), Metadata(), details="gone")
    assert too_large_for_ray(other) is other
    assert isinstance(too_large_for_ray(ValueError("x")), ValueError)

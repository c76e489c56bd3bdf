"""How large a request may be: one typed place for the pods and the local runtime.

``RequestLimits`` reads the environment (``ISVC_MAX_BODY_BYTES``, ``ISVC_MAX_TENSOR_ELEMENTS``) when
``load_limits()`` is called, once, while an app or server is built; never at import.

* ``max_body_bytes`` bounds a REST body (413 with a V2 ``{"error": ...}`` past it, counted as the bytes
  arrive: ``predictors.request_guard``) and a gRPC message (gRPC's own ``max_receive_message_length``,
  so RESOURCE_EXHAUSTED past it). KServe sets no REST limit and 8 MiB for gRPC
  (``kserve/constants/constants.py: MAX_GRPC_MESSAGE_LENGTH``).
* ``max_tensor_elements`` bounds the element count a tensor's shape declares (400, checked on the
  shape before any data is read: ``predictors.v2_checks``). Neither KServe nor the V2 protocol defines one.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ISVC_"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024


class RequestLimits(BaseSettings):
    """Request size limits, from ``ISVC_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    """Largest REST body and gRPC message accepted, in bytes (``ISVC_MAX_BODY_BYTES``; 32 MiB)."""

    max_tensor_elements: int = Field(default=DEFAULT_MAX_TENSOR_ELEMENTS, gt=0)
    """Most elements one input tensor's shape may declare (``ISVC_MAX_TENSOR_ELEMENTS``; 16 Mi)."""


class LimitsError(ValueError):
    """An ``ISVC_*`` limit in the environment that is not a positive integer; names the variable."""


def load_limits() -> RequestLimits:
    """The limits the environment sets now (defaults for what it leaves out)."""
    try:
        return RequestLimits()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        raise LimitsError(f"invalid request limits: {problems}") from exc

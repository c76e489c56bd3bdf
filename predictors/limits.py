"""How large a request may be: one typed place for the pods and the local runtime.

``load_limits()`` takes ``ISVC_MAX_BODY_BYTES`` and ``ISVC_MAX_TENSOR_ELEMENTS`` from the pod's settings
(``predictors.settings``), once, while an app or server is built; never at import.

* ``max_body_bytes`` bounds a REST body (413 with a V2 ``{"error": ...}`` past it, counted as the bytes
  arrive: ``predictors.request_guard``) and a gRPC message (gRPC's own ``max_receive_message_length``,
  so RESOURCE_EXHAUSTED past it). KServe sets no REST limit and 8 MiB for gRPC
  (``kserve/constants/constants.py: MAX_GRPC_MESSAGE_LENGTH``).
* ``max_tensor_elements`` bounds the element count a tensor's shape declares (400, checked on the
  shape before any data is read: ``predictors.v2_checks``). Neither KServe nor the V2 protocol defines one.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from predictors.settings import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_TENSOR_ELEMENTS,
    RequestLimits,
    SettingsError,
    load_settings,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_TENSOR_ELEMENTS", "LimitsError", "RequestLimits", "load_limits"]

LimitsError = SettingsError
"""An ``ISVC_*`` limit in the environment that is not a positive integer; names the variable."""


def load_limits() -> RequestLimits:
    """The limits the environment sets now (defaults for what it leaves out)."""
    return RequestLimits(**load_settings().model_dump(include=set(RequestLimits.model_fields)))

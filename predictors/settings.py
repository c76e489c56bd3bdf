"""The environment variables a pod's server reads, in one typed place (pydantic-settings).

``load_settings()`` reads them when called (while a server or a model is built), never at import:

* ``ISVC_MAX_BODY_BYTES``, ``ISVC_MAX_TENSOR_ELEMENTS``: request limits (``predictors.limits``);
* ``ISVC_BIND_HOST``: the address the HTTP and gRPC servers listen on (``predictors.serving``; the
  images set ``0.0.0.0``, everywhere else 127.0.0.1);
* ``ISVC_PVC_DIR``, ``ISVC_STORAGE_CACHE_DIR``: where ``pvc://`` claims live locally and where
  downloads are cached (``predictors.storage``).

The kit's own settings are ``local.settings``; these are apart because predictors and transformers
never import ``local``. An empty variable counts as unset; an invalid one is a ``SettingsError`` naming it.
Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "ISVC_"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_TENSOR_ELEMENTS = 16 * 1024 * 1024
DEFAULT_BIND_HOST = "127.0.0.1"
DEFAULT_PVC_DIR = Path(".isvc/pvc")
DEFAULT_CACHE_DIR = Path(".isvc/storage")


class RequestLimits(BaseModel):
    """Request size limits (``predictors.limits`` says what bounds what): the pod's settings, or given."""

    model_config = ConfigDict(frozen=True)

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    """Largest REST body and gRPC message accepted, in bytes (``ISVC_MAX_BODY_BYTES``; 32 MiB)."""
    max_tensor_elements: int = Field(default=DEFAULT_MAX_TENSOR_ELEMENTS, gt=0)
    """Most elements one input tensor's shape may declare (``ISVC_MAX_TENSOR_ELEMENTS``; 16 Mi)."""


class PodSettings(BaseSettings, RequestLimits):
    """Each field is ``ISVC_`` + its name upper-cased; the docstrings are the reference."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="ignore")

    bind_host: str = DEFAULT_BIND_HOST
    """Address the servers listen on (``ISVC_BIND_HOST``)."""
    pvc_dir: Path = DEFAULT_PVC_DIR
    """Local root of ``pvc://`` claims (``ISVC_PVC_DIR``; a pod mounts claim NAME at ``/mnt/models`` with
    the URI's path as ``subPath``)."""
    storage_cache_dir: Path = DEFAULT_CACHE_DIR
    """Where remote ``storageUri`` downloads are kept, one directory per URI (``ISVC_STORAGE_CACHE_DIR``)."""


class SettingsError(ValueError):
    """An ``ISVC_*`` variable of the wrong type or range; the message names the variable."""


def load_settings() -> PodSettings:
    """The settings the environment gives now (defaults for what it leaves out)."""
    try:
        return PodSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(map(str, error['loc'])).upper()}: {error['msg']}" for error in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc

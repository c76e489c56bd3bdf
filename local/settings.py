"""The environment variables the kit reads, in one typed place.

``settings()`` reads the environment when called (never at import) into ``Settings``; the CLI, the
runtime, the revision store, the schema check, the cluster client and the console take their defaults
from it instead of reading ``os.environ`` themselves. An empty variable counts as unset. Variables the
kit only *sets* for Ray (``RAY_AUTH_MODE``, ``RAY_SERVE_*``, ``local.ray_layer``) are Ray's and stay there,
as does ``ISVC_PRELOAD_MODULES``, which ``isvc up`` hands to its Ray workers (``local.ray_layer.preload``).

Two other places read settings, each for a process that cannot import this module: a pod's server
(``predictors.settings``: request limits, bind address, ``pvc://`` root, download cache; predictors never
import ``local``) and the event sink (``local.sink.settings``: its image carries no pydantic).

Pure: pydantic-settings only.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Each field names its variable; the docstrings are the reference."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    server: str = Field(default="http://127.0.0.1:8080", validation_alias="ISVC_SERVER")
    """URL of the running ``isvc up`` that the CLI talks to."""
    state_dir: Path = Field(default=Path(".isvc"), validation_alias="ISVC_STATE_DIR")
    """Where ``isvc up`` keeps its revision store (``state.db``) and the Ray token."""
    ray_address: str | None = Field(default=None, validation_alias="RAY_ADDRESS")
    """An existing Ray cluster (GCS ``host:port``) to run on instead of starting a local head."""
    crd: Path | None = Field(default=None, validation_alias="ISVC_CRD")
    """The InferenceService CRD file ``isvc validate`` checks against (default: the bundled copy)."""
    cache_home: Path | None = Field(default=None, validation_alias="XDG_CACHE_HOME")
    """Base of the CRD cache (``$XDG_CACHE_HOME/isvc-kit``; default ``~/.cache``)."""
    kubeconfig: str = Field(default="~/.kube/config", validation_alias="KUBECONFIG")
    """The kubeconfig of ``--cluster`` commands."""
    pod_namespace: str = Field(default="isvc-kit", validation_alias="POD_NAMESPACE")
    """The console's namespace (the Downward API sets it in its pod)."""
    bind_host: str = Field(default="127.0.0.1", validation_alias="ISVC_BIND_HOST")
    """Address the console binds."""
    port: int = Field(default=8080, validation_alias="PORT")
    """Port the console listens on."""
    kubernetes_service_host: str | None = Field(default=None, validation_alias="KUBERNETES_SERVICE_HOST")
    """Set by Kubernetes in every pod: the console then uses its ServiceAccount."""

    @property
    def in_cluster(self) -> bool:
        return self.kubernetes_service_host is not None


def settings() -> Settings:
    """The environment as of now."""
    return Settings()

"""A thin client for InferenceServices and their Knative revisions on a KServe cluster.

Uses the ``kubernetes`` package's ``CustomObjectsApi`` against the current kubeconfig context (or the one
named). Every API error becomes one of the kit's ``local.errors`` with a readable message: 404 ->
``NotFoundError``, 409 -> ``ConflictError``, 400/422 -> ``SpecError``, anything else (403, 5xx, no
connection) -> ``IsvcError``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from local.cluster.rollout import ISVC_LABEL, Predicate, RolloutStatus
from local.errors import ConflictError, IsvcError, NotFoundError, SpecError
from local.settings import settings

KSERVE_GROUP = "serving.kserve.io"
KSERVE_VERSION = "v1beta1"
ISVC_PLURAL = "inferenceservices"
KNATIVE_GROUP = "serving.knative.dev"
KNATIVE_VERSION = "v1"
REVISION_PLURAL = "revisions"
MERGE_PATCH = "application/merge-patch+json"


def load_api(context: str | None = None) -> Any:
    """A ``CustomObjectsApi`` on its own ``ApiClient`` for ``context`` (None: the current context)."""
    from kubernetes import client, config
    from kubernetes.config import ConfigException

    configuration = client.Configuration()
    path = settings().kubeconfig  # read now, not at kubernetes' import time
    try:
        config.load_kube_config(
            config_file=path, context=context, client_configuration=configuration, persist_config=False
        )
    except (ConfigException, OSError, TypeError) as exc:
        where = f"context {context!r}" if context else "the current context"
        raise IsvcError(
            f"no kubeconfig: cannot load {where} from {path} ({exc}); --cluster needs a kubeconfig "
            "(KUBECONFIG or ~/.kube/config) whose context points at a cluster with KServe"
        ) from None
    return client.CustomObjectsApi(client.ApiClient(configuration))


class ClusterClient:
    """InferenceServices and Knative revisions in one namespace.

    ``api`` replaces the ``CustomObjectsApi`` loaded from the kubeconfig (tests inject a fake);
    ``sleep``/``clock`` drive ``wait_for``.
    """

    def __init__(
        self,
        namespace: str,
        context: str | None = None,
        *,
        api: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.namespace = namespace
        self.context = context
        self.api = api if api is not None else load_api(context)
        self._sleep = sleep
        self._clock = clock

    # -------------------------------------------------------- InferenceServices

    def get_isvc(self, name: str) -> dict[str, Any]:
        return self._call(
            f"get InferenceService {name!r}",
            self.api.get_namespaced_custom_object,
            KSERVE_GROUP,
            KSERVE_VERSION,
            self.namespace,
            ISVC_PLURAL,
            name,
        )

    def status(self, name: str) -> RolloutStatus:
        return RolloutStatus.parse(self.get_isvc(name))

    def patch_isvc(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a JSON merge patch (RFC 7386: ``null`` removes a key) to the InferenceService."""
        return self._call(
            f"patch InferenceService {name!r}",
            self.api.patch_namespaced_custom_object,
            KSERVE_GROUP,
            KSERVE_VERSION,
            self.namespace,
            ISVC_PLURAL,
            name,
            dict(body),
            _content_type=MERGE_PATCH,
        )

    def apply_isvc(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create the InferenceService, or merge-patch its metadata labels/annotations and spec if it exists."""
        name = str((manifest.get("metadata") or {}).get("name", ""))
        body = {**manifest, "metadata": {**(manifest.get("metadata") or {}), "namespace": self.namespace}}
        try:
            return self._call(
                f"create InferenceService {name!r}",
                self.api.create_namespaced_custom_object,
                KSERVE_GROUP,
                KSERVE_VERSION,
                self.namespace,
                ISVC_PLURAL,
                body,
            )
        except ConflictError:
            metadata = body["metadata"]
            patch: dict[str, Any] = {"spec": body.get("spec") or {}}
            keep = {k: metadata[k] for k in ("labels", "annotations") if k in metadata}
            if keep:
                patch["metadata"] = keep
            return self.patch_isvc(name, patch)

    def delete_isvc(self, name: str) -> None:
        self._call(
            f"delete InferenceService {name!r}",
            self.api.delete_namespaced_custom_object,
            KSERVE_GROUP,
            KSERVE_VERSION,
            self.namespace,
            ISVC_PLURAL,
            name,
        )

    def list_isvcs_raw(self, **options: Any) -> dict[str, Any]:
        """The namespace's InferenceService list as the API returns it (``options``: e.g. ``limit``)."""
        result: dict[str, Any] = self._call(
            "list InferenceServices",
            self.api.list_namespaced_custom_object,
            KSERVE_GROUP,
            KSERVE_VERSION,
            self.namespace,
            ISVC_PLURAL,
            **options,
        )
        return result

    def has_kserve(self) -> bool:
        """Whether the cluster serves the InferenceService API (the CRD is installed)."""
        try:
            self.list_isvcs_raw(limit=1)
        except NotFoundError:
            return False
        return True

    # -------------------------------------------------------- Knative revisions

    def list_revisions(self, name: str) -> dict[str, Any]:
        """The ``RevisionList`` of every component revision of InferenceService ``name``."""
        return self._call(
            f"list the Knative revisions of {name!r}",
            self.api.list_namespaced_custom_object,
            KNATIVE_GROUP,
            KNATIVE_VERSION,
            self.namespace,
            REVISION_PLURAL,
            label_selector=f"{ISVC_LABEL}={name}",
        )

    # -------------------------------------------------------- waiting

    def wait_for(self, name: str, predicate: Predicate, timeout: float, interval: float = 2.0) -> RolloutStatus:
        """Poll the InferenceService until ``predicate(status)`` holds; IsvcError after ``timeout`` seconds."""
        deadline = self._clock() + timeout
        while True:
            status = self.status(name)
            if predicate(status):
                return status
            remaining = deadline - self._clock()
            if remaining <= 0:
                what = getattr(predicate, "__qualname__", "the condition").split(".<locals>")[0]
                raise IsvcError(
                    f"timed out after {timeout:g}s waiting for InferenceService {name!r} ({what}); last status: "
                    + _describe(status)
                )
            self._sleep(min(interval, remaining))

    # -------------------------------------------------------- errors

    def _call(self, action: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return method(*args, **kwargs)
        except ApiException as exc:
            raise self._error(action, exc) from None
        except OSError as exc:  # urllib3 connection errors derive from OSError
            raise IsvcError(f"cannot {action}: the cluster is unreachable ({exc})") from None
        except Exception as exc:
            if type(exc).__module__.startswith("urllib3"):
                raise IsvcError(f"cannot {action}: the cluster is unreachable ({exc})") from None
            raise

    def _error(self, action: str, exc: Any) -> IsvcError:
        message = _api_message(exc)
        where = f"namespace {self.namespace!r}" + (f", context {self.context!r}" if self.context else "")
        status = getattr(exc, "status", None)
        if status == 404:
            return NotFoundError(f"cannot {action} in {where}: not found ({message})")
        if status == 409:
            return ConflictError(f"cannot {action} in {where}: conflict ({message})")
        if status in (400, 422):
            return SpecError(f"cannot {action} in {where}: rejected ({message})")
        if status in (401, 403):
            return IsvcError(f"cannot {action} in {where}: forbidden ({message})")
        return IsvcError(f"cannot {action} in {where}: HTTP {status} ({message})")


def _api_message(exc: Any) -> str:
    """The ``message`` of the Kubernetes ``Status`` in the error body, else the HTTP reason."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.strip()[:300]
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
    return str(getattr(exc, "reason", None) or "no details")


def _describe(status: RolloutStatus) -> str:
    parts = []
    for c in status.components.values():
        split = ", ".join(f"{t.revision or 'latest'}={t.percent}%" for t in c.traffic) or "no traffic"
        parts.append(f"{c.component}: {c.phase} [{split}]" + (f" ({c.message})" if c.message else ""))
    if not status.up_to_date:
        parts.append(f"observedGeneration {status.observed_generation} < generation {status.generation}")
    return "; ".join(parts) or "no component status yet"

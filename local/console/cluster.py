"""The console's backend on a KServe cluster: the ``kubernetes`` client, one namespace, least privilege.

Reads InferenceServices (``list``, ``get``) and their Knative Revisions (``list``), and changes a
rollout exactly as ``isvc rollout --cluster`` does: a JSON merge patch of ``canaryTrafficPercent``
(``local.cluster.patches``; KServe's controller then moves the traffic, which the page shows as it
polls). Those three verbs on two resources are all its Role grants (``manifests/console.yaml``).
The "try it" form posts to the service's in-cluster address (``status.address.url``); events come
from the sink's ``GET /events`` (those of its namespace). Per-revision rates are Prometheus' job on a
cluster (the dashboard in ``manifests/monitoring/``), so ``metrics_text`` answers None.

It reads the one namespace its Role is granted in (``--namespace``): a service of another namespace is
404 saying so, and a bare name is that namespace's (``namespaces_of``), where names are unique.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from local.cluster.client import ClusterClient
from local.cluster.patches import canary_patch, promote_patch, require_component, rollback_patch
from local.console.backend import ConsoleError, InferResult, error_of, served_by, sink_events
from local.console.views import model_name_of, namespace_of, replicas_from_revisions
from local.errors import IsvcError, NotFoundError


class ConsoleClusterClient(ClusterClient):
    """``ClusterClient`` plus the list the console needs."""

    def list_isvcs(self) -> list[dict[str, Any]]:
        result = self.list_isvcs_raw()
        items: list[dict[str, Any]] = result.get("items") or []
        return sorted(items, key=lambda item: str(item.get("metadata", {}).get("name", "")))


def _base_url(resource: dict[str, Any]) -> str:
    status = resource.get("status") or {}
    url = (status.get("address") or {}).get("url") or status.get("url")
    if not url:
        raise ConsoleError(503, f"InferenceService {resource['metadata']['name']!r} has no address yet")
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}"


class ClusterBackend:
    mode = "cluster"

    def __init__(self, client: ClusterClient, sink_url: str):
        self.client = client
        self.sink_url = sink_url

    async def _call(self, function: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args)
        except IsvcError as exc:
            raise ConsoleError(exc.status_code, str(exc)) from None

    async def list_services(self) -> list[dict[str, Any]]:
        lister = getattr(self.client, "list_isvcs", None)
        if lister is None:
            raise ConsoleError(500, "this cluster client cannot list InferenceServices")
        result: list[dict[str, Any]] = await self._call(lister)
        return result

    def _in_reach(self, namespace: str, name: str) -> None:
        """404 for a namespace other than the client's: the Role grants no other, nothing is asked."""
        if namespace != self.client.namespace:
            raise ConsoleError(
                404,
                f"InferenceService {name!r} of namespace {namespace!r} is out of this console's reach: it reads "
                f"namespace {self.client.namespace!r} only (python -m local.console --namespace)",
            )

    async def namespaces_of(self, name: str) -> list[str]:
        try:
            await asyncio.to_thread(self.client.get_isvc, name)
        except NotFoundError:
            return []
        except IsvcError as exc:
            raise ConsoleError(exc.status_code, str(exc)) from None
        return [self.client.namespace]

    async def get_service(self, namespace: str, name: str) -> dict[str, Any]:
        self._in_reach(namespace, name)
        result: dict[str, Any] = await self._call(self.client.get_isvc, name)
        return result

    async def revisions(self, namespace: str, name: str) -> dict[str, Any]:
        self._in_reach(namespace, name)
        result: dict[str, Any] = await self._call(self.client.list_revisions, name)
        return result

    async def replicas(self, resource: dict[str, Any], revisions: dict[str, Any]) -> dict[str, int]:
        return replicas_from_revisions(revisions)  # the namespace's own Revisions: nothing to tell apart

    async def rollout(self, resource: dict[str, Any], action: str, component: str, percent: int | None) -> None:
        name = str(resource["metadata"]["name"])
        self._in_reach(namespace_of(resource), name)
        try:
            require_component(resource, component)
            if action == "canary":
                body = canary_patch(component, percent)
            elif action == "promote":
                body = promote_patch(component)
            else:
                body = rollback_patch(component)
        except IsvcError as exc:
            raise ConsoleError(exc.status_code, str(exc)) from None
        await self._call(self.client.patch_isvc, name, body)

    async def model_metadata(self, resource: dict[str, Any]) -> dict[str, Any]:
        url = f"{_base_url(resource)}/v2/models/{model_name_of(resource)}"
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            raise ConsoleError(503, f"{url} is unreachable ({exc.__class__.__name__})") from None
        if response.status_code != 200:
            raise error_of(response)
        result: dict[str, Any] = response.json()
        return result

    async def infer(self, resource: dict[str, Any], body: dict[str, Any]) -> InferResult:
        url = f"{_base_url(resource)}/v2/models/{model_name_of(resource)}/infer"
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=60.0) as client:
                response = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise ConsoleError(503, f"{url} is unreachable ({exc.__class__.__name__})") from None
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return InferResult(response.status_code, response.text, served_by(response.headers), elapsed_ms)

    async def metrics_text(self) -> str | None:
        return None

    async def events(self, namespace: str, name: str, limit: int) -> list[dict[str, Any]]:
        self._in_reach(namespace, name)
        return await sink_events(self.sink_url, namespace, name, limit)

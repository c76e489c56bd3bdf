"""Where the console reads and acts: the local gateway's own HTTP API, or a cluster (``local.console.cluster``).

``LocalBackend`` calls the gateway app it is mounted in, in process (``httpx.ASGITransport``, no socket):
the same routes ``isvc get``, ``isvc rollout`` and ``isvc infer`` use, so what the console shows and does
is what the CLI shows and does (``POST .../namespaces/{ns}/inferenceservices/{name}/rollout``,
``GET /v2/models/{m}``, ``POST /v2/models/{m}/infer`` with its inference logging, ``GET /metrics``). Events
come from the sink's ``GET /events`` (``local.sink.read_api``) at the URL the loggers post to.

A service is (namespace, name), as in Kubernetes: two ``iris`` of two namespaces are two services, and
every call here names the namespace (the API path, the revisions' namespace, the ``namespace`` label of
the ``isvc_replicas`` series, the events' ``namespace`` attribute, the ``x-isvc-namespace`` header of a
V2 call). ``namespaces_of(name)`` answers where a bare name lives, for the console's name-only URLs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote as _quote

import httpx

API = "/apis/serving.kserve.io/v1beta1/namespaces"
REVISIONS = "/apis/serving.knative.dev/v1/namespaces/{namespace}/revisions"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
REVISION_HEADER = "x-isvc-{component}-revision"


class ConsoleError(Exception):
    """An API answer other than success, with its status; the console shows the message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class InferResult:
    status: int
    body: str
    revisions: dict[str, str]  # component -> revision that served it (x-isvc-<component>-revision)
    elapsed_ms: float


class Backend(Protocol):
    mode: str

    async def list_services(self) -> list[dict[str, Any]]: ...
    async def namespaces_of(self, name: str) -> list[str]: ...
    async def get_service(self, namespace: str, name: str) -> dict[str, Any]: ...
    async def revisions(self, namespace: str, name: str) -> dict[str, Any]: ...
    async def replicas(self, resource: dict[str, Any], revisions: dict[str, Any]) -> dict[str, int]: ...
    async def rollout(self, resource: dict[str, Any], action: str, component: str, percent: int | None) -> None: ...
    async def model_metadata(self, resource: dict[str, Any]) -> dict[str, Any]: ...
    async def infer(self, resource: dict[str, Any], body: dict[str, Any]) -> InferResult: ...
    async def metrics_text(self) -> str | None: ...
    async def events(self, namespace: str, name: str, limit: int) -> list[dict[str, Any]]: ...


def quote(segment: str) -> str:
    """``segment`` as one path segment (a ``/`` in it cannot reach another route)."""
    return _quote(segment, safe="")


def error_of(response: httpx.Response) -> ConsoleError:
    """The ``{"error": ...}`` (or FastAPI ``detail``) of a failed answer."""
    try:
        body = response.json()
    except ValueError:
        return ConsoleError(response.status_code, response.text[:500] or response.reason_phrase)
    message = body.get("error") or body.get("detail") if isinstance(body, dict) else None
    return ConsoleError(response.status_code, str(message or body))


def served_by(headers: httpx.Headers) -> dict[str, str]:
    out = {}
    for component in ("transformer", "predictor", "explainer"):
        value = headers.get(REVISION_HEADER.format(component=component))
        if value:
            out[component] = value
    return out


SINK_MAX_LIMIT = 500  # the sink's own bound on ``limit`` (``local.sink.read_api.MAX_LIMIT``)


def _sink_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5.0)


def event_namespace(event: dict[str, Any]) -> str:
    """The namespace an event pair was logged in (its ``namespace`` attribute; ``default`` without one)."""
    return str(event.get("namespace") or "default")


async def sink_events(sink_url: str, namespace: str, name: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` request/response pairs of ``name`` in ``namespace`` from the sink at ``sink_url``.

    The sink's ``GET /events`` selects by name only, so the pairs of other namespaces' same-named
    services are dropped here by their ``namespace``; when they crowd the answer out, a larger page is
    asked for (up to the sink's bound), so a quiet service is not hidden by a busy namesake.
    """
    url = sink_url.rstrip("/") + "/events"
    asked = limit
    while True:
        try:
            async with _sink_client() as client:
                response = await client.get(url, params={"name": name, "limit": asked})
        except httpx.HTTPError as exc:
            raise ConsoleError(503, f"the event sink at {sink_url} is unreachable ({exc.__class__.__name__})") from None
        if response.status_code != 200:
            raise error_of(response)
        pairs: list[dict[str, Any]] = response.json()
        mine = [pair for pair in pairs if event_namespace(pair) == namespace]
        if len(mine) >= limit or len(pairs) < asked or asked >= SINK_MAX_LIMIT:
            return mine[:limit]
        asked = min(asked * 4, SINK_MAX_LIMIT)


class LocalBackend:
    """The gateway app this console is mounted in (``controller`` for the sink URL the loggers use)."""

    mode = "local"

    def __init__(self, app: Any, controller: Any):
        self.app = app
        self.controller = controller
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            transport = httpx.ASGITransport(app=self.app)
            self._client = httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=300.0)
        return self._client

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_of(response)
        return response.json()

    async def list_services(self) -> list[dict[str, Any]]:
        """Every namespace's services (``_all``), by namespace then name, as ``isvc get -A`` lists them."""
        items: list[dict[str, Any]] = (await self._json("GET", f"{API}/_all/inferenceservices"))["items"]
        return items

    async def namespaces_of(self, name: str) -> list[str]:
        from local.console.views import namespace_of

        listed = await self.list_services()
        return sorted({namespace_of(item) for item in listed if (item.get("metadata") or {}).get("name") == name})

    async def get_service(self, namespace: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("GET", f"{API}/{quote(namespace)}/inferenceservices/{quote(name)}")
        return result

    async def revisions(self, namespace: str, name: str) -> dict[str, Any]:
        path = REVISIONS.format(namespace=quote(namespace))
        result: dict[str, Any] = await self._json("GET", path, params={"labelSelector": f"{ISVC_LABEL}={name}"})
        return result

    async def replicas(self, resource: dict[str, Any], revisions: dict[str, Any]) -> dict[str, int]:
        from local.console.metrics import parse_scrape
        from local.console.views import replicas_from_scrape

        text = await self.metrics_text()
        return replicas_from_scrape(parse_scrape(text or "", 0.0), resource)

    async def rollout(self, resource: dict[str, Any], action: str, component: str, percent: int | None) -> None:
        from local.console.views import namespace_of

        name = quote(str(resource["metadata"]["name"]))
        path = f"{API}/{quote(namespace_of(resource))}/inferenceservices/{name}/rollout"
        await self._json("POST", path, json={"action": action, "component": component, "percent": percent})

    async def model_metadata(self, resource: dict[str, Any]) -> dict[str, Any]:
        from local.console.views import model_name_of

        result: dict[str, Any] = await self._json(
            "GET", f"/v2/models/{model_name_of(resource)}", headers=_namespace_header(resource)
        )
        return result

    async def infer(self, resource: dict[str, Any], body: dict[str, Any]) -> InferResult:
        from local.console.views import model_name_of

        started = time.perf_counter()
        response = await self.client.post(
            f"/v2/models/{model_name_of(resource)}/infer", json=body, headers=_namespace_header(resource)
        )
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return InferResult(response.status_code, response.text, served_by(response.headers), elapsed_ms)

    async def metrics_text(self) -> str | None:
        response = await self.client.get("/metrics")
        return response.text if response.status_code == 200 else None

    async def events(self, namespace: str, name: str, limit: int) -> list[dict[str, Any]]:
        return await sink_events(self.controller.local_sink_url, namespace, name, limit)


def _namespace_header(resource: dict[str, Any]) -> dict[str, str]:
    """The resource's namespace, for a model name that services of several namespaces share (V2 paths
    carry the model name only: ``local.gateway.namespaces``)."""
    namespace = (resource.get("metadata") or {}).get("namespace")
    return {"x-isvc-namespace": str(namespace)} if namespace else {}

"""The console's routes under ``/console`` and its static files, over a ``Backend`` (local or cluster).

``include_console(app, controller)`` is what the local gateway calls; ``console_app(backend)`` is the
cluster's stand-alone app (``python -m local.console``). A service is addressed as the Kubernetes API
addresses it, by namespace and name: ``/console/namespaces/{namespace}/services/{name}``; a name-only
``/console/services/{name}[/...]`` (the earlier URLs) redirects there when one namespace holds the name
and answers 409 naming the namespaces when several do. Pages are whole HTML documents; the ``*/status``,
``*/metrics`` and ``*/events`` fragments are what htmx polls. A form posted by htmx (``HX-Request``
header) gets its result fragment, and ``HX-Trigger: isvc-changed`` makes the status panel refresh at
once; the same form posted without JavaScript gets the whole page with the result in it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from local.console import render
from local.console.backend import Backend, ConsoleError, LocalBackend
from local.console.metrics import MetricsHistory, parse_scrape
from local.console.views import FormError, ServiceView, form_inputs, infer_request, namespace_of, service_view

STATIC = Path(__file__).parent / "static"
ACTIONS = ("canary", "promote", "rollback")
PARTS = {"GET": ("status", "metrics", "events"), "POST": ("rollout", "try")}  # of a service's page
EVENTS_SHOWN = 25


class AmbiguousName(ConsoleError):
    """A name-only URL whose name two namespaces or more hold (409): the page links each one."""

    def __init__(self, name: str, namespaces: list[str]):
        where = ", ".join(repr(namespace) for namespace in namespaces)
        super().__init__(
            409,
            f"InferenceService {name!r} exists in namespaces {where}: name one, "
            f"as {render.PREFIX}/namespaces/NAMESPACE/services/{name}",
        )
        self.name = name
        self.namespaces = namespaces


class Console:
    """The console's state: its backend and the metrics history sampled as the page polls.

    A service is (namespace, name) everywhere here: its resource, revisions, replicas, traffic figures
    and events are those of that namespace only.
    """

    def __init__(self, backend: Backend, history: MetricsHistory | None = None):
        self.backend = backend
        self.history = history or MetricsHistory()

    async def resolve(self, name: str) -> str:
        """The namespace of the one service called ``name``; 404 if none, 409 if several (as the gateway's
        ``Controller.lookup`` answers a name without a namespace)."""
        namespaces = await self.backend.namespaces_of(name)
        if not namespaces:
            raise ConsoleError(404, f"InferenceService {name!r} not found")
        if len(namespaces) > 1:
            raise AmbiguousName(name, namespaces)
        return namespaces[0]

    async def view_of(self, resource: dict[str, Any]) -> ServiceView:
        namespace, name = namespace_of(resource), str(resource["metadata"]["name"])
        revisions = await self.backend.revisions(namespace, name)
        replicas = await self.backend.replicas(resource, revisions)
        return service_view(resource, revisions, replicas)

    async def view(self, namespace: str, name: str) -> tuple[dict[str, Any], ServiceView]:
        resource = await self.backend.get_service(namespace, name)
        return resource, await self.view_of(resource)

    async def views(self) -> list[ServiceView]:
        """Every service, by namespace then name (``kubectl get -A``'s order)."""
        listed = sorted(
            await self.backend.list_services(), key=lambda item: (namespace_of(item), str(item["metadata"]["name"]))
        )
        return list(await asyncio.gather(*(self.view_of(item) for item in listed)))

    async def sample(self) -> str | None:
        text = await self.backend.metrics_text()
        if text is None:
            return "on a cluster, per-revision rates come from Prometheus: see the Grafana dashboard"
        self.history.add(parse_scrape(text, time.monotonic()))
        return None

    async def metrics(self, namespace: str, name: str) -> str:
        note = await self.sample()
        stats = self.history.stats(name, namespace)
        return render.metrics_panel(namespace, name, stats, self.history.window_s, note)

    async def events(self, namespace: str, name: str) -> str:
        try:
            return render.events_panel(namespace, name, await self.backend.events(namespace, name, EVENTS_SHOWN))
        except ConsoleError as exc:
            return render.events_panel(namespace, name, [], str(exc))

    async def try_panel(self, resource: dict[str, Any], view: ServiceView, result: str = "") -> str:
        try:
            inputs = form_inputs(await self.backend.model_metadata(resource))
        except ConsoleError as exc:
            return render.try_form(view, [], result, error=str(exc))
        return render.try_form(view, inputs, result)

    async def service_page(self, namespace: str, name: str, rollout_result: str = "", try_result: str = "") -> str:
        resource, view = await self.view(namespace, name)
        panels = [
            render.rollout_form(view, rollout_result),
            await self.try_panel(resource, view, try_result),
            await self.metrics(namespace, name),
            await self.events(namespace, name),
        ]
        return render.service_page(view, panels, self.backend.mode)


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def console_router(console: Console) -> APIRouter:
    router = APIRouter(prefix=render.PREFIX, default_response_class=HTMLResponse)

    @router.get("")
    async def index() -> HTMLResponse:
        try:
            return HTMLResponse(render.index_page(await console.views(), console.backend.mode))
        except ConsoleError as exc:
            return HTMLResponse(render.index_page([], console.backend.mode, str(exc)), status_code=exc.status)

    @router.get("/fragments/services")
    async def services() -> HTMLResponse:
        return HTMLResponse(render.services_table(await console.views()))

    def error_page(title: str, exc: ConsoleError) -> HTMLResponse:
        body = render.error_box(str(exc))
        if isinstance(exc, AmbiguousName):
            body += render.namespace_choice(exc.name, exc.namespaces)
        return HTMLResponse(render.page(title, body, console.backend.mode), exc.status)

    @router.get("/namespaces/{namespace}/services/{name}")
    async def service(namespace: str, name: str) -> HTMLResponse:
        try:
            return HTMLResponse(await console.service_page(namespace, name))
        except ConsoleError as exc:
            return error_page(f"{namespace}/{name}", exc)

    @router.get("/namespaces/{namespace}/services/{name}/status")
    async def status(namespace: str, name: str) -> HTMLResponse:
        try:
            _, view = await console.view(namespace, name)
        except ConsoleError as exc:
            return HTMLResponse(f'<section id="status">{render.error_box(str(exc))}</section>')
        return HTMLResponse(render.status_panel(view))

    @router.get("/namespaces/{namespace}/services/{name}/metrics")
    async def metrics(namespace: str, name: str) -> HTMLResponse:
        return HTMLResponse(await console.metrics(namespace, name))

    @router.get("/namespaces/{namespace}/services/{name}/events")
    async def events(namespace: str, name: str) -> HTMLResponse:
        return HTMLResponse(await console.events(namespace, name))

    @router.post("/namespaces/{namespace}/services/{name}/rollout")
    async def rollout(namespace: str, name: str, request: Request) -> HTMLResponse:
        fields = await _form(request)
        action, component = fields.get("action", ""), fields.get("component", "predictor")
        raw_percent = fields.get("percent", "")
        try:
            if action not in ACTIONS:
                raise ConsoleError(400, f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
            percent = int(raw_percent) if action == "canary" else None
            resource = await console.backend.get_service(namespace, name)
            await console.backend.rollout(resource, action, component, percent)
            _, view = await console.view(namespace, name)
            result = render.rollout_result(action, component, percent, view)
            code = 200
        except ValueError:
            result, code = render.error_box(f"percent must be an integer from 0 to 100, got {raw_percent!r}"), 400
        except ConsoleError as exc:
            result, code = render.error_box(str(exc)), exc.status
        if _htmx(request):  # htmx swaps only 2xx answers by default: errors are shown with 200
            return HTMLResponse(result, headers={"HX-Trigger": "isvc-changed"})
        try:
            return HTMLResponse(await console.service_page(namespace, name, rollout_result=result), status_code=code)
        except ConsoleError as exc:
            return error_page(f"{namespace}/{name}", exc)

    @router.post("/namespaces/{namespace}/services/{name}/try")
    async def try_it(namespace: str, name: str, request: Request) -> HTMLResponse:
        fields = await _form(request)
        try:
            resource = await console.backend.get_service(namespace, name)
            inputs = form_inputs(await console.backend.model_metadata(resource))
            body = infer_request(inputs, fields)
            result = render.try_result(await console.backend.infer(resource, body), body)
        except FormError as exc:
            result = render.error_box(str(exc))
        except ConsoleError as exc:
            result = render.error_box(str(exc))
        if _htmx(request):
            return HTMLResponse(result, headers={"HX-Trigger": "isvc-changed"})
        try:
            return HTMLResponse(await console.service_page(namespace, name, try_result=result))
        except ConsoleError as exc:
            return error_page(f"{namespace}/{name}", exc)

    # Name-only URLs (the console's URLs before namespaces): the one namespace holding the name, by a
    # 307 to the namespaced URL (307 keeps a form's POST and its body); 409 if two namespaces hold it.
    async def by_name(name: str, part: str, request: Request) -> Response:
        try:
            namespace = await console.resolve(name)
        except ConsoleError as exc:
            if part and (request.method == "GET" or _htmx(request)):  # a fragment's request: a fragment
                return HTMLResponse(render.error_box(str(exc)), exc.status)
            return error_page(name, exc)
        target = render.service_url(namespace, name, f"/{part}" if part else "")
        if request.url.query:
            target += f"?{request.url.query}"
        return RedirectResponse(target, status_code=307)

    @router.get("/services/{name}")
    async def service_by_name(name: str, request: Request) -> Response:
        return await by_name(name, "", request)

    @router.api_route("/services/{name}/{part}", methods=["GET", "POST"])
    async def part_by_name(name: str, part: str, request: Request) -> Response:
        if part not in PARTS.get(request.method, ()):
            return HTMLResponse(render.error_box(f"no such page: {request.url.path}"), 404)
        return await by_name(name, part, request)

    return router


def mount_console(app: FastAPI, backend: Backend) -> Console:
    """Add the console's routes and static files to ``app``."""
    console = Console(backend)
    app.include_router(console_router(console))
    app.mount(f"{render.PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    return console


def include_console(app: FastAPI, controller: Any) -> None:
    """The local gateway's console: ``/console``, reading and acting through the gateway's own API."""
    app.state.console = mount_console(app, LocalBackend(app, controller))


def console_app(backend: Backend) -> FastAPI:
    """A stand-alone app serving only the console (the cluster deployment), ``/`` redirecting to it."""
    app = FastAPI(title="isvc console", docs_url=None, redoc_url=None, openapi_url=None)
    mount_console(app, backend)

    @app.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse(render.PREFIX)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

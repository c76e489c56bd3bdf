"""The console's routes under ``/console`` and its static files, over a ``Backend`` (local or cluster).

``include_console(app, controller)`` is what the local gateway calls; ``console_app(backend)`` is the
cluster's stand-alone app (``python -m local.console``). Pages are whole HTML documents; the ``*/status``,
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
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from local.console import render
from local.console.backend import Backend, ConsoleError, LocalBackend
from local.console.metrics import MetricsHistory, parse_scrape
from local.console.views import FormError, ServiceView, form_inputs, infer_request, service_view

STATIC = Path(__file__).parent / "static"
ACTIONS = ("canary", "promote", "rollback")
EVENTS_SHOWN = 25


class Console:
    """The console's state: its backend and the metrics history sampled as the page polls."""

    def __init__(self, backend: Backend, history: MetricsHistory | None = None):
        self.backend = backend
        self.history = history or MetricsHistory()

    async def view(self, name: str) -> tuple[dict[str, Any], ServiceView]:
        resource = await self.backend.get_service(name)
        revisions = await self.backend.revisions(name)
        replicas = await self.backend.replicas(name, revisions)
        return resource, service_view(resource, revisions, replicas)

    async def views(self) -> list[ServiceView]:
        names = [str(item["metadata"]["name"]) for item in await self.backend.list_services()]
        return [view for _, view in await asyncio.gather(*(self.view(name) for name in names))]

    async def sample(self) -> str | None:
        text = await self.backend.metrics_text()
        if text is None:
            return "on a cluster, per-revision rates come from Prometheus: see the Grafana dashboard"
        self.history.add(parse_scrape(text, time.monotonic()))
        return None

    async def metrics(self, name: str) -> str:
        note = await self.sample()
        return render.metrics_panel(name, self.history.stats(name), self.history.window_s, note)

    async def events(self, name: str) -> str:
        try:
            return render.events_panel(name, await self.backend.events(name, EVENTS_SHOWN))
        except ConsoleError as exc:
            return render.events_panel(name, [], str(exc))

    async def try_panel(self, resource: dict[str, Any], view: ServiceView, result: str = "") -> str:
        try:
            inputs = form_inputs(await self.backend.model_metadata(resource))
        except ConsoleError as exc:
            return render.try_form(view, [], result, error=str(exc))
        return render.try_form(view, inputs, result)

    async def service_page(self, name: str, rollout_result: str = "", try_result: str = "") -> str:
        resource, view = await self.view(name)
        panels = [
            render.rollout_form(view, rollout_result),
            await self.try_panel(resource, view, try_result),
            await self.metrics(name),
            await self.events(name),
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

    @router.get("/services/{name}")
    async def service(name: str) -> HTMLResponse:
        try:
            return HTMLResponse(await console.service_page(name))
        except ConsoleError as exc:
            return HTMLResponse(render.page(name, render.error_box(str(exc)), console.backend.mode), exc.status)

    @router.get("/services/{name}/status")
    async def status(name: str) -> HTMLResponse:
        try:
            _, view = await console.view(name)
        except ConsoleError as exc:
            return HTMLResponse(f'<section id="status">{render.error_box(str(exc))}</section>')
        return HTMLResponse(render.status_panel(view))

    @router.get("/services/{name}/metrics")
    async def metrics(name: str) -> HTMLResponse:
        return HTMLResponse(await console.metrics(name))

    @router.get("/services/{name}/events")
    async def events(name: str) -> HTMLResponse:
        return HTMLResponse(await console.events(name))

    @router.post("/services/{name}/rollout")
    async def rollout(name: str, request: Request) -> HTMLResponse:
        fields = await _form(request)
        action, component = fields.get("action", ""), fields.get("component", "predictor")
        raw_percent = fields.get("percent", "")
        try:
            if action not in ACTIONS:
                raise ConsoleError(400, f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
            percent = int(raw_percent) if action == "canary" else None
            resource = await console.backend.get_service(name)
            await console.backend.rollout(resource, action, component, percent)
            _, view = await console.view(name)
            result = render.rollout_result(action, component, percent, view)
            code = 200
        except ValueError:
            result, code = render.error_box(f"percent must be an integer from 0 to 100, got {raw_percent!r}"), 400
        except ConsoleError as exc:
            result, code = render.error_box(str(exc)), exc.status
        if _htmx(request):  # htmx swaps only 2xx answers by default: errors are shown with 200
            return HTMLResponse(result, headers={"HX-Trigger": "isvc-changed"})
        return HTMLResponse(await console.service_page(name, rollout_result=result), status_code=code)

    @router.post("/services/{name}/try")
    async def try_it(name: str, request: Request) -> HTMLResponse:
        fields = await _form(request)
        try:
            resource = await console.backend.get_service(name)
            inputs = form_inputs(await console.backend.model_metadata(resource))
            body = infer_request(inputs, fields)
            result = render.try_result(await console.backend.infer(resource, body), body)
        except FormError as exc:
            result = render.error_box(str(exc))
        except ConsoleError as exc:
            result = render.error_box(str(exc))
        if _htmx(request):
            return HTMLResponse(result, headers={"HX-Trigger": "isvc-changed"})
        return HTMLResponse(await console.service_page(name, try_result=result))

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

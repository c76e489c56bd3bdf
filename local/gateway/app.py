"""The gateway's ASGI app: KServe's own V1/V2 routes plus a small InferenceService API.

* Inference: KServe's ``register_v1_endpoints`` / ``register_v2_endpoints`` over a data plane
  (``local.gateway.versions.GatewayDataPlane``, KServe's with the kit's input checks) whose models are
  ``IsvcModel`` s; ``/v2/models/{m}/versions/{revision}/infer`` pins a revision (404 if it is not
  deployed). JSON bodies are accepted whatever their Content-Type; a body over ``ISVC_MAX_BODY_BYTES``
  is 413 (``predictors.request_guard.BodyLimit``, in front of everything).
* API (kubectl-shaped): ``GET|POST /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices``
  and ``GET|DELETE .../inferenceservices/{name}``; POST takes the YAML text.
* Errors: the kit's ``IsvcError`` tree -> ``{"error": ...}`` with its status code, in one handler.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, ORJSONResponse
from pydantic import BaseModel, Field

from local.errors import IsvcError, SpecError
from local.gateway import metrics
from local.gateway.controller import Controller
from local.gateway.fast_path import FastInferencePath
from local.gateway.inference_log import InferenceLogMiddleware
from local.gateway.versions import GatewayDataPlane
from local.spec import load_documents
from predictors.request_guard import BodyLimit, JSONInferBody

API_PREFIX = "/apis/serving.kserve.io/v1beta1"


async def _isvc_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IsvcError)
    return JSONResponse(status_code=exc.status_code, content={"error": str(exc)})


def _close_retired_loggers(controller: Controller, tasks: set[asyncio.Task[Any]]) -> None:
    """Deliver what a replaced or deleted service's logger still holds, off the request path.

    Each closing task is kept in ``tasks`` until it is done (the loop holds tasks only weakly), and
    awaited at shutdown (``local.gateway.server``).
    """
    for logger in controller.take_retired_loggers():
        task = asyncio.get_running_loop().create_task(logger.close(drain_timeout=10.0))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def _api_router(controller: Controller, tasks: set[asyncio.Task[Any]]) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/namespaces/{namespace}/inferenceservices")
    async def list_services(namespace: str) -> dict[str, Any]:
        live = await asyncio.to_thread(controller.runtime.statuses)
        items = [
            controller.as_resource(record, live)
            for _, record in sorted(controller.services.items())
            if namespace in ("_all", record.service.namespace)
        ]
        return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceServiceList", "items": items}

    @router.get("/namespaces/{namespace}/inferenceservices/{name}")
    async def get_service(namespace: str, name: str) -> dict[str, Any]:
        live = await asyncio.to_thread(controller.runtime.statuses)
        return controller.as_resource(name, live)

    @router.post("/namespaces/{namespace}/inferenceservices")
    async def apply_services(namespace: str, request: Request) -> dict[str, Any]:
        text = (await request.body()).decode()
        services = load_documents(text, request.headers.get("x-isvc-source", "<request>"))
        applied = []
        for service in services:
            await asyncio.to_thread(controller.apply, service)
            applied.append(await asyncio.to_thread(controller.as_resource, service.name))
        _close_retired_loggers(controller, tasks)
        return {"apiVersion": "v1", "kind": "List", "items": applied}

    @router.post("/namespaces/{namespace}/inferenceservices/{name}/rollout")
    async def rollout(namespace: str, name: str, request: Request) -> dict[str, Any]:
        body = RolloutRequest.model_validate(await request.json())
        await asyncio.to_thread(controller.rollout, name, body.action, body.component, body.percent)
        return await asyncio.to_thread(controller.as_resource, name)

    @router.get("/namespaces/{namespace}/inferenceservices/{name}/logs")
    async def logs(namespace: str, name: str, component: str | None = None, cursor: str = "{}") -> dict[str, Any]:
        """The replicas' output since ``cursor`` (JSON from the previous answer): `isvc logs [-f]`."""
        import json

        try:
            position = {str(k): int(v) for k, v in json.loads(cursor).items()}
        except (ValueError, AttributeError) as exc:
            raise SpecError(f"cursor: not a JSON object of offsets: {exc}") from exc
        lines, after = await asyncio.to_thread(controller.logs, name, component, position)
        return {"lines": lines, "cursor": after}

    @router.delete("/namespaces/{namespace}/inferenceservices/{name}")
    async def delete_service(namespace: str, name: str) -> dict[str, Any]:
        await asyncio.to_thread(controller.delete, name)
        _close_retired_loggers(controller, tasks)
        return {"kind": "Status", "status": "Success", "details": {"name": name}}

    return router


def _revisions_router(controller: Controller) -> APIRouter:
    """Knative's revision list, as ``kubectl get revisions -l serving.kserve.io/inferenceservice=NAME``."""
    router = APIRouter(prefix="/apis/serving.knative.dev/v1")

    @router.get("/namespaces/{namespace}/revisions")
    async def list_revisions(namespace: str, labelSelector: str = "") -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in labelSelector.split(",") if "=" in part)
        name = wanted.get("serving.kserve.io/inferenceservice")
        names = [name] if name else sorted(controller.services)
        items = [item for service in names for item in controller.revisions(service)]
        return {"apiVersion": "v1", "kind": "List", "items": items}

    return router


class RolloutRequest(BaseModel):
    """Body of ``POST .../inferenceservices/{name}/rollout``."""

    action: Literal["canary", "promote", "rollback"]
    component: Literal["predictor", "transformer"] = "predictor"
    percent: int | None = Field(default=None, ge=0, le=100)


def _versioned_router(controller: Controller, app: FastAPI) -> APIRouter:
    router = APIRouter()

    @router.post("/v2/models/{model_name}/versions/{version}/infer")
    async def versioned_infer(model_name: str, version: str, request: Request) -> Response:
        from kserve.errors import InvalidInput
        from kserve.protocol.rest.v2_datamodels import InferenceRequest
        from pydantic import ValidationError

        from predictors.v2_responses import dump_inference_response

        dataplane = app.state.dataplane
        model = await dataplane.get_model(model_name)
        revision = await dataplane.resolve_version(model_name, version)  # 404 unless a deployed revision
        headers = dict(request.headers)
        raw: bytes | InferenceRequest = await request.body()
        if "inference-header-content-length" not in headers:  # a JSON body, parsed as KServe's route does
            try:
                raw = InferenceRequest.model_validate_json(raw)
            except ValidationError as exc:
                raise InvalidInput(f"invalid request body: {exc.errors()[0]['msg']}") from exc
        infer_request, _ = dataplane.decode(raw, headers, protocol_version="v2", model_name=model_name)
        response, response_headers = await model(infer_request, headers, pinned_revision=revision)
        body, encode_headers = dataplane.encode(
            model_name=model_name, response=response, headers=headers, req_attributes={}
        )
        response_headers.update(encode_headers)
        response_headers.pop("content-length", None)
        response_headers.pop("content-type", None)
        if isinstance(body, bytes):
            return Response(content=body, headers=response_headers)
        return ORJSONResponse(dump_inference_response(body), headers=response_headers)

    return router


def build_gateway_app(controller: Controller) -> FastAPI:
    from predictors.serving import build_rest_app

    app = FastAPI(title="isvc-kit local gateway", docs_url=None, redoc_url=None, default_response_class=ORJSONResponse)
    background: set[asyncio.Task[Any]] = set()
    app.state.background_tasks = background  # closing loggers; awaited when the gateway stops
    app.include_router(_api_router(controller, background))
    app.include_router(_revisions_router(controller))
    app.include_router(_versioned_router(controller, app))
    build_rest_app(repository=controller.repository, app=app, dataplane_class=GatewayDataPlane)
    app.add_exception_handler(IsvcError, _isvc_error_handler)
    app.add_middleware(JSONInferBody)
    app.add_middleware(FastInferencePath, model_for=controller.repository.get_model)
    app.add_middleware(InferenceLogMiddleware, logger_for=controller.logger_for)
    # Outermost: a body over the limit is refused before the fast path or the logger reads it.
    app.add_middleware(BodyLimit, max_body_bytes=app.state.limits.max_body_bytes)
    app.state.controller = controller
    metrics.expose_gateway(controller)
    from local.console.routes import include_console  # /console: the operations console (docs/console.md)

    include_console(app, controller)
    return app

"""The gateway's ASGI app: KServe's own V1/V2 routes plus a small InferenceService API.

* Inference: KServe's ``register_v1_endpoints`` / ``register_v2_endpoints`` over a data plane
  (``local.gateway.versions.GatewayDataPlane``, KServe's with the kit's input checks) whose models are
  ``IsvcModel`` s; ``/v2/models/{m}/versions/{revision}/infer`` pins a revision (404 if it is not
  deployed). JSON bodies are accepted whatever their Content-Type; a body over ``ISVC_MAX_BODY_BYTES``
  is 413 (``predictors.request_guard.BodyLimit``, in front of everything).
* API: the InferenceService resource as the Kubernetes API server serves it (``local.gateway.isvc_api``:
  list, watch, get, create, apply YAML, replace, patch, delete, namespaces honoured).
* Errors: the kit's ``IsvcError`` tree -> ``{"error": ...}`` with its status code, in one handler
  (a Kubernetes ``Status`` on the API's paths).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, ORJSONResponse

from local.errors import IsvcError
from local.gateway import metrics
from local.gateway.controller import Controller
from local.gateway.fast_path import FastInferencePath
from local.gateway.inference_log import InferenceLogMiddleware
from local.gateway.isvc_api import api_router, error_response, in_namespace, is_api_path
from local.gateway.versions import GatewayDataPlane
from predictors.request_guard import BodyLimit, JSONInferBody


async def _isvc_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """V2's ``{"error": ...}``, or a Kubernetes ``Status`` on the InferenceService API's paths."""
    assert isinstance(exc, IsvcError)
    if is_api_path(request.url.path):
        return error_response(exc)
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


def _revisions_router(controller: Controller) -> APIRouter:
    """Knative's revision list, as ``kubectl get revisions -l serving.kserve.io/inferenceservice=NAME``."""
    router = APIRouter(prefix="/apis/serving.knative.dev/v1")

    @router.get("/namespaces/{namespace}/revisions")
    async def list_revisions(namespace: str, labelSelector: str = "") -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in labelSelector.split(",") if "=" in part)
        name = wanted.get("serving.kserve.io/inferenceservice")
        records = in_namespace(controller, namespace)
        items = [item for r in records if name in (None, r.service.name) for item in controller.revisions(r)]
        return {"apiVersion": "v1", "kind": "List", "items": items}

    return router


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
    app.include_router(api_router(controller, lambda: _close_retired_loggers(controller, background)))
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

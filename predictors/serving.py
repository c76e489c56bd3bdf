"""Run ``kserve.Model`` objects the way a KServe pod does, and build the same app in-process.

* ``build_parser`` extends KServe's own ModelServer parser (``--http_port``, ``--model_name``,
  ``--predictor_host`` ...) with ``--bind_host``; it is built on call, never at import.
* ``serve`` starts the real ``kserve.ModelServer`` (REST and, if enabled, gRPC). A pod binds all
  interfaces (images set ``ISVC_BIND_HOST=0.0.0.0``); everywhere else the default is 127.0.0.1.
* ``build_rest_app`` gives the very routes and exception handlers of that server as a fresh FastAPI
  app, for in-process tests and for embedding in another ASGI server.

Both decode with ``predictors.checked_dataplane.CheckedDataPlane``, answer V2 without ``null``
(``predictors.v2_responses``) and bound bodies with
``predictors.request_guard.BodyLimit`` (limits from ``predictors.limits``, read once here); the pod's
gRPC server takes ``max_body_bytes`` as its receive limit unless ``--grpc_max_receive_message_length``
says otherwise. Errors are V2's ``{"error": ...}`` everywhere (``install_v2_error_handlers``): KServe
answers a body that fails its pydantic model with FastAPI's 422 ``{"detail": ...}``, an unknown route
with 404 ``{"detail": "Not Found"}`` and a wrong method with 405 ``{"detail": ...}``; the kit keeps
those status codes (and the ``Allow`` header) with a V2 body, and a malformed body is 400.

Shared by predictors and transformers; never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from concurrent import futures
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, ORJSONResponse
from starlette.exceptions import HTTPException

from predictors.limits import RequestLimits, load_limits
from predictors.settings import load_settings

BIND_HOST_ENV = "ISVC_BIND_HOST"


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """KServe's ModelServer arguments plus the kit's own; call from main(), not at import."""
    from kserve import model_server

    parser = argparse.ArgumentParser(
        description=description,
        parents=[model_server.parser],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bind_host",
        default=load_settings().bind_host,
        help=f"address the HTTP and gRPC servers listen on (env {BIND_HOST_ENV}; default %(default)s)",
    )
    return parser


def predictor_config_from_args(args: argparse.Namespace) -> Any:
    from kserve.predictor_config import PredictorConfig

    return PredictorConfig(
        predictor_host=args.predictor_host,
        predictor_protocol=args.predictor_protocol,
        predictor_use_ssl=args.predictor_use_ssl,
        predictor_request_timeout_seconds=args.predictor_request_timeout_seconds,
        predictor_request_retries=args.predictor_request_retries,
        predictor_health_check=args.enable_predictor_health_check,
    )


def format_body_errors(errors: Sequence[Any]) -> str:
    """V2's message for a body that fails KServe's request model (FastAPI's or pydantic's error list)."""
    problems = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{location or 'body'}: {error.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(problems)


async def _validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=400, content={"error": format_body_errors(exc.errors())})


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown route 404, wrong method 405, unreadable body 400) with a V2 body."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} not allowed on {request.url.path}"
    return JSONResponse(status_code=exc.status_code, content={"error": detail}, headers=exc.headers)


def install_v2_error_handlers(app: FastAPI) -> None:
    """Answer a malformed body (400), an unknown route (404) and a wrong method (405) with ``{"error": ...}``."""
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(HTTPException, _http_error_handler)


def build_rest_app(
    models: Sequence[Any] = (),
    predictor_config: Any = None,
    repository: Any = None,
    app: FastAPI | None = None,
    limits: RequestLimits | None = None,
    dataplane_class: type | None = None,
) -> FastAPI:
    """KServe's REST server (V1, V2, /metrics, its error handlers) for these models, as a new app.

    Pass ``repository`` (a ``kserve.model_repository.ModelRepository``) to keep adding models later,
    and ``app`` to mount the routes on an app that already has routes of its own (they match first);
    such an app adds ``BodyLimit`` itself, in front of its own middleware. ``limits``: read from the
    environment when not given. ``dataplane_class``: a ``CheckedDataPlane`` subclass to decode with.
    """
    from kserve import context as kserve_context
    from kserve.model_repository import ModelRepository
    from kserve.protocol.model_repository_extension import ModelRepositoryExtension
    from kserve.protocol.rest.server import RESTServer

    from predictors.checked_dataplane import CheckedDataPlane, version_routes
    from predictors.request_guard import BodyLimit, JSONInferBody
    from predictors.v2_responses import null_free_routes

    limits = limits if limits is not None else load_limits()
    repository = repository if repository is not None else ModelRepository()
    for model in models:
        repository.update(model)
    if predictor_config is not None:
        kserve_context.set_predictor_config(predictor_config)
    dataplane = (dataplane_class or CheckedDataPlane)(model_registry=repository, limits=limits)
    extension = ModelRepositoryExtension(model_registry=repository)
    rest = RESTServer("kserve.model_server:app", dataplane, extension, http_port=0)
    if app is None:
        app = FastAPI(
            title="isvc-kit model server", docs_url=None, redoc_url=None, default_response_class=ORJSONResponse
        )
        app.add_middleware(JSONInferBody)
        app.add_middleware(BodyLimit, max_body_bytes=limits.max_body_bytes)
    app.include_router(version_routes(dataplane))
    app.include_router(null_free_routes(dataplane, extension))  # shadows KServe's, which answer nulls
    rest._register_endpoints(app)
    rest._add_exception_handlers(app)
    install_v2_error_handlers(app)
    app.state.dataplane = dataplane
    app.state.model_repository_extension = extension
    app.state.limits = limits
    return app


def serve(models: Sequence[Any], args: argparse.Namespace) -> None:
    """Start KServe's ModelServer for these models as a pod would, bound to ``args.bind_host``."""
    from kserve import model_server
    from kserve.constants.constants import MAX_GRPC_MESSAGE_LENGTH

    from predictors.checked_dataplane import version_routes
    from predictors.request_guard import BodyLimit, JSONInferBody
    from predictors.v2_responses import null_free_routes

    limits = load_limits()
    receive = args.grpc_max_receive_message_length
    if receive == MAX_GRPC_MESSAGE_LENGTH:  # KServe's default, not a choice: the kit's limit instead
        receive = limits.max_body_bytes
    app = model_server.app
    install_v2_error_handlers(app)
    app.add_middleware(JSONInferBody)
    app.add_middleware(BodyLimit, max_body_bytes=limits.max_body_bytes)
    server = _BoundModelServer(
        bind_host=args.bind_host,
        limits=limits,
        grpc_receive_bytes=receive,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        workers=args.workers,
        max_threads=args.max_threads,
        max_asyncio_workers=args.max_asyncio_workers,
        enable_grpc=args.enable_grpc,
        enable_docs_url=args.enable_docs_url,
        enable_latency_logging=args.enable_latency_logging,
        access_log_format=args.access_log_format,
        predictor_config=predictor_config_from_args(args),
    )
    app.include_router(version_routes(server.dataplane))  # before KServe's routes, added at start
    app.include_router(null_free_routes(server.dataplane, server.model_repository_extension))
    server.start(list(models))


def _bound_model_server_class() -> type:
    from kserve import ModelServer

    from predictors.checked_dataplane import CheckedDataPlane

    class BoundModelServer(ModelServer):
        """kserve.ModelServer whose REST and gRPC servers listen on one chosen address, decoding with checks.

        KServe hard-codes 0.0.0.0 and [::]; a pod wants that, a laptop does not.
        """

        def __init__(self, bind_host: str, limits: RequestLimits, grpc_receive_bytes: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.bind_host = bind_host
            self.grpc_receive_bytes = grpc_receive_bytes
            # ModelServer.start hands self.dataplane to its REST and gRPC servers.
            self.dataplane = CheckedDataPlane(model_registry=self.registered_models, limits=limits)

        async def _serve(self) -> None:
            if self._rest_server is not None:
                self._rest_server.config.host = self.bind_host
            if self._grpc_server is not None:
                # ModelServer.start appended the gRPC coroutine last; replace it by one on bind_host.
                self.servers.pop().close()
                options = self._grpc_server._kwargs
                self._grpc_server._kwargs = {
                    **options,
                    "grpc_max_receive_message_length": self.grpc_receive_bytes,
                    "grpc_max_send_message_length": max(
                        options.get("grpc_max_send_message_length") or 0, self.grpc_receive_bytes
                    ),
                }
                self.servers.append(_start_grpc(self._grpc_server, self.bind_host, self.max_threads))
            await asyncio.gather(*self.servers)

    return BoundModelServer


def _BoundModelServer(**kwargs: Any) -> Any:
    return _bound_model_server_class()(**kwargs)


async def _start_grpc(grpc_server: Any, host: str, max_workers: int, exception_interceptor: Any = None) -> None:
    """KServe's GRPCServer.start, listening on ``host`` instead of every interface.

    ``exception_interceptor``: KServe's ``ExceptionToStatusInterceptor`` unless another is given (the
    local gateway maps its own errors too).
    """
    from grpc import aio
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor, LoggingInterceptor
    from kserve.protocol.grpc.servicer import InferenceServicer

    servicer = InferenceServicer(grpc_server._data_plane, grpc_server._model_repository_extension)
    server = aio.server(
        futures.ThreadPoolExecutor(max_workers=max_workers),
        interceptors=(LoggingInterceptor(), exception_interceptor or ExceptionToStatusInterceptor()),
        options=[
            ("grpc.max_send_message_length", grpc_server._kwargs.get("grpc_max_send_message_length")),
            ("grpc.max_receive_message_length", grpc_server._kwargs.get("grpc_max_receive_message_length")),
        ],
    )
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    address = f"[{host}]:{grpc_server._port}" if ":" in host else f"{host}:{grpc_server._port}"
    server.add_insecure_port(address)
    grpc_server._server = server
    await server.start()
    await server.wait_for_termination()

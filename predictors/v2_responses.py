"""V2 REST answers without ``null``: KServe's own handlers, dumped with unset fields omitted.

KServe's REST routes (``kserve/protocol/rest/v2_endpoints.py``) return its pydantic models dumped with
every optional field, so an answer carries ``"model_version": null``, ``"parameters": null`` or
``"versions": null``, where the Open Inference Protocol's REST schema wants a string, an object or an
array when the field is present (``open_inference_rest.yaml``: ``inference_response``,
``metadata_model_response``); strict clients refuse them. ``null_free_routes`` serves the same paths
with the same handlers (so decoding, errors and headers stay KServe's) and omits what is unset; mount
it before KServe's routes, which it then shadows. ``dump_inference_response`` is the same rule for a
server that encodes responses itself (the local gateway's replicas).

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from typing import Any, Union

from fastapi import APIRouter, Request, Response
from fastapi.responses import ORJSONResponse
from kserve.protocol.rest.v2_datamodels import (
    InferenceRequest,
    InferenceResponse,
    ModelMetadataResponse,
    ServerMetadataResponse,
)
from kserve.protocol.rest.v2_endpoints import V2Endpoints

_NOT_FORWARDED = {"content-length", "content-type"}


def dump_inference_response(body: dict[str, Any]) -> dict[str, Any]:
    """A V2 inference response as KServe's model validates it, without the fields left unset."""
    dumped: dict[str, Any] = InferenceResponse.model_validate(body).model_dump(exclude_none=True)
    return dumped


def without_nulls(document: dict[str, Any]) -> dict[str, Any]:
    """A metadata document without its ``None`` fields (top level: where KServe's dicts put them)."""
    return {key: value for key, value in document.items() if value is not None}


def null_free_routes(dataplane: Any, model_repository_extension: Any = None) -> APIRouter:
    """``GET /v2``, ``GET /v2/models/{m}`` and ``POST /v2/models/{m}/infer`` by KServe's handlers, nulls omitted."""
    endpoints = V2Endpoints(dataplane=dataplane, model_repository_extension=model_repository_extension)
    router = APIRouter(prefix="/v2")
    router.add_api_route(
        "", endpoints.metadata, response_model=ServerMetadataResponse, methods=["GET"], response_model_exclude_none=True
    )
    router.add_api_route(
        "/models/{model_name}",
        endpoints.model_metadata,
        response_model=ModelMetadataResponse,
        methods=["GET"],
        response_model_exclude_none=True,
    )

    async def infer(
        raw_request: Request,
        raw_response: Response,
        model_name: str,
        request_body: Union[InferenceRequest, bytes],  # noqa: UP007 - FastAPI reads KServe's own union
    ) -> Response:
        answer = await endpoints.infer(raw_request, raw_response, model_name, request_body)
        if isinstance(answer, Response):  # the binary extension: bytes, already framed
            return answer
        headers = {key: value for key, value in raw_response.headers.items() if key not in _NOT_FORWARDED}
        return ORJSONResponse(answer.model_dump(exclude_none=True), headers=headers)

    router.add_api_route("/models/{model_name}/infer", infer, response_model=None, methods=["POST"])
    return router

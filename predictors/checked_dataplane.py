"""KServe's ``DataPlane`` with the kit's input checks, and V2's versioned routes answered as V2 asks.

``CheckedDataPlane`` is what every server of the kit decodes with: the pods (``predictors.serving``),
the local gateway (gRPC and versioned REST) and the Ray replicas (``local.rest_inference``). It runs
``predictors.v2_checks`` where KServe's own decoding would otherwise trust the request:

* ``decode``: a binary-extension body's framing before ``InferRequest.from_bytes`` slices it, then
  every decoded input's shape, element count and data;
* ``infer``: the same input checks for a gRPC request (``InferRequest.from_grpc`` runs in KServe's
  servicer, not in ``decode``), and its ``model_version`` through ``infer_version``.

Model versions. KServe 0.21 answers a versioned path with 501 "Model versioning not supported yet"
(``kserve/protocol/rest/v2_endpoints.py``) and ignores a gRPC ``model_version``. A server of the kit
serves one unversioned model per name, so a version it does not serve is not found: 404 (gRPC
NOT_FOUND) from ``resolve_version``, as for an unknown model. The local gateway overrides
``resolve_version`` and ``infer_version``: there a version names a revision to pin.
``version_routes`` gives the versioned metadata, ready and infer routes on that rule; mount it before
KServe's own.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER, PredictorProtocol
from kserve.errors import ModelNotFound, ModelNotReady
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.infer_type import InferRequest

from predictors.limits import RequestLimits, load_limits
from predictors.v2_checks import check_binary_body, check_request


class VersionNotFound(ModelNotFound):
    """A model version this server does not serve: 404 / NOT_FOUND, by KServe's handlers for ModelNotFound."""

    def __init__(self, model_name: str, version: str, detail: str = "this server serves unversioned models"):
        super().__init__(model_name)
        self.reason = f"model {model_name!r} has no version {version!r}: {detail}"


class CheckedDataPlane(DataPlane):
    """``kserve.protocol.dataplane.DataPlane`` that refuses malformed tensors with 400."""

    def __init__(self, model_registry: Any, limits: RequestLimits | None = None):
        super().__init__(model_registry=model_registry)
        self.limits = limits if limits is not None else load_limits()

    def decode(
        self,
        body: Any,
        headers: Any,
        protocol_version: str = PredictorProtocol.REST_V1.value,
        model_name: str | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        is_v2 = protocol_version.lower() == PredictorProtocol.REST_V2.value
        if is_v2 and isinstance(body, bytes) and headers and INFERENCE_CONTENT_LENGTH_HEADER in headers:
            check_binary_body(body, str(headers[INFERENCE_CONTENT_LENGTH_HEADER]), self.limits.max_tensor_elements)
        request, attributes = super().decode(body, headers, protocol_version=protocol_version, model_name=model_name)
        if isinstance(request, InferRequest) and not isinstance(body, InferRequest):
            check_request(request, self.limits.max_tensor_elements)
        return request, attributes

    async def infer(
        self, model_name: str, request: Any, headers: dict[str, str] | None = None
    ) -> tuple[Any, dict[str, str]]:
        if isinstance(request, InferRequest) and request.from_grpc:
            if self.model_registry.get_model(model_name) is None:  # an unknown model first, in KServe's order
                raise ModelNotFound(model_name)
            check_request(request, self.limits.max_tensor_elements)
            if request.model_version:
                return await self.infer_version(model_name, request.model_version, request, headers)
        response: tuple[Any, dict[str, str]] = await super().infer(model_name, request, headers)
        return response

    async def resolve_version(self, model_name: str, version: str) -> str:
        """The version to serve for ``version`` of ``model_name``; here never one (404 after the model's own 404)."""
        await self.get_model(model_name)
        raise VersionNotFound(model_name, version)

    async def infer_version(
        self, model_name: str, version: str, request: InferRequest, headers: dict[str, str] | None
    ) -> tuple[Any, dict[str, str]]:
        """Inference on one version of a model (gRPC ``model_version``)."""
        await self.resolve_version(model_name, version)
        raise VersionNotFound(model_name, version)


def version_routes(dataplane: CheckedDataPlane) -> APIRouter:
    """V2's ``/v2/models/{m}/versions/{v}[/ready|/infer]``, answered through ``dataplane.resolve_version``."""
    router = APIRouter(prefix="/v2/models/{model_name}/versions/{model_version}")

    @router.get("")
    async def versioned_metadata(model_name: str, model_version: str) -> dict[str, Any]:
        await dataplane.resolve_version(model_name, model_version)
        metadata: dict[str, Any] = await dataplane.model_metadata(model_name)
        return {key: value for key, value in metadata.items() if value is not None}  # as predictors.v2_responses

    @router.get("/ready")
    async def versioned_ready(model_name: str, model_version: str) -> dict[str, Any]:
        await dataplane.resolve_version(model_name, model_version)
        if not await dataplane.model_ready(model_name):
            raise ModelNotReady(model_name)
        return {"name": model_name, "ready": True}

    @router.post("/infer")
    async def versioned_infer(model_name: str, model_version: str) -> dict[str, Any]:
        # Reached only where no server-specific route pins versions (the gateway has its own first).
        await dataplane.resolve_version(model_name, model_version)
        raise VersionNotFound(model_name, model_version, "no route serves pinned versions here")

    return router

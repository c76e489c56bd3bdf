"""Model versions on the gateway are revisions: V2's versioned paths and gRPC ``model_version`` pin one.

``GatewayDataPlane`` is the kit's checked data plane (``predictors.checked_dataplane``) for the
gateway's models (``IsvcModel``): a version names a revision of the service that receives traffic
(``iris-predictor-00002``), and a request for it is served by that revision whatever the split
says. Any other version is 404 / NOT_FOUND, as for an unknown model; KServe itself answers 501.
"""

from __future__ import annotations

from typing import Any

from kserve.protocol.infer_type import InferRequest

from local.errors import NotFoundError
from predictors.checked_dataplane import CheckedDataPlane


class GatewayDataPlane(CheckedDataPlane):
    """Resolves a version to a deployed revision of the service behind the model name."""

    async def resolve_version(self, model_name: str, version: str) -> str:
        model = await self.get_model(model_name)
        serves = getattr(model, "serves_revision", None)
        if serves is None or not serves(version):
            service = getattr(model, "service", model_name)
            raise NotFoundError(
                f"model {model_name!r} has no version {version!r}: a version is a deployed revision of {service}"
            )
        return version

    async def infer_version(
        self, model_name: str, version: str, request: InferRequest, headers: dict[str, str] | None
    ) -> tuple[Any, dict[str, str]]:
        revision = await self.resolve_version(model_name, version)
        model = await self.get_model(model_name)
        response: tuple[Any, dict[str, str]] = await model(request, headers, pinned_revision=revision)
        return response

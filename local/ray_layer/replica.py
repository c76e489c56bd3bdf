"""The Serve deployment that runs one revision of one component.

A ``ComponentReplica`` builds the component's ``kserve.Model`` from its container command (see
``local.components``) and answers ``infer(payload, headers, downstream)`` with exactly what the
pod's KServe data plane would compute. A transformer's ``predict`` is routed to the predictor
revision chosen by the gateway (``downstream``) through a Ray Serve handle instead of HTTP; its
``preprocess`` and ``postprocess`` are untouched.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from ray import serve

DEPLOYMENT_NAME = "component"
REVISION_HEADER = "x-isvc-revision"

_downstream_app: ContextVar[str | None] = ContextVar("isvc_downstream_app", default=None)


class ComponentReplica:
    """One replica of one component revision."""

    def __init__(self, module: str, args: list[str], revision: str, component: str):
        from local.components import build_component_model

        self.revision = revision
        self.component = component
        self.model = build_component_model(module, args)
        self._handles: dict[str, Any] = {}
        if component == "transformer":
            self.model.predict = self._predict_downstream

    async def _predict_downstream(self, payload: Any, headers: dict[str, str] | None = None, *_: Any) -> Any:
        app_name = _downstream_app.get()
        if app_name is None:
            raise NotImplementedError("Could not find the predictor revision for this transformer.")
        handle = self._handles.get(app_name)
        if handle is None:
            handle = serve.get_deployment_handle(DEPLOYMENT_NAME, app_name=app_name)
            self._handles[app_name] = handle
        response, _headers, _served = await handle.infer.remote(payload, headers, None)
        return response

    async def infer(
        self, payload: Any, headers: dict[str, str] | None, downstream: str | None
    ) -> tuple[Any, dict[str, str], dict[str, float]]:
        """Run the model as KServe's data plane would; returns (response, headers, timings)."""
        token = _downstream_app.set(downstream)
        started = time.perf_counter()
        try:
            response, response_headers = await self.model(payload, headers=headers)
        finally:
            _downstream_app.reset(token)
        return response, dict(response_headers or {}), {self.revision: time.perf_counter() - started}

    async def metadata(self) -> dict[str, Any]:
        return {
            "name": self.model.name,
            "inputs": self.model.get_input_types(),
            "outputs": self.model.get_output_types(),
        }

    def check_health(self) -> None:
        if not getattr(self.model, "ready", False):
            raise RuntimeError(f"{self.revision}: model not ready")

"""The Serve deployment that runs one revision of one component.

A ``ComponentReplica`` builds the component's ``kserve.Model`` from its container command (see
``local.components``) and answers ``infer(payload, headers, downstream)`` with exactly what the
pod's KServe data plane would compute. A transformer's ``predict`` is routed to the predictor
revision chosen by the gateway (``downstream``) through a Ray Serve handle instead of HTTP; its
``preprocess`` and ``postprocess`` are untouched.

A replica behind a transformer logs its own requests and responses when its component has a
``logger`` (the gateway logs the entry component), as the agent sidecar of its pod would: the body is
what the transformer would have sent over V2 HTTP, and only KServe's forwardable headers travel.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

import orjson
from ray import serve

DEPLOYMENT_NAME = "component"

_downstream_app: ContextVar[str | None] = ContextVar("isvc_downstream_app", default=None)


class ComponentReplica:
    """One replica of one component revision."""

    def __init__(
        self, module: str, args: list[str], revision: str, component: str, logger_config: dict[str, Any] | None = None
    ):
        from local.components import build_component_model

        self.revision = revision
        self.component = component
        self.model = build_component_model(module, args)
        self._handles: dict[str, Any] = {}
        self._logger_config = logger_config
        self._logger: Any = None
        if component == "transformer":
            self.model.predict = self._predict_downstream

    async def _predict_downstream(self, payload: Any, headers: dict[str, str] | None = None, *_: Any) -> Any:
        from kserve.model import append_forwardable_headers

        app_name = _downstream_app.get()
        if app_name is None:
            raise NotImplementedError("Could not find the predictor revision for this transformer.")
        handle = self._handles.get(app_name)
        if handle is None:
            handle = serve.get_deployment_handle(DEPLOYMENT_NAME, app_name=app_name)
            self._handles[app_name] = handle
        forwarded = append_forwardable_headers(headers, {"content-type": "application/json"})
        response, _headers, _timings = await handle.infer.remote(payload, forwarded, None)
        return response

    async def _ensure_logger(self) -> Any:
        if self._logger is None and self._logger_config is not None:
            from local.logger import EventContext, InferenceLogger, LoggerSpec

            config = self._logger_config
            context = EventContext(config["service"], config["namespace"], config["component"], source=config["source"])
            self._logger = InferenceLogger(LoggerSpec.parse(config["spec"]), context)
            await self._logger.start()
        return self._logger

    async def infer(
        self, payload: Any, headers: dict[str, str] | None, downstream: str | None
    ) -> tuple[Any, dict[str, str], dict[str, float]]:
        """Run the model as KServe's data plane would; returns (response, headers, timings)."""
        logger = await self._ensure_logger() if self._logger_config else None
        record = logger.log_request(headers or {}, _wire_bytes(payload)) if logger else None
        token = _downstream_app.set(downstream)
        started = time.perf_counter()
        try:
            response, response_headers = await self.model(payload, headers=headers)
        except Exception as exc:
            if logger:
                logger.log_response(record, int(getattr(exc, "status_code", 0) or 500), b"")
            raise
        finally:
            _downstream_app.reset(token)
        if logger:
            logger.log_response(record, 200, _wire_bytes(response))
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

    async def __del__(self) -> None:
        # Serve calls this on a graceful stop (scale-down included): deliver what is queued.
        if self._logger is not None:
            await self._logger.close(drain_timeout=5.0)


def _wire_bytes(message: Any) -> bytes:
    """The JSON a V2 HTTP hop would carry for this request or response object."""
    from kserve.protocol.infer_type import InferRequest, InferResponse

    if isinstance(message, InferRequest | InferResponse):
        rest, _ = message.to_rest()
        return rest if isinstance(rest, bytes) else orjson.dumps(rest, option=orjson.OPT_SERIALIZE_NUMPY)
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY)

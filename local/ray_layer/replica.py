"""The Serve deployment that runs one placement unit: one revision, or a transformer+predictor pair.

A ``UnitReplica`` builds each member's ``kserve.Model`` from its container command (see
``local.components``), entry first. It answers
* ``infer_rest(protocol, model_name, body, headers, downstream)``: the raw bytes a client sent to a V1
  or V2 REST route, decoded once here with KServe's data plane (``local.rest_inference``), answered
  as plain status, bytes and headers: the gateway's fast path;
* ``infer(payload, headers, downstream)``: an already decoded request (gRPC, pinned revisions, a
  transformer calling this predictor in another unit).

A transformer's ``predict`` goes to its predictor: an in-process call when both are members of this
unit (colocated), else a Ray Serve handle to the predictor's unit chosen by the gateway
(``downstream``), whose failures become the kit's errors (a gone predictor: 503 with a reason, never a
traceback; ``local.ray_layer.failures``). Its ``preprocess`` and ``postprocess`` are untouched. Each
member's ``timeout`` bounds its own work where no caller bounds it already: the predictor of a pair
when its timeout is the shorter, a unit called over a handle (``infer``: a transformer's downstream
call); the gateway bounds every call it makes (``local.ray_layer.client``). A predictor with a ``batcher``
is called through Ray Serve's ``@serve.batch`` with no wait window (``local.batching`` merges rows).

A member behind the entry logs its own requests and responses when its component has a ``logger``
(the gateway logs the entry), as the agent sidecar of its pod would: the body is what the
transformer would have sent over V2 HTTP, and only KServe's forwardable headers travel.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

import orjson
from ray import serve

from local.limits import DEFAULT_TIMEOUT_S
from local.ray_layer.failures import kit_error, within
from local.rest_inference import RestAnswer, RestInference

DEPLOYMENT_NAME = "component"

_downstream_app: ContextVar[str | None] = ContextVar("isvc_downstream_app", default=None)


class _Member:
    """One component revision's model inside a unit, with its logger and optional batcher."""

    def __init__(self, config: dict[str, Any]):
        self.revision: str = config["revision"]
        self.component: str = config["component"]
        self.timeout_s = float(config.get("timeout_s") or DEFAULT_TIMEOUT_S)
        self.config = config
        self.model = self.build()
        self._logger_config: dict[str, Any] | None = config.get("logger")
        self._logger: Any = None
        self._batched: Any = None
        self._in_flight = 0
        batching = config.get("batching")
        if batching:
            from local.batching import predict_batch

            async def run_batch(items: list[tuple[Any, dict[str, str] | None]]) -> list[Any]:
                return await predict_batch(self._call_model, items)

            self._batched = serve.batch(max_batch_size=int(batching["max_batch_size"]), batch_wait_timeout_s=0.0)(
                run_batch
            )

    def build(self) -> Any:
        """This member's model from its container command (raises naming the revision)."""
        from local.components import build_component_model

        try:
            return build_component_model(self.config["module"], self.config["args"])
        except Exception as exc:
            raise RuntimeError(f"{self.revision}: {type(exc).__name__}: {exc}") from exc

    async def _call_model(self, payload: Any, headers: dict[str, str] | None) -> Any:
        return await self.model(payload, headers=headers)

    async def logger(self) -> Any:
        if self._logger is None and self._logger_config is not None:
            from local.logger import EventContext, InferenceLogger, LoggerSpec

            config = self._logger_config
            annotations = tuple((key, value) for key, value in config.get("annotations", ()))
            service, namespace, component = config["service"], config["namespace"], config["component"]
            context = EventContext(service, namespace, component, source=config["source"], annotations=annotations)
            self._logger = InferenceLogger(LoggerSpec.parse(config["spec"]), context)
            await self._logger.start()
        return self._logger

    async def __call__(self, payload: Any, headers: dict[str, str] | None) -> tuple[Any, dict[str, str]]:
        """The model's answer and response headers, logged as this component's agent would."""
        logger = await self.logger() if self._logger_config else None
        record = logger.log_request(headers or {}, _wire_bytes(payload)) if logger else None
        # Adaptive batching: a request that finds no other in flight is predicted at once; those that
        # arrive meanwhile queue in Serve's batcher and are predicted together.
        batched = self._batched is not None and self._in_flight > 0
        self._in_flight += 1
        try:
            if batched:
                result = await self._batched((payload, headers))
                if isinstance(result, BaseException):
                    raise result
                response, response_headers = result, {}
            else:
                response, response_headers = await self.model(payload, headers=headers)
        except Exception as exc:
            if logger:
                logger.log_response(record, int(getattr(exc, "status_code", 0) or 500), b"")
            raise
        finally:
            self._in_flight -= 1
        if logger:
            logger.log_response(record, 200, _wire_bytes(response))
        return response, dict(response_headers or {})

    async def close(self) -> None:
        if self._logger is not None:
            await self._logger.close(drain_timeout=5.0)


class UnitReplica:
    """One replica of one placement unit (see ``local.placement``)."""

    def __init__(self, members: list[dict[str, Any]]):
        self.members = [_Member(config) for config in members]
        self.entry = self.members[0]
        self.revision = self.entry.revision
        self._handles: dict[str, Any] = {}
        self._rest = RestInference()
        self._code_version = 0
        self.reload_error: str | None = None
        self._wire_predict()

    def _wire_predict(self) -> None:
        if self.entry.component == "transformer":
            self.entry.model.predict = self._predict_colocated if len(self.members) > 1 else self._predict_downstream

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Serve's in-place update (``user_config``): a new ``code_version`` reloads the members' code.

        ``isvc up --reload`` bumps it when a watched source file changes: the modules under the members'
        package roots are re-imported and every model rebuilt, then swapped in at once; requests in
        flight finish on the old models, later ones get the new. If the new code fails to build, the old
        models keep serving and ``reload_error`` says why (the replica stays healthy).
        """
        version = int(config.get("code_version", 0))
        if version == self._code_version:
            return
        self._code_version = version
        from local.code_reload import package_root, reload_under

        roots = {root for m in self.members if (root := package_root(m.config["module"])) is not None}
        try:
            reload_under(roots)
            models = [member.build() for member in self.members]
        except Exception as exc:
            import traceback

            self.reload_error = "".join(traceback.format_exception(exc))
            print(f"{self.revision}: reload failed, still serving the previous code:\n{self.reload_error}")
            return
        for member, model in zip(self.members, models, strict=True):
            member.model = model
        self.reload_error = None
        self._wire_predict()
        print(f"{self.revision}: reloaded code version {version}")

    async def reload_status(self) -> tuple[int, str | None]:
        return self._code_version, self.reload_error

    async def _predict_colocated(self, payload: Any, headers: dict[str, str] | None = None, *_: Any) -> Any:
        from kserve.model import append_forwardable_headers

        forwarded = append_forwardable_headers(headers, {"content-type": "application/json"})
        predictor = self.members[1]
        if predictor.timeout_s < self.entry.timeout_s:  # else the entry's own bound covers it
            response, _headers = await within(predictor(payload, forwarded), predictor.timeout_s, predictor.revision)
        else:
            response, _headers = await predictor(payload, forwarded)
        return response

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
        try:
            response, _headers, _timings = await handle.infer.remote(payload, forwarded, None)
        except Exception as exc:
            error = kit_error(exc, app_name)  # the predictor's own error, or why it cannot be reached
            if error is exc:
                raise
            raise error from None
        return response

    async def infer(
        self, payload: Any, headers: dict[str, str] | None, downstream: str | None
    ) -> tuple[Any, dict[str, str], dict[str, float]]:
        """Run the entry model as KServe's data plane would; returns (response, headers, timings)."""
        token = _downstream_app.set(downstream)
        started = time.perf_counter()
        try:
            # Over a handle from a transformer, nothing else bounds this revision's work by its timeout.
            response, response_headers = await within(
                self.entry(payload, headers), self.entry.timeout_s, self.entry.revision
            )
        finally:
            _downstream_app.reset(token)
        return response, response_headers, {self.revision: time.perf_counter() - started}

    async def infer_rest(
        self, protocol: str, model_name: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        """A REST inference from raw bytes: (status, body, headers), errors included as answers."""
        token = _downstream_app.set(downstream)
        try:
            answer: RestAnswer = await self._rest.answer(
                "v1" if protocol == "v1" else "v2", model_name, body, headers, self.entry
            )
        finally:
            _downstream_app.reset(token)
        return answer.status, answer.body, answer.headers

    async def metadata(self) -> dict[str, Any]:
        model = self.entry.model
        return {"name": model.name, "inputs": model.get_input_types(), "outputs": model.get_output_types()}

    def check_health(self) -> None:
        for member in self.members:
            if not getattr(member.model, "ready", False):
                raise RuntimeError(f"{member.revision}: model not ready")

    async def __del__(self) -> None:
        # Serve calls this on a graceful stop (scale-down included): deliver what is queued.
        for member in self.members:
            await member.close()


def _wire_bytes(message: Any) -> bytes:
    """The JSON a V2 HTTP hop would carry for this request or response object."""
    from kserve.protocol.infer_type import InferRequest, InferResponse

    if isinstance(message, InferRequest | InferResponse):
        rest, _ = message.to_rest()
        return rest if isinstance(rest, bytes) else orjson.dumps(rest, option=orjson.OPT_SERIALIZE_NUMPY)
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY)

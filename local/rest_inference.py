"""One REST inference from the raw bytes a client sent, answered with KServe's own data plane.

The gateway forwards V1 (``/v1/models/{m}:predict``) and V2 (``/v2/models/{m}/infer``) bodies to the
entry replica without decoding them; ``answer_rest`` decodes once there, exactly as KServe's REST
handlers do (``kserve/protocol/rest/v2_endpoints.py: infer``, ``v1_endpoints.py: predict``): a JSON V2
body is validated against KServe's ``InferenceRequest``, a body with ``Inference-Header-Content-Length``
is the binary tensor extension, a V1 body goes through ``DataPlane.decode`` (CloudEvents included);
the response is encoded by ``DataPlane.encode``. Errors become V2 ``{"error": ...}`` with the status
KServe's exception handlers give (``local.errors.status_code_of``), so nothing but plain bytes crosses
the process boundary.

Never imports ``ray``; the body-error wording is the pod's own (``predictors.serving.format_body_errors``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import orjson
from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER
from kserve.errors import InvalidInput
from kserve.model_repository import ModelRepository
from kserve.protocol.rest.v2_datamodels import InferenceRequest
from pydantic import TypeAdapter, ValidationError

from local.errors import status_code_of
from predictors.checked_dataplane import CheckedDataPlane
from predictors.serving import format_body_errors
from predictors.v2_responses import dump_inference_response

Protocol = Literal["v1", "v2"]
_V2_BODY: TypeAdapter[InferenceRequest | bytes] = TypeAdapter(Union[InferenceRequest, bytes])  # noqa: UP007
ModelCall = Callable[[Any, dict[str, str]], Awaitable[tuple[Any, dict[str, str]]]]
JSON = "application/json"


@dataclass(frozen=True)
class RestAnswer:
    """What the gateway writes back: status, body bytes and headers (content type included)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(exc: BaseException) -> RestAnswer:
    return RestAnswer(status_code_of(exc), orjson.dumps({"error": str(exc)}), {"content-type": JSON})


class RestInference:
    """Decode, call the model, encode: one instance per replica (the data plane holds no model)."""

    def __init__(self) -> None:
        # The pods' checks (shapes, binary framing, the element limit of ISVC_MAX_TENSOR_ELEMENTS as this
        # replica's environment sets it): predictors.checked_dataplane.
        self._dataplane = CheckedDataPlane(model_registry=ModelRepository())

    def decode(self, protocol: Protocol, model_name: str, body: bytes, headers: dict[str, str]) -> tuple[Any, dict]:
        if protocol == "v1":
            return self._dataplane.decode(body=body, headers=headers)
        raw: bytes | InferenceRequest = body
        if INFERENCE_CONTENT_LENGTH_HEADER not in headers:
            # As FastAPI reads KServe's ``request_body: Union[InferenceRequest, bytes]``: JSON first,
            # then the union, so the errors read exactly as a pod's.
            if not body:
                raise InvalidInput("invalid request body: body: Field required")
            try:
                document = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise InvalidInput(f"invalid request body: {exc.pos}: JSON decode error") from exc
            try:
                raw = _V2_BODY.validate_python(document, from_attributes=True)
            except ValidationError as exc:
                raise InvalidInput(format_body_errors(exc.errors())) from exc
        request, _ = self._dataplane.decode(raw, headers, protocol_version="v2", model_name=model_name)
        return request, {}

    def encode(
        self, protocol: Protocol, model_name: str, response: Any, headers: dict[str, str], attributes: dict
    ) -> RestAnswer:
        body, encode_headers = self._dataplane.encode(
            model_name=model_name, response=response, headers=headers, req_attributes=attributes
        )
        out_headers = {key: str(value) for key, value in encode_headers.items() if key != "content-length"}
        if isinstance(body, str):
            body = body.encode()
        if isinstance(body, bytes):
            out_headers.setdefault("content-type", "application/octet-stream" if protocol == "v2" else JSON)
            return RestAnswer(200, body, out_headers)
        if protocol == "v2":
            body = dump_inference_response(body)  # unset fields omitted, as the pods answer
        out_headers["content-type"] = JSON
        return RestAnswer(200, orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), out_headers)

    async def answer(
        self, protocol: Protocol, model_name: str, body: bytes, headers: dict[str, str], call: ModelCall
    ) -> RestAnswer:
        """The whole REST exchange; never raises (errors are answers)."""
        try:
            request, attributes = self.decode(protocol, model_name, body, headers)
            response, response_headers = await call(request, headers)
            answer = self.encode(protocol, model_name, response, headers, attributes)
        except Exception as exc:
            return error_answer(exc)
        extra = {k: str(v) for k, v in (response_headers or {}).items() if k not in ("content-length", "content-type")}
        return RestAnswer(answer.status, answer.body, {**extra, **answer.headers})

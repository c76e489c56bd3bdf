"""The bad-input corpus (``tests/fixtures/bad_requests/*.yaml``) turned into requests, and its checks.

``rest_cases()`` and ``grpc_cases()`` read the data; ``RestCase.send`` sends one case over HTTP (the
body built from its description: JSON, text, raw bytes, generated zeros, or KServe's binary tensor
extension with lengths that may lie), ``GrpcCase.call`` makes one gRPC call. ``check_v2_error`` is the
one assertion every REST answer must pass: the expected 4xx and a JSON body with a string ``error``.
``TARGETS`` and ``endpoint`` name the servers a case is sent to: the Ray gateway (fixture
``ray_gateway``), the transformer pod and the predictor pod (fixture ``grpc_pod_chain``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad_requests"
DEFAULT_PATH = "/v2/models/iris/infer"
VALID_V2 = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
CHUNK = 1 << 20
TARGETS = [
    pytest.param("ray", marks=pytest.mark.ray, id="ray"),
    pytest.param("transformer-pod", marks=pytest.mark.process, id="transformer-pod"),
    pytest.param("predictor-pod", marks=pytest.mark.process, id="predictor-pod"),
]


@dataclass(frozen=True)
class Endpoint:
    url: str
    grpc_port: int


def endpoint(request: pytest.FixtureRequest, target: str) -> Endpoint:
    """Where ``target`` listens, starting its session fixture on first use."""
    if target == "ray":
        gateway = request.getfixturevalue("ray_gateway")
        return Endpoint(gateway.url, gateway.grpc_port)
    chain = request.getfixturevalue("grpc_pod_chain")
    component = chain.transformer if target == "transformer-pod" else chain.predictor
    return Endpoint(component.url, component.grpc_port)


def _raw(spec: dict[str, Any]) -> bytes:
    if "fp32" in spec:
        return struct.pack(f"<{len(spec['fp32'])}f", *spec["fp32"])
    if "zeros" in spec:
        return bytes(int(spec["zeros"]))
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    raise ValueError(f"unknown payload {spec!r}")


def _binary(spec: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    header = spec["header"]
    header_bytes = header.encode() if isinstance(header, str) else json.dumps(header).encode()
    declared = spec.get("header_length")
    length = str(len(header_bytes))
    if isinstance(declared, str) and declared[:1] in "+-" and declared[1:].isdigit():
        length = str(len(header_bytes) + int(declared))
    elif declared is not None:
        length = str(declared)
    headers = {"content-type": "application/octet-stream", "inference-header-content-length": length}
    return header_bytes + _raw(spec["payload"]), headers


def build_body(spec: dict[str, Any] | None) -> tuple[bytes, dict[str, str]]:
    """The bytes of a case's body and the headers that go with them."""
    if spec is None:
        return b"", {}
    if "json" in spec:
        return json.dumps(spec["json"]).encode(), {"content-type": "application/json"}
    if "text" in spec:
        return spec["text"].encode(), {}
    if "repeat" in spec:
        return (spec["repeat"] * int(spec["times"])).encode(), {}
    if "binary" in spec:
        return _binary(spec["binary"])
    return _raw(spec), {}


@dataclass(frozen=True)
class RestCase:
    id: str
    category: str
    expect: int | str
    method: str = "POST"
    path: str = DEFAULT_PATH
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    chunked: bool = False

    def send(self, client: httpx.Client) -> httpx.Response:
        content, headers = build_body(self.body)
        headers = {**headers, **self.headers}
        payload: bytes | Iterator[bytes] = content
        if self.chunked:
            payload = (content[start : start + CHUNK] for start in range(0, len(content), CHUNK))
        return client.request(self.method, self.path, content=payload, headers=headers)


@dataclass(frozen=True)
class GrpcCase:
    id: str
    category: str
    expect: str
    request: dict[str, Any]
    rpc: str = "ModelInfer"

    def message(self) -> Any:
        from google.protobuf import json_format
        from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

        fields = dict(self.request)
        raw = [_raw(item) for item in fields.pop("raw_input_contents", [])]
        kind = {"ModelInfer": pb.ModelInferRequest, "ModelMetadata": pb.ModelMetadataRequest}.get(
            self.rpc, pb.ModelReadyRequest
        )
        message = json_format.ParseDict(fields, kind())
        if raw:
            message.raw_input_contents.extend(raw)
        return message

    def call(self, stub: Any, timeout: float) -> Any:
        return getattr(stub, self.rpc)(self.message(), timeout=timeout)


def rest_cases() -> list[RestCase]:
    return [RestCase(**case) for case in yaml.safe_load((CORPUS / "rest.yaml").read_text())]


def grpc_cases() -> list[GrpcCase]:
    return [GrpcCase(**case) for case in yaml.safe_load((CORPUS / "grpc.yaml").read_text())]


def check_v2_error(response: httpx.Response, expect: int | str) -> None:
    """A 4xx (the expected one) with a JSON object body holding a string ``error``."""
    status = response.status_code
    assert 400 <= status < 500, f"{status} (want {expect}): {response.text[:300]}"
    if expect != "4xx":
        assert status == int(expect), f"{status} (want {expect}): {response.text[:300]}"
    try:
        document = response.json()
    except ValueError as exc:
        raise AssertionError(f"{status} body is not JSON: {response.text[:300]!r}") from exc
    assert isinstance(document, dict) and isinstance(document.get("error"), str), f"not a V2 error: {document!r}"
    assert document["error"], "empty error message"


def valid_grpc_request() -> Any:
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

    return pb.ModelInferRequest(
        model_name="iris",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name="input-0",
                datatype="FP32",
                shape=[1, 4],
                contents=pb.InferTensorContents(fp32_contents=[5.1, 3.5, 1.4, 0.2]),
            )
        ],
    )

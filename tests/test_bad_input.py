"""The bad-input corpus against both runtimes and both protocols.

Every REST case of ``tests/fixtures/bad_requests/rest.yaml`` is sent to the Ray gateway (iris:
transformer + predictor in one unit), to the transformer pod and to the predictor pod (the processes
their containers run, gRPC on: ``grpc_pod_chain``); every gRPC case of ``grpc.yaml`` to the same
three. Each must get its 4xx with a V2 ``{"error": ...}`` body (gRPC: its status code), never a
5xx, a reset or a hang (client timeouts), and a valid request right after must succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.bad_requests import (
    DEFAULT_PATH,
    TARGETS,
    VALID_V2,
    GrpcCase,
    RestCase,
    check_v2_error,
    endpoint,
    grpc_cases,
    rest_cases,
    valid_grpc_request,
)

TIMEOUT = httpx.Timeout(30.0)
GRPC_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, httpx.Client]]:
    opened: dict[str, httpx.Client] = {}
    yield opened
    for client in opened.values():
        client.close()


def client_for(request: pytest.FixtureRequest, clients: dict[str, httpx.Client], target: str) -> httpx.Client:
    if target not in clients:
        clients[target] = httpx.Client(base_url=endpoint(request, target).url, timeout=TIMEOUT)
    return clients[target]


REST = rest_cases()
GRPC = grpc_cases()


def test_the_corpus_is_large_and_names_are_unique() -> None:
    assert len(REST) >= 40 and len(GRPC) >= 20
    assert len({case.id for case in REST}) == len(REST)
    assert len({case.id for case in GRPC}) == len(GRPC)
    categories = {case.category for case in REST}
    for needed in ("route", "method", "model", "shape", "binary", "size", "content-type", "number", "limit", "v1"):
        assert needed in categories


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", REST, ids=[case.id for case in REST])
def test_rest_case_gets_a_v2_error_then_service_continues(
    request: pytest.FixtureRequest, clients: dict[str, httpx.Client], target: str, case: RestCase
) -> None:
    client = client_for(request, clients, target)
    try:
        response = case.send(client)
    except httpx.TransportError as exc:  # reset, closed mid-request, or no answer within the timeout
        pytest.fail(f"{case.id} on {target}: {type(exc).__name__}: {exc}")
    check_v2_error(response, case.expect)
    ok = client.post(DEFAULT_PATH, json=VALID_V2)
    assert ok.status_code == 200, ok.text
    assert ok.json()["outputs"][0]["data"] in (["setosa"], [0])


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", GRPC, ids=[case.id for case in GRPC])
def test_grpc_case_gets_its_status_then_service_continues(
    request: pytest.FixtureRequest, target: str, case: GrpcCase
) -> None:
    import grpc
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

    port = endpoint(request, target).grpc_port
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        stub: Any = pb_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            case.call(stub, GRPC_TIMEOUT_S)
        code = error.value.code()
        assert code == getattr(grpc.StatusCode, case.expect), f"{code}: {error.value.details()}"
        assert error.value.details(), "no status message"
        answer = stub.ModelInfer(valid_grpc_request(), timeout=GRPC_TIMEOUT_S)
    assert answer.outputs, "the valid request after the case got no outputs"


@pytest.mark.parametrize("target", [t for t in TARGETS if t.id != "transformer-pod"])  # its JSON hop: 12 s
def test_a_valid_body_past_rays_default_hop_limit_is_served(
    request: pytest.FixtureRequest, clients: dict[str, httpx.Client], target: str
) -> None:
    """5 MiB of binary FP32 rows: within ISVC_MAX_BODY_BYTES, past the 4 MiB a Ray Serve handle call carries
    by default (RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH, which the runtime raises to the body limit)."""
    import json

    import numpy as np

    rows = np.tile(np.asarray([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32), (5 * 1024 * 1024 // 16, 1))
    raw = rows.tobytes()
    tensor = {"name": "input-0", "shape": list(rows.shape), "datatype": "FP32"}
    header = json.dumps({"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}]}).encode()
    headers = {"content-type": "application/octet-stream", "inference-header-content-length": str(len(header))}
    response = client_for(request, clients, target).post(DEFAULT_PATH, content=header + raw, headers=headers)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["outputs"][0]["shape"] == [len(rows)]

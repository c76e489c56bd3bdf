"""Scale to zero and back, delete, and the CLI against the local runtime (Ray tier)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import yaml

from local.cli.main import main as isvc
from tests.conftest import SETOSA, apply_yaml, iris_manifest

pytestmark = pytest.mark.ray  # all but the last test use the session runtime


def replicas(gateway: Any, name: str) -> dict[str, int]:
    resource = httpx.get(
        f"{gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/{name}", timeout=30
    ).json()
    counts: dict[str, int] = resource["status"]["localRuntime"]["replicas"]
    return counts


def test_scale_to_zero_then_queued_requests_all_answered(ray_gateway: Any) -> None:
    """Knative: minReplicas 0 scales to zero after the retention window; the next requests wait, never drop."""
    text = iris_manifest(
        "zero",
        "zero",
        **{"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "1s", "autoscaling.knative.dev/window": "1s"},
    )
    apply_yaml(ray_gateway, text)
    deadline = time.monotonic() + 120
    while replicas(ray_gateway, "zero") != {"transformer": 0, "predictor": 0}:
        assert time.monotonic() < deadline, f"never scaled to zero: {replicas(ray_gateway, 'zero')}"
        time.sleep(0.5)
    # At zero a warm standby worker waits, preloaded, and is no replica: the status still says 0.
    runtime = ray_gateway.runtime
    if runtime.head is not None:
        from local.ray_layer.standby import idle_workers

        deadline = time.monotonic() + 60
        while not idle_workers(runtime.head.pids()):
            assert time.monotonic() < deadline, "no warm standby worker while at zero"
            time.sleep(0.5)
        assert runtime.standby.started >= 1
        assert replicas(ray_gateway, "zero") == {"transformer": 0, "predictor": 0}
    with httpx.Client(base_url=ray_gateway.url, timeout=120) as client, ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: client.post("/v1/models/zero:predict", json={"instances": [SETOSA]}), range(8))
        )
    assert [r.status_code for r in responses] == [200] * 8
    assert all(r.json()["predictions"][0]["label"] == "setosa" for r in responses)
    assert replicas(ray_gateway, "zero")["predictor"] >= 1

    assert isvc(["delete", "zero", "--server", ray_gateway.url]) == 0
    assert (
        httpx.get(
            f"{ray_gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/zero", timeout=30
        ).status_code
        == 404
    )
    assert (
        httpx.post(f"{ray_gateway.url}/v1/models/zero:predict", json={"instances": [SETOSA]}, timeout=30).status_code
        == 404
    )
    deadline = time.monotonic() + 60
    while any(name.startswith("zero-") for name in ray_gateway.runtime.statuses()):
        assert time.monotonic() < deadline, "Serve applications of a deleted service remain"
        time.sleep(0.5)


def test_cli_get_table_and_yaml(ray_gateway: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert isvc(["get", "--server", ray_gateway.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "URL", "READY", "REPLICAS", "CANARY", "LATEST"]
    assert any(line.split()[0] == "iris" and "True" in line for line in lines[1:])
    assert isvc(["get", "iris", "-o", "yaml", "--server", ray_gateway.url]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["kind"] == "InferenceService"
    assert document["status"]["components"]["predictor"]["latestCreatedRevision"] == "iris-predictor-00001"


def test_cli_infer_prints_the_response_and_exits_1_on_error(
    ray_gateway: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    record = '{"instances": [{"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]}'
    assert isvc(["infer", "iris", "--v1", "-d", record, "--server", ray_gateway.url]) == 0
    assert '"virginica"' in capsys.readouterr().out
    assert isvc(["infer", "iris", "--v1", "-d", '{"instances": []}', "--server", ray_gateway.url]) == 1
    assert "non-empty" in capsys.readouterr().out
    assert isvc(["infer", "iris", "-d", "{not json", "--server", ray_gateway.url]) == 2


def test_cli_apply_reports_invalid_fields_and_conflicts(
    ray_gateway: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = yaml.safe_load(iris_manifest("broken", "broken"))
    bad["spec"]["predictor"]["minReplicas"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    assert isvc(["apply", "-f", str(path), "--server", ray_gateway.url]) == 1
    assert "spec.predictor.minReplicas" in capsys.readouterr().err
    clash = tmp_path / "clash.yaml"
    clash.write_text(iris_manifest("other", "iris"))  # model name iris is served by isvc iris
    assert isvc(["apply", "-f", str(clash), "--server", ray_gateway.url]) == 1
    assert "already served by InferenceService 'iris'" in capsys.readouterr().err


def test_cli_without_runtime_says_how_to_start_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert isvc(["get", "--server", "http://127.0.0.1:9"]) == 1
    assert "isvc up" in capsys.readouterr().err


def test_up_refuses_a_port_in_use_before_starting_ray(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert isvc(["up", "--port", str(port), "--grpc-port", "0"]) == 1
    assert f"127.0.0.1:{port} is already in use" in capsys.readouterr().err

"""Shared fixtures: iris artifacts, in-process KServe apps, and one pod chain and one Ray runtime per session."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
IRIS_V1 = REPO_ROOT / "models" / "iris" / "v1"
IRIS_V2 = REPO_ROOT / "models" / "iris" / "v2"

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


def pytest_configure(config: pytest.Config) -> None:
    # KServe logs every 4xx with a traceback; keep test output readable.
    logging.getLogger("kserve").setLevel(logging.CRITICAL)
    # The session's gateway is also its Ray driver, as isvc up's: Ray Serve's settings must be in the
    # environment before any test module imports ray.serve (it reads them at import).
    from local.ray_layer.environment import apply_ray_environment

    apply_ray_environment()


def v2_tensor_request(rows: list[list[Any]], name: str = "input-0", **extra: Any) -> dict[str, Any]:
    flat = [value for row in rows for value in row]
    return {
        "inputs": [{"name": name, "shape": [len(rows), len(rows[0]) if rows else 4], "datatype": "FP32", "data": flat}],
        **extra,
    }


def v2_binary_request(rows: list[list[float]]) -> tuple[bytes, dict[str, str]]:
    """KServe's binary tensor extension: a JSON header, then raw FP32 bytes; and the headers it needs."""
    import json

    import numpy as np

    raw = np.asarray(rows, dtype=np.float32).tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [len(rows), len(rows[0])],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    ).encode()
    headers = {"content-type": "application/octet-stream", "inference-header-content-length": str(len(header))}
    return header + raw, headers


def v2_feature_request(records: list[dict[str, Any]]) -> dict[str, Any]:
    names = list(records[0])
    return {
        "inputs": [
            {"name": name, "shape": [len(records)], "datatype": "FP32", "data": [record[name] for record in records]}
            for name in names
        ]
    }


def v2_grpc_feature_request(model_name: str, record: dict[str, float]) -> Any:
    """``record`` as a gRPC ``ModelInferRequest``: one FP32 tensor of shape [1] per feature."""
    from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb

    return pb.ModelInferRequest(
        model_name=model_name,
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name=name, datatype="FP32", shape=[1], contents=pb.InferTensorContents(fp32_contents=[value])
            )
            for name, value in record.items()
        ],
    )


@pytest.fixture(scope="session")
def sklearn_model() -> Any:
    from predictors.sklearn import SklearnModel

    model = SklearnModel("iris", str(IRIS_V1))
    model.load()
    return model


@pytest.fixture(scope="session")
def predictor_client(sklearn_model: Any) -> Any:
    from fastapi.testclient import TestClient

    from predictors.serving import build_rest_app

    with TestClient(build_rest_app([sklearn_model])) as client:
        yield client


@pytest.fixture(scope="session")
def transformer_client(sklearn_model: Any) -> Any:
    """The transformer in-process, its predict() calling the predictor model directly."""
    from fastapi.testclient import TestClient

    from predictors.artifact import read_metadata
    from predictors.serving import build_rest_app
    from transformers.iris import IrisTransformer

    transformer = IrisTransformer("iris", read_metadata(IRIS_V1))

    async def predict_in_process(payload: Any, headers: Any = None) -> Any:
        response, _ = await sklearn_model(payload, headers)
        return response

    transformer.predict = predict_in_process  # type: ignore[method-assign]
    with TestClient(build_rest_app([transformer])) as client:
        yield client


# -- process and Ray tiers: one of each per test session ------------------------------------------

POD_ARGS = ["--model_name=iris", f"--model_dir={IRIS_V1}", "--enable_grpc=false"]


@pytest.fixture(scope="session")
def pod_chain() -> Any:
    """Predictor + transformer as the processes their containers run, chained over V2 HTTP."""
    from local.processes import start_chain

    with start_chain("predictors.sklearn", POD_ARGS, "transformers.iris", POD_ARGS) as chain:
        yield chain


@pytest.fixture(scope="session")
def grpc_pod_chain() -> Any:
    """Predictor + transformer processes as KServe runs them by default: REST and gRPC both on."""
    from local.processes import start_chain

    args = ["--model_name=iris", f"--model_dir={IRIS_V1}"]
    with start_chain("predictors.sklearn", args, "transformers.iris", args) as chain:
        yield chain


def iris_manifest(name: str = "iris", model_name: str = "iris", **annotations: str) -> str:
    """manifests/iris.yaml renamed, with extra metadata annotations (e.g. short Knative windows)."""
    import yaml

    document = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    document["metadata"]["name"] = name
    document["metadata"].setdefault("annotations", {}).update(annotations)
    for component in ("transformer", "predictor"):
        container = document["spec"][component]["containers"][0]
        container["args"] = [
            f"--model_name={model_name}" if arg.startswith("--model_name=") else arg for arg in container["args"]
        ]
    return yaml.safe_dump(document)


@dataclasses.dataclass
class RayGateway:
    url: str
    grpc_port: int
    controller: Any
    runtime: Any
    sink_url: str


@pytest.fixture(scope="session")
def ray_gateway(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The local runtime (Ray, Serve, gateway on free loopback ports) with manifests/iris.yaml applied.

    Loggers post to a real sink on a free port, storing into a SQLite file of this session.
    """
    import asyncio
    import threading

    from local.gateway.server import GatewayOptions, build_gateway, http_server, serve_gateway
    from local.processes import free_port
    from local.ray_layer.runtime import RayRuntime
    from local.spec import load_documents

    sink_port = free_port()
    sink_db = tmp_path_factory.mktemp("sink") / "events.db"
    sink = subprocess.Popen(
        [sys.executable, "-m", "local.sink", "--db", f"sqlite:///{sink_db}", "--port", str(sink_port)],
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    runtime = RayRuntime()
    runtime.start()
    options = GatewayOptions(port=free_port(), grpc_port=free_port())
    controller, app = build_gateway(options, runtime)
    controller.local_sink_url = f"http://127.0.0.1:{sink_port}/"
    server = http_server(app, options)
    thread = threading.Thread(target=lambda: asyncio.run(serve_gateway(app, options, server)), daemon=True)
    try:
        for service in load_documents(iris_manifest()):
            controller.apply(service)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield RayGateway(
            f"http://127.0.0.1:{options.port}", options.grpc_port or 0, controller, runtime, f"sqlite:///{sink_db}"
        )
    finally:
        try:
            server.should_exit = True
            thread.join(timeout=15)
            runtime.shutdown()
        finally:
            sink.terminate()
            sink.wait(timeout=10)


def apply_yaml(gateway: Any, text: str) -> dict[str, Any]:
    """Apply YAML to the session's runtime through its HTTP API, as `isvc apply` does."""
    import httpx

    response = httpx.post(
        f"{gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices",
        content=text.encode(),
        timeout=300,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items[-1]

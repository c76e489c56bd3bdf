"""Cluster tier: V2 / Open Inference Protocol checks against the iris InferenceService on a real KServe cluster.

Runs only where a kubeconfig points at a cluster with KServe and ``ISVC_CLUSTER_URL`` names the ingress
(``make e2e-cluster`` port-forwards Kourier and sets it, with ``ISVC_CLUSTER_HOST`` as the Host header
Knative routes on). Everywhere else every test is skipped with the reason. The assertions are the V2
behaviours the local runtime and the pod-equivalent processes are held to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.cluster

SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _skip_reason() -> str | None:
    kubeconfig = Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config")))
    if not kubeconfig.is_file():
        return f"no kubeconfig at {kubeconfig}: the cluster tier needs a cluster with KServe (make cluster-up)"
    if not os.environ.get("ISVC_CLUSTER_URL"):
        return "ISVC_CLUSTER_URL is not set: run the cluster tier through `make e2e-cluster`"
    if shutil.which("kubectl") is None:
        return "kubectl is not installed"
    found = subprocess.run(
        ["kubectl", "get", "crd", "inferenceservices.serving.kserve.io"], capture_output=True, timeout=30
    )
    if found.returncode != 0:
        return "the current kubeconfig context has no KServe InferenceService CRD"
    return None


@pytest.fixture(scope="module")
def client() -> Any:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import httpx

    headers = {"Host": os.environ["ISVC_CLUSTER_HOST"]} if os.environ.get("ISVC_CLUSTER_HOST") else {}
    # the first request may wake the scaled-to-zero revisions: allow a cold start
    with httpx.Client(base_url=os.environ["ISVC_CLUSTER_URL"], headers=headers, timeout=120) as http:
        yield http


def _features(*rows: list[float]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": name, "shape": [len(rows)], "datatype": "FP32", "data": [row[i] for row in rows]}
            for i, name in enumerate(FEATURES)
        ]
    }


def test_ready_and_model_metadata(client: Any) -> None:
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/iris/ready").status_code == 200
    assert client.get("/v2/models/iris").json()["name"] == "iris"


def test_infer_labels(client: Any) -> None:
    response = client.post("/v2/models/iris/infer", json=_features(SETOSA, VIRGINICA))
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert outputs["label"]["data"] == ["setosa", "virginica"]


def test_errors_are_v2(client: Any) -> None:
    assert client.post("/v2/models/nope/infer", json=_features(SETOSA)).status_code == 404
    bad = client.post("/v2/models/iris/infer", json={"inputs": "not a list"})
    assert bad.status_code == 400 and "error" in bad.json()

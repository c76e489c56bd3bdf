"""``isvc image``: an image derived from a scaffold's InferenceService builds and serves as its pod would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.container import engine

pytestmark = pytest.mark.container


def test_an_isvc_init_predictor_builds_and_answers(tmp_path: Path, python_image: str) -> None:
    isvc = [sys.executable, "-m", "local.cli.main"]
    subprocess.run([*isvc, "init", "scores", "--kind", "predictor"], cwd=tmp_path, check=True, capture_output=True)
    made = subprocess.run(
        [*isvc, "image", "-f", "scores/inferenceservice.yaml", "-o", "images"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    context = tmp_path / "images" / "scores-predictor"
    assert (context / "Dockerfile").is_file(), made.stdout
    tag = f"isvc-kit/scores-predictor:{engine.TEST_TAG}"
    engine.build(str(context / "Dockerfile"), tag, {"PYTHON_IMAGE": python_image}, context=context)
    pod = {
        "command": ["python", "-m", "scores.predictor"],
        "args": ["--model_name=scores"],
        "securityContext": {"runAsUser": 10001, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }  # fmt: skip
    net = engine.network()
    container = engine.run_pod_container(tag, pod, net, "scores")
    try:
        engine.wait_ready(container)
        answer = httpx.post(
            f"{container.url}/v2/models/scores/infer",
            json={"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [6.0]
    finally:
        engine.remove(container.name)
        engine.docker("network", "rm", net, check=False)

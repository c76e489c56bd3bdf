"""``isvc init``: the scaffold's own test passes and ``isvc up`` serves it as written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local.processes import free_port
from local.scaffold import ScaffoldError, package_name, scaffold

REPO = Path(__file__).resolve().parents[3]


def isvc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local.cli.main", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("kind", ["predictor", "transformer"])
def test_the_scaffolds_own_test_passes(tmp_path: Path, kind: str) -> None:
    done = isvc("init", "my-model", "--kind", kind, "--dir", str(tmp_path), cwd=REPO)
    assert done.returncode == 0, done.stderr
    package = tmp_path / "my_model"
    assert sorted(p.name for p in package.iterdir()) == sorted(
        ["__init__.py", f"{kind}.py", "inferenceservice.yaml", f"test_{kind}.py"]
    )
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "my_model"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout


def test_names_and_targets_are_checked(tmp_path: Path) -> None:
    assert package_name("fraud-v2") == "fraud_v2"
    for bad in ("Upper", "9lives", "has_underscore", "x" * 60):
        with pytest.raises(ScaffoldError, match="not a valid InferenceService name"):
            package_name(bad)
    scaffold(tmp_path, "twice", "predictor")
    with pytest.raises(ScaffoldError, match="not empty"):
        scaffold(tmp_path, "twice", "predictor")
    scaffold(tmp_path, "twice", "predictor", force=True)
    assert isvc("init", "bad", "--kind", "router", cwd=tmp_path).returncode == 2


@pytest.mark.process
def test_isvc_up_serves_the_scaffolds_as_written(tmp_path: Path) -> None:
    """Both kinds in one ``isvc up`` (one Ray start), run where the user would run it: beside the packages."""
    from local.cli.init import default_model_dir

    scaffold(tmp_path, "scores", "predictor")
    scaffold(tmp_path, "prep", "transformer", model_dir=default_model_dir())
    port = free_port()
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "local.cli.main", "up", "--port", str(port), "--grpc-port", "0",
         "-f", "scores/inferenceservice.yaml", "-f", "prep/inferenceservice.yaml"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{REPO}", "ISVC_STATE_DIR": str(tmp_path / ".isvc")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while "gateway at" not in (tmp_path / "up.log").read_text():
            assert up.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()
            time.sleep(0.2)
        scores = httpx.post(
            f"{url}/v2/models/scores/infer",
            json={"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
            timeout=30,
        )
        assert scores.status_code == 200, scores.text
        assert scores.json()["outputs"][0]["data"] == [6.0]
        prep = httpx.post(
            f"{url}/v2/models/prep/infer",
            json={"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]},
            timeout=30,
        )
        assert prep.status_code == 200, prep.text
        assert prep.json()["model_name"] == "prep" and prep.json()["outputs"][0]["data"]
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.wait(timeout=60)
        log.close()

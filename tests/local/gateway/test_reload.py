"""`isvc up --reload`: a code edit reaches the running service in place, a manifest edit is applied.

Runs the real command in its own process (its own Ray head), serving a tiny predictor copied into a
temporary package, with a client sending requests throughout: none may fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.processes import free_port
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.ray

MODULE = '''
"""A predictor answering a fixed word: the test edits the word."""
import argparse

from kserve import Model

WORD = "{word}"


class Echo(Model):
    def __init__(self, name: str):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        print(f"echo says {{WORD}}", flush=True)
        return {{"predictions": [WORD for _ in payload["instances"]]}}


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--suffix", default="")
    return parser


def build_model(args: argparse.Namespace) -> Echo:
    return Echo(args.model_name)
'''

MANIFEST = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: probe
  annotations:
    serving.kserve.io/deploymentMode: Knative
spec:
  predictor:
    minReplicas: 1
    containers:
      - name: kserve-container
        command: ["python", "-m", "reloadprobe.echo"]
        args: ["--model_name=probe"{extra}]
"""


def answer(client: httpx.Client) -> tuple[int, Any]:
    response = client.post("/v1/models/probe:predict", json={"instances": [1]})
    return response.status_code, response.json()


@pytest.fixture
def served(tmp_path: Path) -> Any:
    package = tmp_path / "reloadprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text(MODULE.format(word="first"))
    manifest = tmp_path / "probe.yaml"
    manifest.write_text(MANIFEST.format(extra=""))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{REPO_ROOT}", "ISVC_STATE_DIR": str(tmp_path / ".isvc")}
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.cli.main", "up", "--reload", "-f", str(manifest), "--port", str(port),
         "--grpc-port", "0", "--state", str(tmp_path / ".isvc" / "state.db")],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if answer(client)[0] == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"isvc up did not serve: {(tmp_path / 'up.log').read_text()[-3000:]}")
        yield client, package / "echo.py", manifest, tmp_path / "up.log"
    finally:
        client.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def wait_for(client: httpx.Client, word: str, timeout_s: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        code, body = answer(client)
        if code == 200 and body["predictions"] == [word]:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"never answered {word!r}; last {code} {body}")


def test_code_edits_reload_in_place_and_manifest_edits_make_a_revision(served: Any) -> None:
    client, module, manifest, log = served
    assert answer(client) == (200, {"predictions": ["first"]})
    failures: list[Any] = []
    answered: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
            while not stop.is_set():
                code, body = answer(own)
                answered.append(code)
                if code != 200:
                    failures.append((code, body))

    thread = threading.Thread(target=load)
    thread.start()
    try:
        module.write_text(MODULE.format(word="second"))
        wait_for(client, "second")
        status = client.get("/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/probe").json()
        assert status["status"]["components"]["predictor"]["latestCreatedRevision"] == "probe-predictor-00001"

        module.write_text("this is not python\n")  # a broken edit keeps the old code serving
        time.sleep(3)
        assert answer(client) == (200, {"predictions": ["second"]})

        module.write_text(MODULE.format(word="third"))
        wait_for(client, "third")
        manifest.write_text(MANIFEST.format(extra=', "--suffix=x"'))
        deadline = time.monotonic() + 60
        revision = ""
        while time.monotonic() < deadline and revision != "probe-predictor-00002":
            status = client.get("/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/probe").json()
            revision = status["status"]["components"]["predictor"]["latestCreatedRevision"]
            time.sleep(0.2)
        assert revision == "probe-predictor-00002"
        assert answer(client) == (200, {"predictions": ["third"]})
    finally:
        stop.set()
        thread.join(timeout=30)
    assert failures == [] and len(answered) > 20
    logs = subprocess.run(
        [sys.executable, "-m", "local.cli.main", "logs", "probe", "--component", "predictor",
         "--server", str(client.base_url)],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    assert "echo says third" in logs.stdout  # print() of the running replica
    output = log.read_text()
    assert "--reload: echo.py -> probe-predictor-00001 reloaded" in output
    assert "reload failed" in output or "SyntaxError" in output

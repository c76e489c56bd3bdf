"""compose.yaml brought up as a user would: requests answered through the transformer, events in PostgreSQL.

The stack runs the images this session built (``IMAGE_TAG=test``) and, where Docker Hub cannot be
reached, the PostgreSQL stand-in built from Debian's packages (docker/postgres) on the same local base.
Compose has no KServe agent sidecar, so the test posts each exchange's CloudEvents to the published sink
the way the agent does (local.logger's KServe-identical events), then reads them back with ``psql`` from
the database container: the sink stored them in PostgreSQL. ``down`` without ``-v`` then ``up`` again
must find them still there (the named volume).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from local.logger.events import EventContext, InferenceRecord
from local.processes import free_port
from tests.conftest import SETOSA, VIRGINICA, v2_feature_request
from tests.container import engine

pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]
REQUESTS = 10
SERVICES = ("predictor", "transformer", "sink", "postgres")


def compose_command() -> list[str]:
    if engine.docker("compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor docker-compose is installed")


@dataclass
class Stack:
    command: list[str]
    env: dict[str, str]
    url: str
    sink_url: str

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.command, *args], env=self.env, cwd=engine.REPO_ROOT, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"compose {' '.join(args)}: exit {result.returncode}\n{result.stderr[-3000:]}")
        return result

    def up(self) -> None:
        self.run("up", "--detach", "--no-build")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            health = self.health()
            if all(health.get(s) == "healthy" for s in SERVICES):
                return
            if any(state in {"unhealthy", "exited", "dead"} for state in health.values()):
                break
            time.sleep(1)
        raise RuntimeError(f"stack not healthy: {self.health()}\n{self.run('logs', '--tail=40').stdout[-4000:]}")

    def health(self) -> dict[str, str]:
        states = {}
        for service in SERVICES:
            ids = self.run("ps", "-q", service).stdout.split()
            if ids:
                state = json.loads(engine.docker("inspect", ids[0]).stdout)[0]["State"]
                states[service] = state.get("Health", {}).get("Status") if state["Running"] else state["Status"]
        return states

    def psql(self, query: str) -> str:
        return self.run("exec", "-T", "postgres", "psql", "-U", "isvc", "-d", "events", "-Atc", query).stdout


@pytest.fixture(scope="module")
def stack(images: dict[str, str], python_image: str) -> Iterator[Stack]:
    command = compose_command()
    postgres_image = os.environ.get("POSTGRES_IMAGE") or "postgres:15-bookworm"
    if python_image == engine.LOCAL_PYTHON and "POSTGRES_IMAGE" not in os.environ:
        postgres_image = engine.LOCAL_POSTGRES
        engine.build(
            "docker/postgres/Dockerfile",
            postgres_image,
            {"BASE_IMAGE": python_image},
            context=engine.REPO_ROOT / "docker" / "postgres",
        )
    http_port, sink_port = free_port(), free_port()
    env = os.environ | {
        "COMPOSE_PROJECT_NAME": f"isvc-test-{uuid.uuid4().hex[:8]}",
        "IMAGE_TAG": engine.TEST_TAG,
        "PYTHON_IMAGE": python_image,
        "POSTGRES_IMAGE": postgres_image,
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "ISVC_HTTP_PORT": str(http_port),
        "ISVC_SINK_PORT": str(sink_port),
    }
    stack = Stack(command, env, f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{sink_port}")
    try:
        stack.up()
        yield stack
    finally:
        stack.run("down", "--volumes", "--remove-orphans", "--timeout=10", timeout=120)


def test_compose_stack_answers_and_stores_events_in_postgres(stack: Stack) -> None:
    context = EventContext("iris", "default", "transformer")
    sent: list[tuple[str, bytes, bytes]] = []
    with httpx.Client(timeout=10) as http:
        for i in range(REQUESTS):
            sample = [SETOSA, VIRGINICA][i % 2]
            if i % 2:
                path, body = "/v2/models/iris/infer", json.dumps(v2_feature_request([sample])).encode()
            else:
                path, body = "/v1/models/iris:predict", json.dumps({"instances": [sample]}).encode()
            headers = {"content-type": "application/json", "ce-id": f"compose-{i}"}
            response = http.post(stack.url + path, content=body, headers=headers)
            assert response.status_code == 200, response.text
            assert ("setosa" if i % 2 == 0 else "virginica") in response.text
            # what KServe's agent sidecar posts for this exchange
            record = InferenceRecord.from_request(context, headers)
            for event in (record.request_event(body), record.response_event(response.content)):
                stored = http.post(stack.sink_url + "/", content=event.body, headers=event.headers)
                assert stored.status_code in (200, 202, 204), stored.text
            sent.append((record.event_id, body, response.content))

    def stored_events() -> list[str]:
        return stack.psql(
            "select id || ' ' || type || ' ' || component || ' ' || encode(body, 'hex') from events order by seq"
        ).split()

    rows = stack.psql("select type, count(*) from events group by type order by type").splitlines()
    assert rows == [
        f"org.kubeflow.serving.inference.request|{REQUESTS}",
        f"org.kubeflow.serving.inference.response|{REQUESTS}",
    ]
    events = stored_events()
    for event_id, request, response in sent:
        assert event_id in events
        assert request.hex() in events and response.hex() in events
    assert stack.psql("select count(distinct component) from events") == "1\n"

    # the database outlives its containers: down (keeping volumes) and up again
    stack.run("down", "--timeout=10", timeout=120)
    stack.up()
    assert stored_events() == events
    answer = httpx.post(stack.url + "/v1/models/iris:predict", json={"instances": [SETOSA]}, timeout=10)
    assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] == "setosa"


def test_only_loopback_is_published(stack: Stack) -> None:
    published = {}
    for service in SERVICES:
        ids = stack.run("ps", "-q", service).stdout.split()
        ports = json.loads(engine.docker("inspect", ids[0]).stdout)[0]["NetworkSettings"]["Ports"]
        published[service] = [b for entries in ports.values() if entries for b in entries]
    assert not published["predictor"] and not published["postgres"], published
    for service in ("transformer", "sink"):
        assert published[service] and all(b["HostIp"] == "127.0.0.1" for b in published[service])

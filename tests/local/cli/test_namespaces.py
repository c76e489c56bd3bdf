"""``-n`` and ``-A`` on get, delete, rollout and events, as kubectl has them (a gateway over a fake Serve)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from kserve.model_repository import ModelRepository

from local.cli.main import main
from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.processes import free_port
from local.sink.query import REQUEST_TYPE
from local.sink.store import EventRow, EventStore
from tests.local.gateway.test_controller_records import FakeServe
from tests.local.gateway.test_isvc_api import iris_object, path


@pytest.fixture
def server() -> Iterator[str]:
    controller = Controller(FakeServe(), ModelRepository(), "http://127.0.0.1:8080")
    port = free_port()
    instance = uvicorn.Server(
        uvicorn.Config(build_gateway_app(controller), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    for namespace, name in (("team-a", "iris"), ("team-b", "wine")):
        document = iris_object(namespace, name)
        assert httpx.post(url + path(namespace), json=document, timeout=30).status_code == 201
    yield url
    instance.should_exit = True
    thread.join(timeout=10)


def test_get_by_namespace_and_across_all(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "--server", server, "-n", "team-a", "-o", "json"]) == 0
    assert [i["metadata"]["name"] for i in json.loads(capsys.readouterr().out)["items"]] == ["iris"]
    assert main(["get", "--server", server, "-A"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert sorted(line.split()[:2] for line in lines[1:]) == [["team-a", "iris"], ["team-b", "wine"]]
    assert main(["get", "--server", server, "-n", "team-c"]) == 0
    assert capsys.readouterr().out.strip() == "No InferenceServices found in team-c namespace."
    assert main(["get", "wine", "--server", server, "-n", "team-a"]) == 1
    assert 'inferenceservices.serving.kserve.io "wine" not found' in capsys.readouterr().err
    with pytest.raises(SystemExit, match="across all namespaces"):
        main(["get", "iris", "--server", server, "-A"])


def test_rollout_honours_the_namespace(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollout", "history", "iris", "--server", server, "-n", "team-b"]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["rollout", "history", "iris", "--server", server, "-n", "team-a", "-o", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert {entry["name"] for entry in history} == {"iris-predictor-00001", "iris-transformer-00001"}


def test_delete_by_namespace_and_all(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delete", "iris", "--server", server, "-n", "team-b"]) == 1
    capsys.readouterr()
    assert main(["delete", "--all", "--server", server, "-n", "team-b"]) == 0
    assert capsys.readouterr().out.strip() == 'inferenceservice "wine" deleted'
    assert [i["metadata"]["name"] for i in httpx.get(server + path("_all")).json()["items"]] == ["iris"]
    with pytest.raises(SystemExit, match="NAME or --all"):
        main(["delete", "--server", server])
    assert main(["delete", "--all", "-A", "--server", server]) == 0
    assert httpx.get(server + path("_all")).json()["items"] == []


def test_events_by_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = EventStore(url)
    now = datetime.now(UTC)
    store.insert_many(
        [
            EventRow(
                id=f"{namespace}-1",
                type=REQUEST_TYPE,
                source="iris-predictor",
                time=now,
                received_at=now,
                inferenceservicename="iris",
                namespace=namespace,
                component="predictor",
                endpoint="default",
                metadata="{}",
                content_type="application/json",
                extensions=None,
                body=b"{}",
            )
            for namespace in ("team-a", "team-b")
        ]
    )
    store.dispose()
    assert main(["events", "iris", "--db", url, "-o", "json", "-n", "team-a"]) == 0
    assert [pair["id"] for pair in json.loads(capsys.readouterr().out)] == ["team-a-1"]
    assert main(["events", "iris", "--db", url, "-o", "json", "-A"]) == 0
    assert sorted(pair["id"] for pair in json.loads(capsys.readouterr().out)) == ["team-a-1", "team-b-1"]
    with pytest.raises(SystemExit, match="exclude each other"):
        main(["events", "iris", "--db", url, "-n", "team-a", "-A"])

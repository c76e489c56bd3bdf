"""The same service name in two namespaces has its own Prometheus series: the ``namespace`` label.

Without Ray: the real gateway app and controller over a fake Serve (``test_namespaces.AnsweringServe``)
whose application answers each request with the status the test asks for, so both the success and the
error series are recorded. Both namespaces deploy the same revision names (revision names are unique
per namespace only), so only ``namespace`` tells their series apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from local.gateway import metrics
from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.spec import parse_inference_service
from tests.local.gateway.test_isvc_api import iris_object, path
from tests.local.gateway.test_namespaces import AnsweringServe

NAME = "metrics-ns"  # a name of this module's own: the counters are process-wide
INFER = f"/v2/models/{NAME}/infer"
BODY = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
REVISIONS = {"transformer": f"{NAME}-transformer-00001", "predictor": f"{NAME}-predictor-00001"}
STATUS_HEADER = "x-test-status"


class StatusApp:
    """A Serve application that answers with the status of the request's ``x-test-status`` (200 without)."""

    async def infer_rest(
        self, protocol: str, model: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        status = int(headers.get(STATUS_HEADER, "200"))
        return status, b"{}", {"content-type": "application/json"}

    async def metadata(self) -> dict[str, Any]:
        return {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}], "outputs": []}


class StatusServe(AnsweringServe):
    def client(self, app_name: str) -> Any:
        assert app_name in self.apps, f"{app_name} is not deployed"
        return StatusApp()


def fake_serve() -> Any:
    """A ``StatusServe`` typed as the controller's runtime (it implements the part the controller uses)."""
    return StatusServe()


@pytest.fixture
def gateway() -> Iterator[tuple[TestClient, Controller]]:
    before = list(metrics._GATEWAY.controllers)  # the collector is process-wide: leave it as found
    controller = Controller(fake_serve(), ModelRepository(), "http://127.0.0.1:8080")
    try:
        with TestClient(build_gateway_app(controller)) as client:
            yield client, controller
    finally:
        metrics._GATEWAY.controllers = before


def sample(name: str, namespace: str, component: str, **labels: str) -> float:
    """A sample of this module's service from the process registry (0 when the series does not exist)."""
    labels = {"inferenceservice": NAME, "namespace": namespace, "component": component, **labels}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def request_samples(namespace: str) -> dict[str, float]:
    """Every request-path sample of one namespace's service, per component."""
    out = {}
    for component, revision in REVISIONS.items():
        for code in ("200", "503"):
            out[f"requests {component} {code}"] = sample(
                "isvc_requests_total", namespace, component, revision=revision, code=code
            )
            out[f"errors {component} {code}"] = sample(
                "isvc_request_errors_total", namespace, component, revision=revision, code=code
            )
        out[f"latency {component}"] = sample(
            "isvc_request_duration_seconds_count", namespace, component, revision=revision
        )
    return out


def scraped(client: TestClient, family: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``family``'s samples of this module's service at /metrics, keyed by their sorted label items."""
    text = client.get("/metrics").text
    return {
        tuple(sorted(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        if f.name == family
        for s in f.samples
        if s.labels.get("inferenceservice") == NAME
    }


def test_two_namespaces_with_one_name_have_distinct_series(gateway: tuple[TestClient, Controller]) -> None:
    client, _ = gateway
    for namespace in ("team-a", "team-b"):
        created = client.post(path(namespace), json=iris_object(namespace, NAME))
        assert created.status_code == 201, created.text
        components = created.json()["status"]["components"]
        assert {c: components[c]["latestReadyRevision"] for c in REVISIONS} == REVISIONS  # the same names

    before = {namespace: request_samples(namespace) for namespace in ("team-a", "team-b")}
    for _ in range(3):
        answer = client.post(INFER, json=BODY, headers={"host": f"{NAME}.team-a"})
        assert answer.status_code == 200, answer.text
    answer = client.post(INFER, json=BODY, headers={"x-isvc-namespace": "team-b"})
    assert answer.status_code == 200, answer.text
    for _ in range(2):
        failed = client.post(INFER, json=BODY, headers={"x-isvc-namespace": "team-b", STATUS_HEADER: "503"})
        assert failed.status_code == 503, failed.text

    grew = {
        namespace: {key: value - before[namespace][key] for key, value in request_samples(namespace).items()}
        for namespace in ("team-a", "team-b")
    }
    for component in REVISIONS:  # each request is counted once per component it went through
        assert grew["team-a"][f"requests {component} 200"] == 3
        assert grew["team-a"][f"requests {component} 503"] == 0
        assert grew["team-a"][f"errors {component} 503"] == 0
        assert grew["team-a"][f"latency {component}"] == 3
        assert grew["team-b"][f"requests {component} 200"] == 1
        assert grew["team-b"][f"requests {component} 503"] == 2
        assert grew["team-b"][f"errors {component} 503"] == 2
        assert grew["team-b"][f"latency {component}"] == 3

    # The exposition carries the label too, right where the dashboard and the console read it.
    requests = scraped(client, "isvc_requests")
    for namespace, count in (("team-a", 3.0), ("team-b", 1.0)):
        key = (
            ("code", "200"),
            ("component", "predictor"),
            ("inferenceservice", NAME),
            ("namespace", namespace),
            ("revision", REVISIONS["predictor"]),
        )
        assert requests[key] >= count  # at least this test's requests (the registry is process-wide)

    # Replicas, read at scrape time: one series per namespace for the same revision names.
    expected = {
        (("component", c), ("inferenceservice", NAME), ("namespace", ns), ("revision", r)): 1.0
        for ns in ("team-a", "team-b")
        for c, r in REVISIONS.items()
    }
    deadline = time.monotonic() + 10  # the status snapshot is refreshed by a thread, every second
    while (replicas := scraped(client, "isvc_replicas")) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert replicas == expected


def test_logger_counters_of_two_namespaces_are_distinct_series() -> None:
    """The loggers' counters are read from each record at scrape time, labelled by its namespace."""
    controller = Controller(fake_serve(), ModelRepository(), "http://127.0.0.1:8080")
    for namespace in ("team-a", "team-b"):
        document = iris_object(namespace, NAME)
        document["spec"]["transformer"]["logger"] = {"mode": "all", "url": f"http://{namespace}-sink.example/"}
        controller.apply(parse_inference_service(yaml.safe_load(yaml.safe_dump(document))))
    for namespace, count in (("team-a", 3), ("team-b", 1)):
        logger = controller.get(NAME, namespace).logger
        assert logger is not None
        for _ in range(count):
            logger.log_request({}, b"{}")  # queued (no loop delivers here): counted as produced

    collector = metrics._GatewayCollector()
    collector.controllers = [controller]
    events = {
        (s.labels["namespace"], s.labels["outcome"]): s.value
        for family in collector.collect()
        if family.name == "isvc_logger_events"
        for s in family.samples
        if s.name == "isvc_logger_events_total"
    }
    assert events[("team-a", "produced")] == 3 and events[("team-b", "produced")] == 1
    assert {ns for ns, _ in events} == {"team-a", "team-b"}
    assert all(value == 0 for (_, outcome), value in events.items() if outcome != "produced")

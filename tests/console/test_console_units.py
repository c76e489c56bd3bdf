"""The console's pure parts (unit tier): rates and p99 from /metrics scrapes, the "try it" form, the views,
the HTML's escaping, and the sink's read endpoint it relies on."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from local.console import render
from local.console.metrics import MetricsHistory, in_overflow, parse_scrape, quantile
from local.console.views import (
    FormError,
    form_inputs,
    infer_request,
    model_name_of,
    replicas_from_scrape,
    service_view,
)
from local.sink.app import create_app
from local.sink.store import EventStore


def series_lines(
    requests: float, errors: float, buckets: dict[str, float], replicas: int = 1, namespace: str = "isvc-kit"
) -> list[str]:
    """The kit's series of iris-predictor-00002 of ``iris`` in ``namespace``, as the gateway exposes them."""
    key = f'inferenceservice="iris",namespace="{namespace}",component="predictor",revision="iris-predictor-00002"'
    return [
        "# TYPE isvc_requests_total counter",
        f'isvc_requests_total{{{key},code="200"}} {requests - errors}',
        f'isvc_requests_total{{{key},code="500"}} {errors}',
        "# TYPE isvc_request_errors_total counter",
        f'isvc_request_errors_total{{{key},code="500"}} {errors}',
        "# TYPE isvc_request_duration_seconds histogram",
        *(f'isvc_request_duration_seconds_bucket{{{key},le="{le}"}} {n}' for le, n in buckets.items()),
        f"isvc_request_duration_seconds_count{{{key}}} {requests}",
        "# TYPE isvc_replicas gauge",
        f"isvc_replicas{{{key}}} {replicas}",
    ]


def scrape_text(requests: float, errors: float, buckets: dict[str, float], replicas: int = 1) -> str:
    return "\n".join(series_lines(requests, errors, buckets, replicas)) + "\n"


def test_quantile_interpolates_inside_the_bucket_like_prometheus() -> None:
    # 100 observations: 50 <= 10 ms, 100 <= 20 ms; the 99th is 98% of the way through (10, 20].
    assert quantile(0.99, {0.01: 50, 0.02: 100, math.inf: 100}) == pytest.approx(0.0198)
    assert quantile(0.5, {0.01: 50, 0.02: 100, math.inf: 100}) == pytest.approx(0.01)
    assert quantile(0.99, {0.01: 0, math.inf: 0}) is None
    # beyond the last finite bound: Prometheus answers that bound, and the console says "more than"
    assert quantile(0.99, {0.01: 10, math.inf: 100}) == pytest.approx(0.01)
    assert in_overflow(0.99, {0.01: 10, math.inf: 100})
    assert not in_overflow(0.99, {0.01: 50, 0.02: 100, math.inf: 100})


def test_rates_error_rate_and_p99_come_from_the_window_not_the_totals() -> None:
    history = MetricsHistory(window_s=60)
    history.add(parse_scrape(scrape_text(1000, 0, {"0.01": 1000, "0.02": 1000, "+Inf": 1000}), at=0.0))
    history.add(parse_scrape(scrape_text(1100, 10, {"0.01": 1000, "0.02": 1100, "+Inf": 1100}, 2), at=10.0))
    [stats] = history.stats("iris")
    assert stats.revision == "iris-predictor-00002" and stats.component == "predictor"
    assert stats.rps == pytest.approx(10.0)
    assert stats.error_rate == pytest.approx(0.1)
    assert (
        stats.p99_ms is not None and 10.0 < stats.p99_ms <= 20.0
    )  # all 100 new requests took 10-20 ms; the old fast ones are out
    assert stats.requests == 1100 and stats.replicas == 2
    assert stats.namespace == "isvc-kit"
    assert history.stats("other") == []
    assert history.stats("iris", "team-a") == []


def two_namespaces(requests_a: float, requests_b: float) -> str:
    """One scrape holding ``iris`` of namespaces team-a and team-b, with the same revision names."""
    a = series_lines(requests_a, 0, {"0.01": requests_a, "+Inf": requests_a}, 1, "team-a")
    b = series_lines(requests_b, requests_b / 2, {"0.01": 0, "+Inf": requests_b}, 3, "team-b")
    families: dict[str, list[str]] = {}
    for line in a + b:  # the exposition groups a family's samples under one TYPE line
        if line.startswith("# TYPE"):
            current = families.setdefault(line, [])
        else:
            current.append(line)
    return "\n".join(line for head, samples in families.items() for line in (head, *samples)) + "\n"


def test_one_name_in_two_namespaces_keeps_two_sets_of_figures() -> None:
    history = MetricsHistory(window_s=60)
    history.add(parse_scrape(two_namespaces(100, 10), at=0.0))
    history.add(parse_scrape(two_namespaces(200, 30), at=10.0))
    both = history.stats("iris")
    assert [(s.namespace, s.revision) for s in both] == [
        ("team-a", "iris-predictor-00002"),
        ("team-b", "iris-predictor-00002"),
    ]
    [a] = history.stats("iris", "team-a")
    [b] = history.stats("iris", "team-b")
    assert (a.rps, a.error_rate, a.replicas, a.requests) == (pytest.approx(10.0), 0.0, 1, 200)
    assert (b.rps, b.error_rate, b.replicas, b.requests) == (pytest.approx(2.0), pytest.approx(0.5), 3, 30)
    assert a.p99_ms is not None and a.p99_ms <= 10.0 and b.p99_beyond
    assert history.replicas("iris", "team-b") == {"iris-predictor-00002": 3}
    scrape = history.scrapes[-1]
    team_a = {"metadata": {"name": "iris", "namespace": "team-a"}}
    assert replicas_from_scrape(scrape, team_a) == {"iris-predictor-00002": 1}
    assert replicas_from_scrape(scrape, {"metadata": {"name": "iris"}}) == {}  # "default" has no iris here


def test_a_single_scrape_has_no_rate_yet_and_old_scrapes_leave_the_window() -> None:
    history = MetricsHistory(window_s=60, keep_s=120)
    history.add(parse_scrape(scrape_text(5, 0, {"+Inf": 5}), at=0.0))
    assert history.stats()[0].rps is None
    history.add(parse_scrape(scrape_text(5, 0, {"+Inf": 5}), at=200.0))
    assert len(history.scrapes) == 1  # the first is older than keep_s


IRIS_METADATA = {
    "name": "iris",
    "inputs": [
        {"name": "sepal_length", "datatype": "FP32", "shape": [-1]},
        {"name": "sepal_width", "datatype": "FP32", "shape": [-1]},
        {"name": "petal_length", "datatype": "FP32", "shape": [-1]},
        {"name": "petal_width", "datatype": "FP32", "shape": [-1]},
    ],
}


def test_form_fields_come_from_the_v2_metadata_and_make_a_v2_request() -> None:
    inputs = form_inputs(IRIS_METADATA)
    assert [i.name for i in inputs] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert inputs[0].default == "5.1"  # the kit's sample iris request
    fields = {f"input.{i.name}": i.default for i in inputs} | {"input.petal_width": "0.2, 2.3"}
    with pytest.raises(FormError, match="sepal_length"):
        infer_request(inputs, {**fields, "input.sepal_length": "abc"})
    fields = {f"input.{i.name}": "1.5, 2" for i in inputs}
    body = infer_request(inputs, fields)
    assert body["inputs"][0] == {"name": "sepal_length", "shape": [2], "datatype": "FP32", "data": [1.5, 2.0]}


def test_fixed_shapes_are_checked() -> None:
    [matrix] = form_inputs({"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]})
    assert infer_request([matrix], {"input.input-0": "1,2,3,4,5,6,7,8"})["inputs"][0]["shape"] == [2, 4]
    with pytest.raises(FormError, match="do not fit"):
        infer_request([matrix], {"input.input-0": "1,2,3"})
    [ints] = form_inputs({"inputs": [{"name": "n", "datatype": "INT64", "shape": [2]}]})
    assert infer_request([ints], {"input.n": "3, 4"})["inputs"][0]["data"] == [3, 4]
    with pytest.raises(FormError, match="needs 2 values"):
        infer_request([ints], {"input.n": "3"})


def resource(percent: int | None = 30) -> dict[str, Any]:
    traffic = [
        {"revisionName": "iris-predictor-00002", "percent": 30, "tag": "latest", "latestRevision": True},
        {"revisionName": "iris-predictor-00001", "percent": 70, "tag": "prev", "latestRevision": False},
    ]
    return {
        "metadata": {"name": "iris", "namespace": "isvc-kit"},
        "spec": {"predictor": {"canaryTrafficPercent": percent, "containers": [{"args": ["--model_name=flower"]}]}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "components": {
                "predictor": {
                    "latestCreatedRevision": "iris-predictor-00002",
                    "latestReadyRevision": "iris-predictor-00002",
                    "latestRolledoutRevision": "iris-predictor-00001",
                    "traffic": traffic,
                }
            },
        },
    }


def revision(name: str, generation: int, actual: int | None = None) -> dict[str, Any]:
    labels = {"component": "predictor", "serving.knative.dev/configurationGeneration": str(generation)}
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True"}]}
    if actual is not None:
        status["actualReplicas"] = actual
    return {"metadata": {"name": name, "labels": labels}, "status": status}


def test_service_view_joins_status_revisions_and_replicas() -> None:
    revisions = {"items": [revision("iris-predictor-00001", 1), revision("iris-predictor-00002", 2)]}
    view = service_view(resource(), revisions, {"iris-predictor-00001": 0, "iris-predictor-00002": 1})
    assert view.model_name == "flower" == model_name_of(resource())
    [predictor] = view.components
    assert predictor.canary_percent == 30
    rows = {r.info.name: (r.info.traffic_percent, r.info.tag, r.replicas) for r in predictor.revisions}
    assert rows == {"iris-predictor-00001": (70, "prev", 0), "iris-predictor-00002": (30, "latest", 1)}
    html = render.status_panel(view)
    assert 'class="num replicas zero"' in html  # the scaled-to-zero revision is marked
    assert 'style="width:30%"' in html and 'style="width:70%"' in html


def test_values_from_outside_are_escaped() -> None:
    events = [{"id": "<script>x</script>", "component": "predictor", "status": "ok", "request": {"body": "<b>"}}]
    html = render.events_panel("default", "iris", events)
    assert "<script>x" not in html and "&lt;script&gt;x" in html and "&lt;b&gt;" in html


def binary_headers(event_id: str, ce_type: str = "org.kubeflow.serving.inference.request") -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": "iris-predictor-00001",
        "ce-type": ce_type,
        "ce-time": "2026-01-02T03:04:05.000000Z",
        "ce-inferenceservicename": "iris",
        "ce-component": "predictor",
        "content-type": "application/json",
    }


def test_sink_read_endpoint_answers_pairs_and_rejects_bad_queries(tmp_path: Any) -> None:
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        with TestClient(create_app(store)) as client:
            assert client.post("/", content=b'{"a": 1}', headers=binary_headers("e-1")).status_code == 200
            response_type = "org.kubeflow.serving.inference.response"
            assert (
                client.post("/", content=b'{"b": 2}', headers=binary_headers("e-1", response_type)).status_code == 200
            )
            answer = client.get("/events", params={"name": "iris"})
            assert answer.status_code == 200
            [pair] = answer.json()
            assert pair["id"] == "e-1" and pair["status"] == "ok"
            assert pair["request"]["body"] == '{"a": 1}' and pair["response"]["body"] == '{"b": 2}'
            assert client.get("/events", params={"name": "other"}).json() == []
            assert client.get("/events").status_code == 400
            assert "limit" in client.get("/events", params={"name": "iris", "limit": "0"}).json()["error"]
            assert client.get("/events", params={"name": "iris", "since": "2999-01-01T00:00:00Z"}).json() == []
    finally:
        store.dispose()


def test_an_event_is_redrawn_when_its_response_arrives_and_kept_open_otherwise() -> None:
    pending = {"id": "e-1", "component": "predictor", "status": "missing response", "request": {"body": "{}"}}
    done = pending | {"status": "ok", "response": {"body": "{}"}}

    def element_id(html: str) -> str:
        match = re.search(r'<details id="([^"]+)" hx-preserve="true">', html)
        assert match, html
        return match.group(1)

    assert element_id(render.events_panel("default", "iris", [pending])) != element_id(
        render.events_panel("default", "iris", [done])
    )
    assert element_id(render.events_panel("default", "iris", [done])) == element_id(
        render.events_panel("default", "iris", [dict(done)])
    )

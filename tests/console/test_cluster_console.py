"""The console's cluster backend against a fake ``CustomObjectsApi`` (unit tier): what it reads and the
exact merge patches it sends, the ones ``isvc rollout --cluster`` sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from local.console.cluster import ClusterBackend, ConsoleClusterClient
from local.console.render import service_url
from local.console.routes import console_app

ISVC: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {"name": "iris", "namespace": "isvc-kit"},
    "spec": {
        "predictor": {"canaryTrafficPercent": 20, "containers": [{"args": ["--model_name=iris"]}]},
    },
    "status": {
        "url": "http://iris.isvc-kit.example.com",
        "address": {"url": "http://iris-predictor.isvc-kit.svc.cluster.local"},
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "PredictorReady", "status": "True"}],
        "components": {
            "predictor": {
                "latestCreatedRevision": "iris-predictor-00002",
                "latestReadyRevision": "iris-predictor-00002",
                "latestRolledoutRevision": "iris-predictor-00001",
                "traffic": [
                    {"revisionName": "iris-predictor-00002", "percent": 20, "tag": "latest", "latestRevision": True},
                    {"revisionName": "iris-predictor-00001", "percent": 80, "tag": "prev", "latestRevision": False},
                ],
            }
        },
    },
}


def _revision(name: str, generation: int, replicas: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": f"2026-12-01T10:0{generation}:00Z",
            "labels": {"component": "predictor", "serving.knative.dev/configurationGeneration": str(generation)},
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "actualReplicas": replicas},
    }


class FakeApi:
    """The four CustomObjectsApi calls the console may make; anything else fails the test."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, dict[str, Any], str | None]] = []

    def list_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, **kw: Any) -> Any:
        assert namespace == "isvc-kit"
        if plural == "inferenceservices":
            return {"items": [copy.deepcopy(ISVC)]}
        assert (group, plural) == ("serving.knative.dev", "revisions")
        assert kw["label_selector"] == "serving.kserve.io/inferenceservice=iris"
        return {"items": [_revision("iris-predictor-00001", 1, 0), _revision("iris-predictor-00002", 2, 1)]}

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> Any:
        assert (group, plural, name) == ("serving.kserve.io", "inferenceservices", "iris")
        return copy.deepcopy(ISVC)

    def patch_namespaced_custom_object(self, *args: Any, _content_type: str | None = None) -> Any:
        group, _version, namespace, plural, name, body = args
        assert (group, namespace, plural) == ("serving.kserve.io", "isvc-kit", "inferenceservices")
        self.patches.append((name, body, _content_type))
        return copy.deepcopy(ISVC)


@pytest.fixture
def cluster() -> Any:
    api = FakeApi()
    backend = ClusterBackend(ConsoleClusterClient("isvc-kit", api=api), "http://isvc-sink.invalid")
    with TestClient(console_app(backend)) as client:
        yield client, api


def test_lists_services_with_revisions_and_their_replicas(cluster: Any) -> None:
    client, _ = cluster
    index = client.get("/console")
    assert index.status_code == 200
    assert "iris-predictor-00001 80%, iris-predictor-00002 20%" in index.text
    assert '<td class="namespace">isvc-kit</td>' in index.text
    assert f'href="{service_url("isvc-kit", "iris")}"' in index.text  # /console/namespaces/isvc-kit/services/iris
    page = client.get(service_url("isvc-kit", "iris"))
    assert page.status_code == 200
    assert 'data-revision="iris-predictor-00001"' in page.text and "2026-12-01T10:01:00Z" in page.text
    assert 'class="num replicas zero"' in page.text  # 00001: actualReplicas 0
    assert "per-revision rates come from Prometheus" in page.text
    assert "is unreachable" in page.text  # the sink (and the model) are not there: said, not a 500
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("form", "patch"),
    [
        ({"action": "canary", "percent": "30"}, {"spec": {"predictor": {"canaryTrafficPercent": 30}}}),
        ({"action": "promote", "percent": "30"}, {"spec": {"predictor": {"canaryTrafficPercent": None}}}),
        ({"action": "rollback", "percent": "30"}, {"spec": {"predictor": {"canaryTrafficPercent": 0}}}),
    ],
)
def test_rollout_actions_send_the_clis_merge_patches(cluster: Any, form: dict[str, str], patch: Any) -> None:
    client, api = cluster
    answer = client.post(
        service_url("isvc-kit", "iris", "/rollout"),
        data=form | {"component": "predictor"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200 and "done" in answer.text
    assert answer.headers["hx-trigger"] == "isvc-changed"
    assert api.patches == [("iris", patch, "application/merge-patch+json")]


def test_a_component_the_service_lacks_is_refused_before_any_patch(cluster: Any) -> None:
    client, api = cluster
    answer = client.post(
        service_url("isvc-kit", "iris", "/rollout"), data={"action": "promote", "component": "transformer"}
    )
    assert answer.status_code == 404
    assert "has no transformer" in answer.text
    assert api.patches == []


def test_a_name_only_url_is_the_consoles_namespace_and_other_namespaces_are_out_of_reach(cluster: Any) -> None:
    client, api = cluster
    moved = client.get("/console/services/iris", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == service_url("isvc-kit", "iris")
    assert client.get("/console/services/iris").status_code == 200
    # a form posted to the old URL is carried over (307 keeps the POST and its body)
    answer = client.post("/console/services/iris/rollout", data={"action": "rollback", "component": "predictor"})
    assert answer.status_code == 200 and "rollback on predictor: done" in answer.text
    assert api.patches == [
        ("iris", {"spec": {"predictor": {"canaryTrafficPercent": 0}}}, "application/merge-patch+json")
    ]
    # another namespace: 404 saying which one it reads, and nothing asked of the API (FakeApi asserts isvc-kit)
    other = client.get(service_url("team-a", "iris"))
    assert other.status_code == 404
    assert "reads namespace &#x27;isvc-kit&#x27; only" in other.text
    refused = client.post(service_url("team-a", "iris", "/rollout"), data={"action": "promote"})
    assert refused.status_code == 404 and len(api.patches) == 1
    assert "reads namespace" in client.get(service_url("team-a", "iris", "/events")).text

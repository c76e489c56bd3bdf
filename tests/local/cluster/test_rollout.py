"""Unit tests for local.cluster: request bodies, parsing of real-shaped KServe/Knative objects, and the
requests ClusterClient builds (against a fake CustomObjectsApi). No cluster, no sockets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.cluster.client import MERGE_PATCH, ClusterClient, load_api
from local.cluster.rollout import (
    HISTORY_HEADERS,
    PHASE_CANARY,
    PHASE_PENDING,
    PHASE_PROGRESSING,
    PHASE_ROLLED_BACK,
    PHASE_STABLE,
    STATUS_HEADERS,
    RolloutStatus,
    TrafficEntry,
    canary_applied,
    canary_patch,
    history_from_status,
    promote_patch,
    promoted,
    require_component,
    revision_history,
    rollback_patch,
    rolled_back,
    status_rows,
    validate_percent,
)
from local.errors import ConflictError, IsvcError, NotFoundError, SpecError

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / name).read_text())


@pytest.fixture
def canary() -> dict[str, Any]:
    return load("isvc_canary.yaml")


@pytest.fixture
def promoted_isvc() -> dict[str, Any]:
    return load("isvc_promoted.yaml")


def rolled_back_isvc(canary: dict[str, Any]) -> dict[str, Any]:
    """What KServe shows after canaryTrafficPercent: 0 on the canary fixture."""
    isvc = copy.deepcopy(canary)
    isvc["metadata"]["generation"] = isvc["status"]["observedGeneration"] = 3
    isvc["spec"]["predictor"]["canaryTrafficPercent"] = 0
    traffic = isvc["status"]["components"]["predictor"]["traffic"]
    traffic[0]["percent"], traffic[1]["percent"] = 0, 100
    return isvc


# ------------------------------------------------------------------ request bodies


def test_canary_patch_is_an_exact_merge_patch() -> None:
    assert canary_patch("predictor", 20) == {"spec": {"predictor": {"canaryTrafficPercent": 20}}}
    assert canary_patch("transformer", "35") == {"spec": {"transformer": {"canaryTrafficPercent": 35}}}
    assert canary_patch("predictor", 0) == {"spec": {"predictor": {"canaryTrafficPercent": 0}}}
    assert canary_patch("predictor", 100) == {"spec": {"predictor": {"canaryTrafficPercent": 100}}}


def test_promote_removes_the_field_and_rollback_pins_zero() -> None:
    body = promote_patch("predictor")
    assert body == {"spec": {"predictor": {"canaryTrafficPercent": None}}}
    assert json.dumps(body) == '{"spec": {"predictor": {"canaryTrafficPercent": null}}}'  # null deletes (RFC 7386)
    assert rollback_patch("transformer") == {"spec": {"transformer": {"canaryTrafficPercent": 0}}}


@pytest.mark.parametrize("bad", [-1, 101, 1000, "ten", "", 12.5, None, True])
def test_percent_outside_0_to_100_is_a_clear_spec_error(bad: Any) -> None:
    with pytest.raises(SpecError, match="integer from 0 to 100"):
        canary_patch("predictor", bad)
    with pytest.raises(SpecError, match="integer from 0 to 100"):
        validate_percent(bad)


def test_unknown_component_is_rejected() -> None:
    with pytest.raises(SpecError, match="component must be one of predictor, transformer, explainer"):
        canary_patch("router", 10)
    with pytest.raises(SpecError):
        promote_patch("Predictor")


def test_require_component_refuses_to_invent_one(canary: dict[str, Any]) -> None:
    require_component(canary, "predictor")
    with pytest.raises(NotFoundError, match="'iris' has no explainer \\(components: predictor, transformer\\)"):
        require_component(canary, "explainer")


# ------------------------------------------------------------------ parsing KServe status


def test_parse_mid_canary(canary: dict[str, Any]) -> None:
    status = RolloutStatus.parse(canary)
    assert (status.name, status.namespace, status.url) == ("iris", "isvc-kit", "http://iris-isvc-kit.example.com")
    assert status.ready is True and status.up_to_date
    assert list(status.components) == ["predictor", "transformer"]
    p = status.component("predictor")
    assert p.latest_created == p.latest_ready == "iris-predictor-00002"
    assert p.latest_rolled_out == "iris-predictor-00001"
    assert p.previous_rolled_out is None
    assert p.traffic == (
        TrafficEntry("iris-predictor-00002", 20, "latest", True, "http://latest-iris-predictor-isvc-kit.example.com"),
        TrafficEntry("iris-predictor-00001", 80, "prev", False, "http://prev-iris-predictor-isvc-kit.example.com"),
    )
    assert p.url == "http://iris-predictor-isvc-kit.example.com"
    assert p.canary_traffic_percent == 20 and p.ready is True and p.message is None
    assert p.phase == PHASE_CANARY and p.canary_revision == "iris-predictor-00002"
    assert (p.latest_percent, p.stable_percent) == (20, 80)
    assert p.tags_of("iris-predictor-00001") == ("prev",)
    t = status.component("transformer")
    assert (
        t.phase == PHASE_STABLE and t.canary_traffic_percent is None and t.percent_of("iris-transformer-00001") == 100
    )
    assert status.condition("PredictorRouteReady") is not None
    assert status.condition("IngressReady").last_transition_time == "2025-05-02T09:31:40Z"  # type: ignore[union-attr]


def test_parse_promoted(promoted_isvc: dict[str, Any]) -> None:
    p = RolloutStatus.parse(promoted_isvc).component("predictor")
    assert p.latest_rolled_out == "iris-predictor-00002"
    assert p.previous_rolled_out == "iris-predictor-00001"
    assert p.traffic == (
        TrafficEntry("iris-predictor-00002", 100, "latest", True, "http://latest-iris-predictor-isvc-kit.example.com"),
    )
    assert p.canary_traffic_percent is None and p.phase == PHASE_STABLE and p.canary_revision is None


def test_parse_rolled_back(canary: dict[str, Any]) -> None:
    p = RolloutStatus.parse(rolled_back_isvc(canary)).component("predictor")
    assert p.phase == PHASE_ROLLED_BACK
    assert p.percent_of(p.latest_rolled_out) == 100 and p.percent_of(p.latest_ready) == 0


def test_status_rows_for_the_table(canary: dict[str, Any]) -> None:
    rows = status_rows(RolloutStatus.parse(canary))
    assert len(STATUS_HEADERS) == len(rows[0])
    assert rows == [
        ("predictor", "canary", "iris-predictor-00002", 20, "iris-predictor-00001", None, 20, "True"),
        ("transformer", "stable", "iris-transformer-00001", 100, "iris-transformer-00001", None, None, "True"),
    ]


def test_a_new_revision_not_yet_ready_is_progressing(promoted_isvc: dict[str, Any]) -> None:
    isvc = copy.deepcopy(promoted_isvc)
    isvc["status"]["components"]["predictor"]["latestCreatedRevision"] = "iris-predictor-00003"
    for condition in isvc["status"]["conditions"]:
        if condition["type"] in ("PredictorReady", "Ready"):
            condition |= {"status": "Unknown", "reason": "RevisionMissing"}
    status = RolloutStatus.parse(isvc)
    assert status.ready is None  # Unknown: still reconciling
    predictor = status.component("predictor")
    assert predictor.ready is None and predictor.message == "RevisionMissing"
    assert predictor.phase == PHASE_PROGRESSING


def test_a_freshly_created_isvc_without_status_is_pending() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[3] / "manifests" / "iris.yaml").read_text())
    status = RolloutStatus.parse(manifest)
    assert list(status.components) == ["predictor", "transformer"]
    assert all(c.phase == PHASE_PENDING for c in status.components.values())
    assert status.ready is None
    with pytest.raises(NotFoundError, match="has no explainer status"):
        status.component("explainer")


def test_stale_observed_generation_is_not_up_to_date(canary: dict[str, Any]) -> None:
    isvc = copy.deepcopy(canary)
    isvc["metadata"]["generation"] = 3
    status = RolloutStatus.parse(isvc)
    assert not status.up_to_date
    assert not canary_applied("predictor", 20)(status)


def local_runtime_status() -> dict[str, Any]:
    """The dict local.gateway.controller.Controller.status() returns mid-canary."""
    base = "http://127.0.0.1:8080"
    return {
        "url": base,
        "address": {"url": f"{base}/v2/models/iris/infer"},
        "components": {
            "predictor": {
                "latestCreatedRevision": "iris-predictor-00002",
                "latestReadyRevision": "iris-predictor-00002",
                "latestRolledoutRevision": "iris-predictor-00001",
                "previousRolledoutRevision": None,
                "traffic": [
                    {"revisionName": "iris-predictor-00002", "percent": 20, "latestRevision": True, "tag": "latest"},
                    {"revisionName": "iris-predictor-00001", "percent": 80, "latestRevision": False, "tag": "prev"},
                ],
                "url": f"{base}/v2/models/iris",
            },
            "transformer": {
                "latestCreatedRevision": "iris-transformer-00001",
                "latestReadyRevision": "iris-transformer-00001",
                "latestRolledoutRevision": "iris-transformer-00001",
                "previousRolledoutRevision": None,
                "traffic": [{"revisionName": "iris-transformer-00001", "percent": 100, "latestRevision": True}],
                "url": f"{base}/v2/models/iris",
            },
        },
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "TransformerReady", "status": "True"},
            {"type": "PredictorReady", "status": "True"},
        ],
        "modelStatus": {"states": {"activeModelState": "Loaded"}},
        "localRuntime": {"replicas": {"predictor": 2, "transformer": 1}, "modelName": "iris", "warnings": []},
    }


def test_the_same_parser_reads_the_local_runtime_status(canary: dict[str, Any]) -> None:
    local = RolloutStatus.parse(local_runtime_status())
    cluster = RolloutStatus.parse(canary)
    assert local.name is None and local.ready is True and local.url == "http://127.0.0.1:8080"
    for name in ("predictor", "transformer"):
        a, b = local.component(name), cluster.component(name)
        assert (a.latest_created, a.latest_ready, a.latest_rolled_out, a.previous_rolled_out, a.phase) == (
            b.latest_created,
            b.latest_ready,
            b.latest_rolled_out,
            b.previous_rolled_out,
            b.phase,
        )
        assert [(t.revision, t.percent, t.latest_revision) for t in a.traffic] == [
            (t.revision, t.percent, t.latest_revision) for t in b.traffic
        ]
    assert canary_applied("predictor", 20)(local)
    # as_resource() wraps the same status in the resource: parsed through metadata/spec/status
    resource = {
        "metadata": {"name": "iris", "namespace": "default"},
        "spec": {"predictor": {"canaryTrafficPercent": 20}},
    }
    wrapped = RolloutStatus.parse(resource | {"status": local_runtime_status()})
    assert wrapped.name == "iris" and wrapped.component("predictor").canary_traffic_percent == 20


def test_local_runtime_rollback_without_a_zero_percent_entry() -> None:
    raw = local_runtime_status()
    raw["components"]["predictor"]["traffic"] = [
        {"revisionName": "iris-predictor-00001", "percent": 100, "latestRevision": False, "tag": "prev"}
    ]
    status = RolloutStatus.parse(raw)
    assert status.component("predictor").phase == PHASE_ROLLED_BACK
    assert rolled_back("predictor")(status) and not promoted("predictor")(status)


def test_failed_component_condition_carries_the_message() -> None:
    raw = local_runtime_status()
    raw["components"]["predictor"]["latestCreatedRevision"] = "iris-predictor-00003"
    raw["conditions"][2] |= {"status": "False", "reason": "RevisionFailed", "message": "load failed"}
    p = RolloutStatus.parse(raw).component("predictor")
    assert p.ready is False and p.message == "RevisionFailed: load failed"


# ------------------------------------------------------------------ predicates


def test_predicates_on_real_shaped_objects(canary: dict[str, Any], promoted_isvc: dict[str, Any]) -> None:
    mid, done, back = (RolloutStatus.parse(o) for o in (canary, promoted_isvc, rolled_back_isvc(canary)))
    assert canary_applied("predictor", 20)(mid)
    assert not canary_applied("predictor", 30)(mid)
    assert not promoted("predictor")(mid) and promoted("predictor")(done) and not promoted("predictor")(back)
    assert rolled_back("predictor")(back) and not rolled_back("predictor")(mid)
    assert promoted("transformer")(mid)
    assert not canary_applied("explainer", 20)(mid)


# ------------------------------------------------------------------ history


def failed_latest_status(canary: dict[str, Any]) -> RolloutStatus:
    isvc = copy.deepcopy(canary)
    isvc["status"]["components"]["predictor"]["latestCreatedRevision"] = "iris-predictor-00003"
    return RolloutStatus.parse(isvc)


def test_history_rows_from_a_knative_revision_list(canary: dict[str, Any]) -> None:
    rows = revision_history(load("revisions.yaml"), failed_latest_status(canary))
    assert [r.row() for r in rows] == [
        ("predictor", "iris-predictor-00001", "2025-05-02T09:14:05Z", "True", 80, "prev", "rolled-out"),
        ("predictor", "iris-predictor-00002", "2025-05-02T09:30:52Z", "True", 20, "latest", ""),
        ("predictor", "iris-predictor-00003", "2025-05-02T09:40:11Z", "False", 0, "", "latest,failed"),
        ("transformer", "iris-transformer-00001", "2025-05-02T09:14:04Z", "True", 100, "latest", "latest,rolled-out"),
    ]
    assert len(HISTORY_HEADERS) == len(rows[0].row())
    failed = rows[2]
    assert failed.reason == "ExitCode1: Container failed with: FileNotFoundError: models/iris/v9/model.joblib"
    assert failed.generation == 3


def test_history_after_promotion_marks_the_previous_revision(promoted_isvc: dict[str, Any]) -> None:
    items = load("revisions.yaml")["items"][:2] + load("revisions.yaml")["items"][3:]  # a plain list works too
    rows = revision_history(items, RolloutStatus.parse(promoted_isvc))
    assert [(r.name, r.traffic_percent, r.role) for r in rows] == [
        ("iris-predictor-00001", 0, "previous"),
        ("iris-predictor-00002", 100, "latest,rolled-out"),
        ("iris-transformer-00001", 100, "latest,rolled-out"),
    ]


def test_history_from_the_local_runtime_status() -> None:
    rows = history_from_status(RolloutStatus.parse(local_runtime_status()))
    assert [(r.component, r.name, r.ready, r.traffic_percent, r.tag, r.role) for r in rows] == [
        ("predictor", "iris-predictor-00001", True, 80, "prev", "rolled-out"),
        ("predictor", "iris-predictor-00002", True, 20, "latest", "latest"),
        ("transformer", "iris-transformer-00001", True, 100, "", "latest,rolled-out"),
    ]


# ------------------------------------------------------------------ ClusterClient request construction


class FakeApiException(Exception):
    pass


class FakeCustomObjectsApi:
    """Records every call; answers from ``responses`` keyed by method name (an exception is raised)."""

    def __init__(self, **responses: Any):
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.responses = responses

    def _answer(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.calls.append((method, args, kwargs))
        answer = self.responses.get(method, {})
        if isinstance(answer, list):  # successive answers
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._answer(method, args, kwargs)


def api_error(status: int, message: str) -> Exception:
    from kubernetes.client.exceptions import ApiException

    error = ApiException(status=status, reason="Error")
    error.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": status})
    return error


def test_get_isvc_request(canary: dict[str, Any]) -> None:
    api = FakeCustomObjectsApi(get_namespaced_custom_object=canary)
    assert ClusterClient("isvc-kit", api=api).get_isvc("iris") == canary
    assert api.calls == [
        ("get_namespaced_custom_object", ("serving.kserve.io", "v1beta1", "isvc-kit", "inferenceservices", "iris"), {})
    ]


@pytest.mark.parametrize(
    "body",
    [canary_patch("predictor", 20), promote_patch("predictor"), rollback_patch("transformer")],
)
def test_patch_isvc_sends_a_merge_patch(body: dict[str, Any]) -> None:
    api = FakeCustomObjectsApi()
    ClusterClient("team-a", api=api).patch_isvc("iris", body)
    assert api.calls == [
        (
            "patch_namespaced_custom_object",
            ("serving.kserve.io", "v1beta1", "team-a", "inferenceservices", "iris", body),
            {"_content_type": MERGE_PATCH},
        )
    ]
    assert MERGE_PATCH == "application/merge-patch+json"


def test_the_real_client_serializes_the_merge_patch_with_its_content_type() -> None:
    """Through kubernetes' own ApiClient up to the HTTP layer: method, path, header, JSON body with null."""
    from kubernetes import client

    api_client = client.ApiClient(client.Configuration(host="https://cluster.example:6443"))
    sent: dict[str, Any] = {}

    def call_api(
        method: str, url: str, header_params: Any = None, body: Any = None, post_params: Any = None, **_: Any
    ) -> Any:
        sent.update(method=method, url=url, headers=header_params, body=body)
        raise RuntimeError("stop before the network")

    api_client.call_api = call_api  # type: ignore[method-assign]
    cluster = ClusterClient("isvc-kit", api=client.CustomObjectsApi(api_client))
    with pytest.raises(RuntimeError, match="stop before the network"):
        cluster.patch_isvc("iris", promote_patch("predictor"))
    assert sent["method"] == "PATCH"
    assert sent["url"] == (
        "https://cluster.example:6443/apis/serving.kserve.io/v1beta1/namespaces/isvc-kit/inferenceservices/iris"
    )
    assert sent["headers"]["Content-Type"] == "application/merge-patch+json"
    assert json.loads(json.dumps(sent["body"])) == {"spec": {"predictor": {"canaryTrafficPercent": None}}}


def test_list_revisions_request() -> None:
    revisions = load("revisions.yaml")
    api = FakeCustomObjectsApi(list_namespaced_custom_object=revisions)
    assert ClusterClient("isvc-kit", api=api).list_revisions("iris") == revisions
    assert api.calls == [
        (
            "list_namespaced_custom_object",
            ("serving.knative.dev", "v1", "isvc-kit", "revisions"),
            {"label_selector": "serving.kserve.io/inferenceservice=iris"},
        )
    ]


def test_apply_creates_then_patches_on_conflict() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[3] / "manifests" / "iris.yaml").read_text())
    api = FakeCustomObjectsApi(create_namespaced_custom_object=api_error(409, "already exists"))
    ClusterClient("other-ns", api=api).apply_isvc(manifest)
    (create, args, _), (patch, patch_args, patch_kwargs) = api.calls
    assert create == "create_namespaced_custom_object"
    assert args[:4] == ("serving.kserve.io", "v1beta1", "other-ns", "inferenceservices")
    assert args[4]["metadata"]["namespace"] == "other-ns" and args[4]["spec"] == manifest["spec"]
    assert patch == "patch_namespaced_custom_object" and patch_kwargs == {"_content_type": MERGE_PATCH}
    assert patch_args[5] == {"spec": manifest["spec"], "metadata": {"annotations": manifest["metadata"]["annotations"]}}


def test_delete_and_has_kserve_requests() -> None:
    api = FakeCustomObjectsApi(list_namespaced_custom_object=api_error(404, "the server could not find the resource"))
    cluster = ClusterClient("isvc-kit", api=api)
    cluster.delete_isvc("iris")
    assert cluster.has_kserve() is False
    assert api.calls == [
        (
            "delete_namespaced_custom_object",
            ("serving.kserve.io", "v1beta1", "isvc-kit", "inferenceservices", "iris"),
            {},
        ),
        (
            "list_namespaced_custom_object",
            ("serving.kserve.io", "v1beta1", "isvc-kit", "inferenceservices"),
            {"limit": 1},
        ),
    ]


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (404, NotFoundError, "cannot get InferenceService 'nope' in namespace 'isvc-kit', context 'kind-x': not found"),
        (409, ConflictError, "conflict"),
        (422, SpecError, "rejected"),
        (403, IsvcError, "forbidden"),
        (500, IsvcError, "HTTP 500"),
    ],
)
def test_api_errors_map_to_the_kits_errors(status: int, error: type[Exception], text: str) -> None:
    api = FakeCustomObjectsApi(get_namespaced_custom_object=api_error(status, "the message from the API server"))
    with pytest.raises(error) as raised:
        ClusterClient("isvc-kit", context="kind-x", api=api).get_isvc("nope")
    assert type(raised.value) is error
    assert text in str(raised.value) and "the message from the API server" in str(raised.value)


def test_unreachable_cluster_is_a_readable_error() -> None:
    import urllib3

    api = FakeCustomObjectsApi(get_namespaced_custom_object=urllib3.exceptions.MaxRetryError(None, "/x", "refused"))  # type: ignore[arg-type]
    with pytest.raises(IsvcError, match="cannot get InferenceService 'iris': the cluster is unreachable"):
        ClusterClient("isvc-kit", api=api).get_isvc("iris")


def test_missing_kubeconfig_says_what_cluster_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(IsvcError, match=r"no kubeconfig: .*--cluster needs a kubeconfig"):
        ClusterClient("isvc-kit")


def test_kubeconfig_context_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "a",
        "clusters": [
            {"name": "a", "cluster": {"server": "https://a.example:6443"}},
            {"name": "b", "cluster": {"server": "https://b.example:6443"}},
        ],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [
            {"name": "a", "context": {"cluster": "a", "user": "u"}},
            {"name": "b", "context": {"cluster": "b", "user": "u"}},
        ],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load_api().api_client.configuration.host == "https://a.example:6443"
    assert load_api("b").api_client.configuration.host == "https://b.example:6443"
    with pytest.raises(IsvcError, match="no kubeconfig: cannot load context 'c'"):
        load_api("c")


def test_wait_for_polls_until_the_predicate_holds(canary: dict[str, Any], promoted_isvc: dict[str, Any]) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    api = FakeCustomObjectsApi(get_namespaced_custom_object=[canary, canary, promoted_isvc])
    cluster = ClusterClient("isvc-kit", api=api, sleep=sleep, clock=lambda: now[0])
    status = cluster.wait_for("iris", promoted("predictor"), timeout=10, interval=2)
    assert status.component("predictor").latest_rolled_out == "iris-predictor-00002"
    assert sleeps == [2, 2] and len(api.calls) == 3


def test_wait_for_times_out_with_the_last_status(canary: dict[str, Any]) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    api = FakeCustomObjectsApi(get_namespaced_custom_object=canary)
    cluster = ClusterClient("isvc-kit", api=api, sleep=sleep, clock=lambda: now[0])
    with pytest.raises(IsvcError, match=r"timed out after 5s .*'iris' \(promoted\).*predictor: canary") as raised:
        cluster.wait_for("iris", promoted("predictor"), timeout=5, interval=2)
    assert "iris-predictor-00002=20%" in str(raised.value)
    assert now[0] == 5

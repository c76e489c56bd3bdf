"""Unit tests for ``local.plan``: KServe/Knative revisions, canary traffic and autoscaling, as pure data.

No Ray runtime, no sockets: only ``ray.serve.config.AutoscalingConfig`` is imported, to check that the
plan's options are accepted by Ray Serve. Each test is named after the KServe/Knative behaviour it pins.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from local.autoscaling import (
    KNATIVE_DEFAULT_TARGET,
    KNATIVE_SCALE_TO_ZERO_GRACE_S,
    KNATIVE_STABLE_WINDOW_S,
    LOCAL_MAX_REPLICAS,
    ZERO_METRICS_INTERVAL_S,
    AutoscalingPlan,
    autoscaling_for,
    parse_duration_s,
)
from local.errors import SpecError
from local.plan import (
    LOCAL_MAX_ONGOING_REQUESTS,
    ComponentPlan,
    ComponentState,
    Revision,
    ServicePlan,
    TrafficTarget,
    plan_service,
    route_traffic,
)
from local.spec import ComponentSpec, EntryPoint, InferenceService, load_inference_services, parse_inference_service
from tests.conftest import REPO_ROOT

MANIFESTS = REPO_ROOT / "manifests"
KNATIVE = "autoscaling.knative.dev/"


def container(*args: str) -> dict[str, Any]:
    return {"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"], "args": list(args)}


def document(
    predictor: dict[str, Any] | None = None,
    transformer: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    name: str = "iris",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"predictor": {"containers": [container("--model_dir=v1")], **(predictor or {})}}
    if transformer is not None:
        spec["transformer"] = {
            "containers": [{"command": ["python", "-m", "transformers.iris"]}],
            **transformer,
        }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": spec,
    }


def isvc(
    predictor: dict[str, Any] | None = None,
    transformer: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> InferenceService:
    return parse_inference_service(document(predictor, transformer, annotations))


def component(**fields: Any) -> ComponentSpec:
    return ComponentSpec.model_validate({"containers": [container()], **fields})


def scaling(metadata: dict[str, str] | None = None, **fields: Any) -> AutoscalingPlan:
    """The autoscaling plan of a predictor with ``fields``, under the isvc's ``metadata`` annotations."""
    return autoscaling_for(component(**fields), metadata or {}, "spec.predictor")


# --- parse_duration_s --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("0s", 0.0),
        ("1m", 60.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("1m500ms", 60.5),
        ("2h", 7200.0),
        ("1h1m1s1ms", 3661.001),
        (" 45s ", 45.0),
        ("90s", 90.0),
    ],
)
def test_parse_duration_accepts_knative_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text, "where") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "  ", "30", "s", "-1s", "1d", "5sec", "ms", "1 m"])
def test_parse_duration_rejects_non_durations_naming_the_field(text: str) -> None:
    with pytest.raises(SpecError, match=r"^spec\.x\.annotations\.window: .* is not a duration like '30s'"):
        parse_duration_s(text, "spec.x.annotations.window")


def test_parse_duration_accepts_fractional_go_durations() -> None:
    """Knative parses these annotations with Go's time.ParseDuration, which allows fractions."""
    assert parse_duration_s("1.5s", "w") == pytest.approx(1.5)


# --- autoscaling -------------------------------------------------------------------------------------


def test_knative_defaults_without_any_autoscaling_field() -> None:
    """KServe defaults (minReplicas 1, maxReplicas 0) with Knative's target 100 at 70%, 60 s window, 30 s grace."""
    plan = scaling()
    assert plan == AutoscalingPlan(
        min_replicas=1,
        max_replicas=LOCAL_MAX_REPLICAS,
        initial_replicas=1,
        target_ongoing_requests=pytest.approx(70.0),  # type: ignore[arg-type]
        downscale_delay_s=KNATIVE_STABLE_WINDOW_S,
        downscale_to_zero_delay_s=KNATIVE_SCALE_TO_ZERO_GRACE_S,
        upscale_delay_s=0.0,
    )
    assert (KNATIVE_DEFAULT_TARGET, KNATIVE_STABLE_WINDOW_S, KNATIVE_SCALE_TO_ZERO_GRACE_S) == (100.0, 60.0, 30.0)


def test_min_replicas_zero_scales_to_zero_but_starts_with_one_replica() -> None:
    """KServe: minReplicas 0 = scale to zero; Knative still starts a new revision with initial-scale 1."""
    plan = scaling(minReplicas=0)
    assert plan.min_replicas == 0
    assert plan.initial_replicas == 1


def test_max_replicas_zero_means_no_limit_capped_locally() -> None:
    """KServe: maxReplicas 0 = no limit; locally capped at LOCAL_MAX_REPLICAS."""
    assert scaling(maxReplicas=0).max_replicas == LOCAL_MAX_REPLICAS == 4


def test_max_replicas_zero_never_caps_below_min_replicas() -> None:
    plan = scaling(minReplicas=6, maxReplicas=0)
    assert (plan.min_replicas, plan.max_replicas, plan.initial_replicas) == (6, 6, 6)


def test_explicit_max_replicas_is_kept_even_above_the_local_cap() -> None:
    assert scaling(minReplicas=0, maxReplicas=10).max_replicas == 10
    assert scaling(minReplicas=2, maxReplicas=2).max_replicas == 2


def test_max_replicas_below_min_replicas_is_an_error_naming_the_field() -> None:
    """KServe's webhook rejects maxReplicas < minReplicas."""
    with pytest.raises(SpecError, match=r"^spec\.predictor\.maxReplicas: 2 is below minReplicas 3$"):
        scaling(minReplicas=3, maxReplicas=2)


@pytest.mark.parametrize("metric", ["concurrency", None])
def test_scale_target_with_concurrency_metric_is_aimed_at_70_percent(metric: str | None) -> None:
    """KServe writes scaleTarget into autoscaling.knative.dev/target; Knative aims at it x 70%
    (ResolveMetricTarget, pkg/reconciler/autoscaling/resources/target.go)."""
    assert scaling(scaleMetric=metric, scaleTarget=8).target_ongoing_requests == pytest.approx(5.6)


def test_scale_target_is_capped_at_container_concurrency() -> None:
    assert scaling(scaleTarget=8, containerConcurrency=32).target_ongoing_requests == pytest.approx(5.6)
    assert scaling(scaleTarget=50, containerConcurrency=10).target_ongoing_requests == pytest.approx(7.0)


def test_container_concurrency_gives_knative_70_percent_target_utilisation() -> None:
    """Knative: without a target, the target is containerConcurrency x container-concurrency-target-percentage (70%)."""
    assert scaling(containerConcurrency=10).target_ongoing_requests == pytest.approx(7.0)


def test_the_target_annotations_are_read_and_scale_target_wins_over_the_annotation() -> None:
    target = {"autoscaling.knative.dev/target": "20"}
    assert scaling(target).target_ongoing_requests == pytest.approx(14.0)
    assert scaling(target, scaleTarget=10).target_ongoing_requests == pytest.approx(7.0)  # KServe overwrites it
    full = {**target, "autoscaling.knative.dev/target-utilization-percentage": "100"}
    assert scaling(full).target_ongoing_requests == pytest.approx(20.0)
    assert scaling({"autoscaling.knative.dev/target": "0.001"}).target_ongoing_requests == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("target", "many"),
        ("target", "-1"),
        ("target-utilization-percentage", "0"),
        ("target-utilization-percentage", "150"),
    ],
)
def test_a_bad_target_annotation_is_an_error_naming_it(key: str, value: str) -> None:
    with pytest.raises(SpecError, match=rf"metadata\.annotations\.autoscaling\.knative\.dev/{key}: '{value}'"):
        scaling({f"autoscaling.knative.dev/{key}": value})


@pytest.mark.parametrize("metric", ["cpu", "memory", "rps"])
def test_another_metric_scale_target_falls_back_to_knative_default(metric: str) -> None:
    assert scaling(scaleMetric=metric, scaleTarget=70).target_ongoing_requests == pytest.approx(70.0)


def test_scale_to_zero_retention_period_annotation_is_downscale_to_zero_delay() -> None:
    """Knative: autoscaling.knative.dev/scale-to-zero-pod-retention-period."""
    plan = scaling({KNATIVE + "scale-to-zero-pod-retention-period": "45s"}, minReplicas=0)
    assert plan.downscale_to_zero_delay_s == 45.0


def test_window_annotation_is_downscale_delay() -> None:
    """Knative: autoscaling.knative.dev/window is the stable window over which it decides to scale down."""
    assert scaling({KNATIVE + "window": "2m"}).downscale_delay_s == 120.0


def test_scale_down_delay_annotation_overrides_window() -> None:
    """Knative: autoscaling.knative.dev/scale-down-delay holds replicas before scaling down."""
    plan = scaling({KNATIVE + "window": "2m", KNATIVE + "scale-down-delay": "15s"})
    assert plan.downscale_delay_s == 15.0


def test_zero_durations_are_floored_for_ray() -> None:
    plan = scaling({KNATIVE + "scale-to-zero-pod-retention-period": "0s", KNATIVE + "window": "0s"}, minReplicas=0)
    assert (plan.downscale_delay_s, plan.downscale_to_zero_delay_s) == (0.1, 0.1)


@pytest.mark.parametrize(
    ("initial", "fields", "expected"),
    [
        ("3", {}, 3),
        ("10", {}, LOCAL_MAX_REPLICAS),  # clamped to max_replicas
        ("10", {"maxReplicas": 5}, 5),
        ("0", {"minReplicas": 0}, 0),  # Knative allow-zero-initial-scale
        ("0", {"minReplicas": 2}, 2),  # never below minReplicas
        ("1", {"minReplicas": 3, "maxReplicas": 5}, 3),
    ],
)
def test_initial_scale_annotation(initial: str, fields: dict[str, Any], expected: int) -> None:
    """Knative: autoscaling.knative.dev/initial-scale, bounded by min/max scale."""
    assert scaling({KNATIVE + "initial-scale": initial}, **fields).initial_replicas == expected


def test_initial_replicas_default_is_min_replicas_when_above_one() -> None:
    assert scaling(minReplicas=3, maxReplicas=5).initial_replicas == 3


def test_component_annotation_wins_over_metadata_annotation() -> None:
    """KServe merges the isvc's annotations with the component's; the component's are more specific."""
    metadata = {
        KNATIVE + "window": "30s",
        KNATIVE + "scale-to-zero-pod-retention-period": "10s",
        KNATIVE + "initial-scale": "2",
    }
    own = {KNATIVE + "window": "5s", KNATIVE + "initial-scale": "3"}
    plan = scaling(metadata, annotations=own, minReplicas=0)
    assert plan.downscale_delay_s == 5.0
    assert plan.initial_replicas == 3
    assert plan.downscale_to_zero_delay_s == 10.0  # only on metadata: still applied


def test_annotations_on_the_component_alone_apply() -> None:
    plan = scaling(annotations={KNATIVE + "scale-down-delay": "1m"})
    assert plan.downscale_delay_s == 60.0


def test_non_knative_annotations_do_not_change_autoscaling() -> None:
    assert scaling({"serving.kserve.io/deploymentMode": "Knative", "window": "1s"}) == scaling()


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("window", "metadata.annotations.autoscaling.knative.dev/window"),
        ("scale-down-delay", "metadata.annotations.autoscaling.knative.dev/scale-down-delay"),
        (
            "scale-to-zero-pod-retention-period",
            "metadata.annotations.autoscaling.knative.dev/scale-to-zero-pod-retention-period",
        ),
    ],
)
def test_bad_duration_annotation_is_named_where_it_is_written(key: str, path: str) -> None:
    with pytest.raises(SpecError, match="^" + path.replace(".", r"\.") + r": 'soon' is not a duration"):
        scaling({KNATIVE + key: "soon"})
    on_the_component = path.replace("metadata.", "spec.predictor.")
    with pytest.raises(SpecError, match="^" + on_the_component.replace(".", r"\.") + r": 'soon' is not a duration"):
        scaling(annotations={KNATIVE + key: "soon"})


@pytest.mark.parametrize("value", ["many", "-1", "1.5", ""])
def test_bad_initial_scale_is_named(value: str) -> None:
    with pytest.raises(
        SpecError, match=r"^metadata\.annotations\.autoscaling\.knative\.dev/initial-scale: .* is not a whole number$"
    ):
        scaling({KNATIVE + "initial-scale": value})


def test_bad_annotation_fails_the_whole_plan_with_the_component_path() -> None:
    service = isvc(transformer={"annotations": {KNATIVE + "window": "forever"}})
    with pytest.raises(SpecError, match=r"^spec\.transformer\.annotations\.autoscaling\.knative\.dev/window: "):
        plan_service(service)


def test_iris_manifest_autoscaling() -> None:
    (service,) = load_inference_services(MANIFESTS / "iris.yaml")
    predictor = plan_service(service).components["predictor"].state.latest
    assert predictor is not None
    assert predictor.autoscaling == AutoscalingPlan(
        min_replicas=0,
        max_replicas=2,
        initial_replicas=1,
        target_ongoing_requests=pytest.approx(5.6),  # type: ignore[arg-type]
        downscale_delay_s=60.0,
        downscale_to_zero_delay_s=30.0,
    )
    assert predictor.max_ongoing_requests == 32


def ray_autoscaling_config() -> Any:
    serve_config = pytest.importorskip("ray.serve.config")  # imports Ray Serve's models; starts nothing
    return serve_config.AutoscalingConfig


@pytest.mark.parametrize(
    ("annotations", "fields"),
    [
        ({}, {}),
        ({}, {"minReplicas": 0}),
        ({KNATIVE + "initial-scale": "0"}, {"minReplicas": 0}),
        ({KNATIVE + "scale-to-zero-pod-retention-period": "0s", KNATIVE + "window": "500ms"}, {"minReplicas": 0}),
        ({KNATIVE + "initial-scale": "9"}, {"minReplicas": 2, "maxReplicas": 8, "containerConcurrency": 3}),
        ({}, {"minReplicas": 5, "maxReplicas": 0, "scaleTarget": 1}),
    ],
)
def test_as_ray_options_builds_a_valid_ray_serve_autoscaling_config(
    annotations: dict[str, str], fields: dict[str, Any]
) -> None:
    plan = scaling(annotations, **fields)
    options = plan.as_ray_options()
    config = ray_autoscaling_config()(**options)
    assert config.min_replicas == plan.min_replicas
    assert config.max_replicas == plan.max_replicas
    assert config.initial_replicas == plan.initial_replicas
    assert config.target_ongoing_requests == plan.target_ongoing_requests
    assert config.downscale_delay_s == plan.downscale_delay_s
    assert config.downscale_to_zero_delay_s == plan.downscale_to_zero_delay_s
    assert config.upscale_delay_s == plan.upscale_delay_s


# --- revisions ---------------------------------------------------------------------------------------


def test_first_plan_creates_revision_00001_per_component() -> None:
    """Knative revision names: {isvc}-{component}-00001."""
    plan = plan_service(isvc(transformer={}))
    assert isinstance(plan, ServicePlan)
    assert (plan.name, plan.namespace) == ("iris", "default")
    assert list(plan.components) == ["transformer", "predictor"]
    for name, component_plan in plan.components.items():
        (revision,) = component_plan.state.revisions
        assert revision.name == f"iris-{name}-00001"
        assert (revision.component, revision.number) == (name, 1)
        assert component_plan.component == name
    predictor = plan.components["predictor"].state.revision("iris-predictor-00001")
    assert predictor.entrypoint == EntryPoint("predictors.sklearn", ("--model_dir=v1",))
    assert plan.components["transformer"].state.latest is not None
    assert plan.components["transformer"].state.latest.entrypoint == EntryPoint("transformers.iris", ())


def test_max_ongoing_requests_is_container_concurrency_or_local_bound() -> None:
    """Knative: containerConcurrency is a hard per-pod limit; 0 (unlimited) gets a local bound."""
    bounded = plan_service(isvc({"containerConcurrency": 5})).components["predictor"].state.latest
    unbounded = plan_service(isvc()).components["predictor"].state.latest
    assert bounded is not None and unbounded is not None
    assert bounded.max_ongoing_requests == 5
    assert unbounded.max_ongoing_requests == LOCAL_MAX_ONGOING_REQUESTS == 256


def replan(service: InferenceService, plan: ServicePlan) -> ServicePlan:
    return plan_service(service, {name: p.state for name, p in plan.components.items()})


def revision_names(plan: ServicePlan, component_name: str = "predictor") -> list[str]:
    return [r.name for r in plan.components[component_name].state.revisions]


def test_reapplying_the_same_spec_creates_no_revision() -> None:
    """Knative: an unchanged revision template is not a new revision; the plan is a fixed point."""
    service = isvc(transformer={})
    first = plan_service(service)
    second = replan(service, first)
    assert second == first


def test_spec_change_creates_the_next_revision() -> None:
    """KServe: any change to a component's spec creates {isvc}-{component}-0000N+1."""
    first = plan_service(isvc())
    second = replan(isvc({"containers": [container("--model_dir=v2")]}), first)
    third = replan(isvc({"containers": [container("--model_dir=v3")]}), second)
    assert revision_names(third) == ["iris-predictor-00001", "iris-predictor-00002", "iris-predictor-00003"]
    assert [r.number for r in third.components["predictor"].state.revisions] == [1, 2, 3]
    assert third.components["predictor"].state.revisions[-1].entrypoint.args == ("--model_dir=v3",)


def test_reverting_a_spec_creates_a_new_revision_not_reuses_an_old_one() -> None:
    """Knative: going back to an earlier template is still a new revision."""
    v1, v2 = isvc(), isvc({"containers": [container("--model_dir=v2")]})
    plan = replan(v1, replan(v2, plan_service(v1)))
    assert revision_names(plan) == ["iris-predictor-00001", "iris-predictor-00002", "iris-predictor-00003"]


def test_changing_only_canary_traffic_percent_creates_no_revision() -> None:
    """KServe: canaryTrafficPercent is a routing field, not part of the revision template."""
    first = plan_service(isvc())
    for percent in (10, 50, 0, 100):
        assert revision_names(replan(isvc({"canaryTrafficPercent": percent}), first)) == ["iris-predictor-00001"]


def test_spelling_out_a_default_creates_no_revision() -> None:
    """KServe's defaulting webhook fills minReplicas 1 etc., so spelling the default out changes nothing."""
    first = plan_service(isvc())
    same = replan(isvc({"minReplicas": 1, "maxReplicas": 0, "containerConcurrency": 0}), first)
    assert revision_names(same) == ["iris-predictor-00001"]


def test_autoscaling_change_creates_a_revision() -> None:
    """Knative: minScale/maxScale/target live on the revision template."""
    first = plan_service(isvc())
    second = replan(isvc({"minReplicas": 0}), first)
    assert revision_names(second) == ["iris-predictor-00001", "iris-predictor-00002"]
    assert second.components["predictor"].state.revisions[-1].autoscaling.min_replicas == 0
    assert second.components["predictor"].state.revisions[0].autoscaling.min_replicas == 1


def test_knative_annotation_on_metadata_creates_a_revision_of_every_component() -> None:
    """KServe propagates the isvc's annotations to each component's revision template."""
    first = plan_service(isvc(transformer={}))
    second = replan(isvc(transformer={}, annotations={KNATIVE + "window": "30s"}), first)
    for name in ("predictor", "transformer"):
        assert revision_names(second, name) == [f"iris-{name}-00001", f"iris-{name}-00002"]
        latest = second.components[name].state.latest
        assert latest is not None and latest.autoscaling.downscale_delay_s == 30.0


def test_any_metadata_annotation_or_label_creates_a_revision_as_kserve_copies_them_to_the_template() -> None:
    """KServe's buildObjectMeta puts the isvc's labels and annotations (but serviceAnnotationDisallowedList)
    on each component's revision template: a change of them is a new Knative revision."""
    first = plan_service(isvc())
    tagged = replan(isvc(annotations={"serving.kserve.io/enable-tag-routing": "true"}), first)
    assert revision_names(tagged) == ["iris-predictor-00001", "iris-predictor-00002"]
    labelled_doc = isvc().model_dump(mode="json")
    labelled_doc["metadata"]["labels"] = {"team": "a"}
    labelled = replan(parse_inference_service(labelled_doc), first)
    assert revision_names(labelled) == ["iris-predictor-00001", "iris-predictor-00002"]


def test_an_annotation_kserve_keeps_off_the_template_creates_no_revision() -> None:
    first = plan_service(isvc())
    applied = {"kubectl.kubernetes.io/last-applied-configuration": "{...}", KNATIVE + "min-scale": "3"}
    assert revision_names(replan(isvc(annotations=applied), first)) == ["iris-predictor-00001"]


# What the first hash scheme (commit 9452747) stored for these manifests' revisions.
FIRST_SCHEME_HASHES = {
    "iris.yaml": {"transformer": "3e9eaf4bff3b0b82", "predictor": "2878559459293e80"},
    "iris-canary.yaml": {"transformer": "3e9eaf4bff3b0b82", "predictor": "37abfe20549a258c"},
    "iris-standard.yaml": {"transformer": "2779018467298b45", "predictor": "6ba54a73db0ca3fd"},
}


@pytest.mark.parametrize("manifest", sorted(FIRST_SCHEME_HASHES))
def test_a_revision_stored_with_the_first_hash_scheme_keeps_its_identity_and_is_restamped(manifest: str) -> None:
    """A store written before the template hash covered labels and annotations: the first restart makes no
    revision, and the revision takes this scheme's hash, so a later label change makes one."""
    (service,) = load_inference_services(MANIFESTS / manifest)
    planned = plan_service(service).components
    stored = {
        name: replace(
            plan.state, revisions=(replace(plan.state.revisions[0], spec_hash=FIRST_SCHEME_HASHES[manifest][name]),)
        )
        for name, plan in planned.items()
    }
    restarted = plan_service(service, stored)
    for name, plan in restarted.components.items():
        assert [r.name for r in plan.state.revisions] == [f"{service.name}-{name}-00001"], name
        assert plan.state.revisions[0].spec_hash == planned[name].state.revisions[0].spec_hash  # re-stamped
    labelled = service.model_dump(mode="json")
    labelled["metadata"]["labels"] = {"team": "a"}
    later = plan_service(parse_inference_service(labelled), {n: p.state for n, p in restarted.components.items()})
    assert revision_names(later) == [f"{service.name}-predictor-00001", f"{service.name}-predictor-00002"]


def test_changing_one_component_leaves_the_other_alone() -> None:
    """KServe: iris.yaml -> iris-canary.yaml changes only the predictor, so only it gets revision 00002."""
    (base,) = load_inference_services(MANIFESTS / "iris.yaml")
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    plan = replan(canary, plan_service(base))
    assert revision_names(plan, "transformer") == ["iris-transformer-00001"]
    assert revision_names(plan, "predictor") == ["iris-predictor-00001", "iris-predictor-00002"]


def test_plan_errors_name_the_component_path() -> None:
    with pytest.raises(SpecError, match=r"^spec\.transformer\.containers\[0\]\.command: "):
        plan_service(isvc(transformer={"containers": [{"command": ["./serve"]}]}))
    with pytest.raises(SpecError, match=r"^spec\.predictor\.maxReplicas: 1 is below minReplicas 2$"):
        plan_service(isvc({"minReplicas": 2, "maxReplicas": 1}))


def test_plan_service_uses_each_components_own_previous_state() -> None:
    first = plan_service(isvc(transformer={}))
    only_predictor = plan_service(isvc(transformer={}), {"predictor": first.components["predictor"].state})
    assert only_predictor.components["predictor"].state == first.components["predictor"].state
    assert revision_names(only_predictor, "transformer") == ["iris-transformer-00001"]


# --- traffic -----------------------------------------------------------------------------------------


def revision(number: int, component_name: str = "predictor") -> Revision:
    plan = AutoscalingPlan(1, 4, 1, 100.0, 60.0, 30.0)
    return Revision(
        name=f"iris-{component_name}-{number:05d}",
        component=component_name,
        number=number,
        spec_hash=f"h{number}",
        entrypoint=EntryPoint("predictors.sklearn", ()),
        autoscaling=plan,
        max_ongoing_requests=256,
    )


R1, R2, R3 = "iris-predictor-00001", "iris-predictor-00002", "iris-predictor-00003"


def rolled_out_then_new(**state: Any) -> ComponentState:
    """00001 is rolled out; 00002 has just been created from a spec change."""
    return ComponentState(revisions=(revision(1), revision(2)), latest_rolled_out=R1, **state)


def deployed(plan: ComponentPlan) -> list[str]:
    return [r.name for r in plan.deployed]


def test_first_deploy_ignores_canary_percent() -> None:
    """KServe: canaryTrafficPercent is ignored on the first rollout; 100% go to the latest revision."""
    plan = route_traffic(ComponentState(revisions=(revision(1),)), 20, ready=None)
    assert plan.traffic == (TrafficTarget(R1, 100, tag=None, latest_revision=True),)
    assert plan.state.latest_rolled_out == R1
    assert plan.state.previous_rolled_out is None
    assert plan.canary_percent == 20
    assert plan.component == "predictor"
    assert deployed(plan) == [R1]


def test_first_deploy_of_iris_canary_manifest_sends_everything_to_00001() -> None:
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    predictor = plan_service(canary).components["predictor"]
    assert predictor.traffic == (TrafficTarget("iris-predictor-00001", 100, tag=None, latest_revision=True),)
    assert predictor.canary_percent == 20


def test_first_deploy_not_yet_ready_gets_no_traffic_but_is_deployed() -> None:
    """KServe: a revision receives traffic only once ready; it runs meanwhile so it can become ready."""
    plan = route_traffic(ComponentState(revisions=(revision(1),)), None, ready=set())
    assert plan.traffic == ()
    assert plan.state.latest_rolled_out is None
    assert deployed(plan) == [R1]


def test_first_deploy_failed_gets_no_traffic_and_is_not_deployed() -> None:
    state = ComponentState(revisions=(revision(1),), failed={R1: "exit 1"})
    plan = route_traffic(state, None, ready=None)
    assert plan.traffic == ()
    assert plan.state.latest_rolled_out is None
    assert deployed(plan) == []


def test_first_deploy_in_ready_set_is_rolled_out() -> None:
    plan = route_traffic(ComponentState(revisions=(revision(1),)), None, ready={R1})
    assert plan.traffic == (TrafficTarget(R1, 100, None, True),)
    assert plan.state.latest_rolled_out == R1


@pytest.mark.parametrize("tag_routing", [False, True])
@pytest.mark.parametrize("percent", [1, 20, 50, 99])
def test_canary_splits_between_latest_and_rolled_out(percent: int, tag_routing: bool) -> None:
    """KServe (ksvc_reconciler.go): P% to the latest revision (tag latest with tag routing only), 100-P% to
    latestRolledoutRevision (tag prev, always)."""
    plan = route_traffic(rolled_out_then_new(), percent, ready=None, tag_routing=tag_routing)
    assert plan.traffic == (
        TrafficTarget(R2, percent, tag="latest" if tag_routing else None, latest_revision=True),
        TrafficTarget(R1, 100 - percent, tag="prev", latest_revision=False),
    )
    assert sum(target.percent for target in plan.traffic) == 100
    assert plan.state.latest_rolled_out == R1  # a canary is not a rollout
    assert plan.state.previous_rolled_out is None
    assert deployed(plan) == [R1, R2]


def test_canary_waits_for_the_latest_to_be_ready() -> None:
    plan = route_traffic(rolled_out_then_new(), 20, ready={R1, R2})
    assert [t.revision for t in plan.traffic] == [R2, R1]


def test_iris_then_iris_canary_splits_20_80_on_the_predictor_only() -> None:
    """The documented workflow: apply iris.yaml, then iris-canary.yaml."""
    (base,) = load_inference_services(MANIFESTS / "iris.yaml")
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    plan = replan(canary, plan_service(base))
    assert plan.components["predictor"].traffic == (
        TrafficTarget("iris-predictor-00002", 20, tag=None, latest_revision=True),
        TrafficTarget("iris-predictor-00001", 80, tag="prev", latest_revision=False),
    )
    assert plan.components["transformer"].traffic == (
        TrafficTarget("iris-transformer-00001", 100, tag=None, latest_revision=True),
    )


def test_changing_canary_percent_moves_traffic_without_a_revision() -> None:
    """KServe: raising canaryTrafficPercent (20 -> 60) shifts traffic; the revisions stay the same."""
    (base,) = load_inference_services(MANIFESTS / "iris.yaml")
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    raised_doc = canary.model_dump()
    raised_doc["spec"]["predictor"] = _with_percent(canary, 60)
    plan = replan(parse_inference_service(raised_doc), replan(canary, plan_service(base)))
    assert revision_names(plan) == ["iris-predictor-00001", "iris-predictor-00002"]
    assert [(t.revision, t.percent) for t in plan.components["predictor"].traffic] == [
        ("iris-predictor-00002", 60),
        ("iris-predictor-00001", 40),
    ]


def _with_percent(service: InferenceService, percent: int | None) -> dict[str, Any]:
    predictor = copy.deepcopy(service.model_dump()["spec"]["predictor"])
    predictor["canaryTrafficPercent"] = percent
    return predictor


@pytest.mark.parametrize("percent", [None, 100])
def test_promotion_makes_latest_rolled_out_and_old_one_previous(percent: int | None) -> None:
    """KServe: removing canaryTrafficPercent (or 100) promotes: latestRolledout=latest, previousRolledout=old."""
    plan = route_traffic(rolled_out_then_new(), percent, ready=None)
    assert plan.traffic == (TrafficTarget(R2, 100, tag=None, latest_revision=True),)
    assert plan.state.latest_rolled_out == R2
    assert plan.state.previous_rolled_out == R1
    assert deployed(plan) == [R2]


def test_promotion_is_stable_when_reapplied() -> None:
    promoted = route_traffic(rolled_out_then_new(), None, ready=None)
    again = route_traffic(promoted.state, None, ready=None)
    assert again == promoted


def test_promoting_the_iris_canary_by_removing_the_percent() -> None:
    (base,) = load_inference_services(MANIFESTS / "iris.yaml")
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    promote_doc = canary.model_dump()
    promote_doc["spec"]["predictor"] = _with_percent(canary, None)
    plan = replan(parse_inference_service(promote_doc), replan(canary, plan_service(base)))
    predictor = plan.components["predictor"]
    assert revision_names(plan) == ["iris-predictor-00001", "iris-predictor-00002"]
    assert predictor.traffic == (TrafficTarget("iris-predictor-00002", 100, None, True),)
    assert (predictor.state.latest_rolled_out, predictor.state.previous_rolled_out) == (
        "iris-predictor-00002",
        "iris-predictor-00001",
    )


def test_canary_percent_zero_rolls_back_to_prev() -> None:
    """KServe: canaryTrafficPercent 0 sends 100% back to latestRolledoutRevision."""
    plan = route_traffic(rolled_out_then_new(), 0, ready=None)
    assert plan.traffic == (
        TrafficTarget(R2, 0, tag=None, latest_revision=True),
        TrafficTarget(R1, 100, tag="prev", latest_revision=False),
    )
    assert plan.state.latest_rolled_out == R1
    assert deployed(plan) == [R1, R2]


def split_on_the_rolled_out(percent: int | None) -> tuple[TrafficTarget, ...]:
    """What Knative routes while the latest revision is not ready: ``latestRevision: true`` resolves to
    the latest *ready* revision, the rolled-out one, so both entries of a split name it."""
    if percent is None or percent >= 100:
        return (TrafficTarget(R1, 100, tag=None, latest_revision=True),)
    return (TrafficTarget(R1, percent, None, True), TrafficTarget(R1, 100 - percent, tag="prev"))


@pytest.mark.parametrize("percent", [None, 0, 20, 100])
def test_failed_latest_gets_no_traffic_and_rolled_out_keeps_100(percent: int | None) -> None:
    """KServe: a revision that never becomes ready never receives traffic, even when promoted."""
    plan = route_traffic(rolled_out_then_new(failed={R2: "crashed"}), percent, ready=None)
    assert plan.traffic == split_on_the_rolled_out(percent)
    assert {t.revision for t in plan.traffic if t.percent} == {R1}
    assert plan.state.latest_rolled_out == R1
    assert plan.state.previous_rolled_out is None
    assert deployed(plan) == [R1]  # a failed revision is not kept running


@pytest.mark.parametrize("percent", [None, 20])
def test_latest_not_ready_yet_gets_no_traffic_but_keeps_running(percent: int | None) -> None:
    plan = route_traffic(rolled_out_then_new(), percent, ready={R1})
    assert plan.traffic == split_on_the_rolled_out(percent)
    assert plan.state.latest_rolled_out == R1
    assert deployed(plan) == [R1, R2]


def test_promotion_after_the_latest_becomes_ready() -> None:
    waiting = route_traffic(rolled_out_then_new(), None, ready={R1})
    ready = route_traffic(waiting.state, None, ready={R1, R2})
    assert ready.traffic == (TrafficTarget(R2, 100, None, True),)
    assert (ready.state.latest_rolled_out, ready.state.previous_rolled_out) == (R2, R1)


def test_new_revision_after_a_failed_one_canaries_against_the_rolled_out() -> None:
    state = ComponentState(
        revisions=(revision(1), revision(2), revision(3)), latest_rolled_out=R1, failed={R2: "crashed"}
    )
    plan = route_traffic(state, 20, ready=None)
    assert [(t.revision, t.percent, t.tag) for t in plan.traffic] == [(R3, 20, None), (R1, 80, "prev")]
    assert deployed(plan) == [R1, R3]


def test_second_promotion_shifts_previous_rolled_out() -> None:
    state = ComponentState(
        revisions=(revision(1), revision(2), revision(3)), latest_rolled_out=R2, previous_rolled_out=R1
    )
    plan = route_traffic(state, None, ready=None)
    assert (plan.state.latest_rolled_out, plan.state.previous_rolled_out) == (R3, R2)
    assert deployed(plan) == [R3]


def test_a_percent_on_a_promoted_latest_rolls_back_to_the_previous_as_kserve_does() -> None:
    """KServe's PropagateStatus: the rolled-out latest split with itself (P% as latest, the rest as prev) makes
    previousRolledoutRevision the rolled-out one again, which then takes 100-P% (the previous stays)."""
    promoted = ComponentState(revisions=(revision(1), revision(2)), latest_rolled_out=R2, previous_rolled_out=R1)
    plan = route_traffic(promoted, 30, ready=None)
    assert plan.traffic == (TrafficTarget(R2, 30, None, True), TrafficTarget(R1, 70, "prev", False))
    assert (plan.state.latest_rolled_out, plan.state.previous_rolled_out) == (R1, R1)
    assert route_traffic(plan.state, 30, ready=None) == plan  # stable when applied again
    rolled_back = route_traffic(promoted, 0, ready=None)
    assert rolled_back.traffic == (TrafficTarget(R2, 0, None, True), TrafficTarget(R1, 100, "prev", False))
    promoted_again = route_traffic(rolled_back.state, None, ready=None)
    assert promoted_again.traffic == (TrafficTarget(R2, 100, None, True),)
    assert (promoted_again.state.latest_rolled_out, promoted_again.state.previous_rolled_out) == (R2, R1)


def test_a_percent_on_the_only_rolled_out_revision_keeps_all_on_it() -> None:
    """With no previous rolled-out revision there is nothing to go back to: both targets are the latest."""
    state = ComponentState(revisions=(revision(1),), latest_rolled_out=R1)
    plan = route_traffic(state, 30, ready=None)
    assert plan.traffic == (TrafficTarget(R1, 30, None, True), TrafficTarget(R1, 70, "prev", False))
    assert plan.state == state


def test_component_state_helpers() -> None:
    empty = ComponentState()
    assert empty.latest is None
    state = rolled_out_then_new()
    assert state.latest is not None and state.latest.name == R2
    assert state.revision(R1).number == 1
    assert replace(state, failed={}).failed == {}


def test_canary_goes_to_the_newest_ready_revision_while_a_newer_one_starts() -> None:
    """KServe's canary target is ``latestRevision: true``, which Knative resolves to the newest *ready* revision.

    00001 rolled out, 00002 ready and canaried at 20%, 00003 just created and not ready yet: 20% stays on
    00002 until 00003 is ready (plan.py's docstring: "sends P% to the newest *ready* revision").
    """
    state = ComponentState(revisions=(revision(1), revision(2), revision(3)), latest_rolled_out=R1)
    plan = route_traffic(state, 20, ready={R1, R2})
    assert [(t.revision, t.percent) for t in plan.traffic] == [(R2, 20), (R1, 80)]
    assert R2 in deployed(plan)


def test_a_revision_that_may_scale_to_zero_pushes_its_queue_four_times_a_second() -> None:

    def options(min_replicas: int) -> dict[str, object]:
        return AutoscalingPlan(min_replicas, 2, 1, 8.0, 30.0, 30.0).as_ray_options()

    assert options(0)["metrics_interval_s"] == ZERO_METRICS_INTERVAL_S == 0.25
    assert options(1)["metrics_interval_s"] == 1.0
    assert all(o["look_back_period_s"] > o["metrics_interval_s"] for o in (options(0), options(1)))

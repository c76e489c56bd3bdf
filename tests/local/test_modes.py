"""Standard (raw Deployment) mode against Knative mode: what KServe's HPA mode makes of the same fields.

Pure planning and warnings: no Ray. KServe's rules are in ``local.modes`` (``createHPA``, ``getHPAMetrics``).
"""

from __future__ import annotations

from typing import Any

import pytest

from local.modes import hpa_scaling
from local.plan import ComponentState, plan_service, route_traffic
from local.spec import load_inference_services, parse_inference_service
from local.unhonoured import warning_lines
from tests.conftest import REPO_ROOT

STANDARD = {"serving.kserve.io/deploymentMode": "Standard"}


def service(predictor: dict[str, Any], annotations: dict[str, str] | None = None, model_dir: str = "v1") -> Any:
    container = {
        "name": "kserve-container",
        "command": ["python", "-m", "predictors.sklearn"],
        "args": [f"--model_dir={model_dir}"],
    }
    return parse_inference_service(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "iris", "annotations": annotations if annotations is not None else STANDARD},
            "spec": {"predictor": {"containers": [container], **predictor}},
        }
    )


def predictor_plan(svc: Any, previous: dict[str, ComponentState] | None = None) -> Any:
    return plan_service(svc, previous).components["predictor"]


def test_standard_mode_ignores_a_canary_percent_with_a_warning() -> None:
    first = predictor_plan(service({}))
    changed = service({"canaryTrafficPercent": 20}, model_dir="v2")
    plan = predictor_plan(changed, {"predictor": first.state})
    # The new spec replaces the old one whole (a rolling update): no 20/80 split, no tags.
    assert [(t.revision, t.percent) for t in plan.traffic] == [("iris-predictor-00002", 100)]
    assert plan.canary_percent is None
    assert plan.state.latest_rolled_out == "iris-predictor-00002"
    assert "spec.predictor.canaryTrafficPercent: ignored in Standard mode: a Deployment has no revisions" in (
        warning_lines(changed)
    )


def test_knative_mode_honours_the_same_canary_percent() -> None:
    knative = {"serving.kserve.io/deploymentMode": "Knative"}
    first = predictor_plan(service({}, knative))
    plan = predictor_plan(service({"canaryTrafficPercent": 20}, knative, "v2"), {"predictor": first.state})
    assert [(t.revision, t.percent) for t in plan.traffic] == [
        ("iris-predictor-00002", 20),
        ("iris-predictor-00001", 80),
    ]
    assert not any(
        "canaryTrafficPercent" in line for line in warning_lines(service({"canaryTrafficPercent": 20}, knative))
    )


def test_standard_mode_raises_min_replicas_zero_to_one_with_a_warning() -> None:
    svc = service({"minReplicas": 0})
    autoscaling = predictor_plan(svc).state.latest.autoscaling
    assert (autoscaling.min_replicas, autoscaling.initial_replicas, autoscaling.max_replicas) == (1, 1, 1)
    assert "spec.predictor.minReplicas: 0 becomes 1 in Standard mode: an HPA cannot scale to zero" in warning_lines(svc)


def test_knative_mode_keeps_min_replicas_zero() -> None:
    svc = service({"minReplicas": 0}, {"serving.kserve.io/deploymentMode": "Knative"})
    assert predictor_plan(svc).state.latest.autoscaling.min_replicas == 0
    assert not any("minReplicas" in line for line in warning_lines(svc))


@pytest.mark.parametrize(
    ("fields", "bounds"),
    [({}, (1, 1)), ({"minReplicas": 2}, (2, 2)), ({"minReplicas": 1, "maxReplicas": 3}, (1, 3))],
)
def test_standard_max_replicas_below_min_is_min_as_create_hpa_sets_it(
    fields: dict[str, int], bounds: tuple[int, int]
) -> None:
    autoscaling = predictor_plan(service(fields)).state.latest.autoscaling
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == bounds


@pytest.mark.parametrize(
    ("fields", "target", "warned"),
    [
        ({}, 0.8, False),  # the HPA's default: 80 % CPU
        ({"scaleMetric": "cpu", "scaleTarget": 50}, 0.5, True),
        ({"scaleMetric": "memory", "scaleTarget": 512}, 0.8, True),
        ({"scaleMetric": "concurrency", "scaleTarget": 8}, 0.8, True),  # no HPA metric: the 80 % CPU default
    ],
)
def test_standard_hpa_metric_maps_onto_target_ongoing_requests(
    fields: dict[str, Any], target: float, warned: bool
) -> None:
    svc = service(fields)
    assert predictor_plan(svc).state.latest.autoscaling.target_ongoing_requests == pytest.approx(target)
    assert any(line.startswith("spec.predictor.scaleMetric:") for line in warning_lines(svc)) is warned


def test_standard_mode_reports_knative_autoscaling_annotations() -> None:
    svc = service({}, {**STANDARD, "autoscaling.knative.dev/window": "30s", "serving.kserve.io/autoscalerClass": "hpa"})
    lines = warning_lines(svc)
    assert any(line.startswith("metadata.annotations[autoscaling.knative.dev/window]: a Knative") for line in lines)
    assert not any("autoscalerClass" in line for line in lines)  # the HPA is what Standard mode models
    autoscaling = predictor_plan(svc).state.latest.autoscaling
    assert autoscaling.downscale_delay_s == 300.0  # the HPA's stabilisation window, not Knative's 30 s


def test_a_failed_standard_update_leaves_the_old_deployment_serving() -> None:
    first = predictor_plan(service({}))
    plan = predictor_plan(service({}, model_dir="v2"), {"predictor": first.state})
    failed = ComponentState(plan.state.revisions, first.state.latest_rolled_out, None, {"iris-predictor-00002": "boom"})
    settled = route_traffic(failed, None, ready={"iris-predictor-00001"})
    assert [(t.revision, t.percent) for t in settled.traffic] == [("iris-predictor-00001", 100)]


def test_the_standard_iris_manifest_plans_hpa_bounds_and_targets() -> None:
    (svc,) = load_inference_services(REPO_ROOT / "manifests" / "iris-standard.yaml")
    latest = plan_service(svc).components["transformer"].state.latest
    assert latest is not None and svc.spec.transformer is not None
    transformer = latest.autoscaling
    assert (transformer.min_replicas, transformer.max_replicas) == (1, 3)
    assert transformer.target_ongoing_requests == pytest.approx(0.7)
    assert hpa_scaling(svc.spec.transformer).approximated == "CPU 70% approximated as 0.7 requests in flight"

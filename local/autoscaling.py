"""Knative's autoscaling fields mapped onto Ray Serve's ``AutoscalingConfig``: pure, no Ray.

``autoscaling_for`` reads a component's ``minReplicas``, ``maxReplicas``, ``scaleTarget``/``scaleMetric``,
``containerConcurrency`` and the ``autoscaling.knative.dev/*`` annotations (the component's win over the
service's, as KServe merges them) the way Knative's autoscaler resolves them: the concurrency target is
``ResolveMetricTarget``'s (``concurrency_target``), the windows and the scale-to-zero retention are
Knative's durations (``parse_duration_s``), a new revision starts with ``initial-scale`` replicas.
Standard mode (an HPA) is ``standard_autoscaling`` (``local.modes``). An annotation that does not parse
is a ``SpecError`` naming where it is (the component's ``annotations`` or the service's ``metadata``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.errors import SpecError
from local.modes import HPA_DOWNSCALE_STABILIZATION_S, hpa_scaling
from local.spec import ComponentSpec

# maxReplicas 0 means "no limit" to Knative; on a laptop the kit caps it here.
LOCAL_MAX_REPLICAS = 4
# Knative defaults (config-autoscaler): 100 concurrent requests per pod aimed at 70% of
# (container-concurrency-target-default, -percentage), 60 s stable window, 30 s grace to zero.
KNATIVE_DEFAULT_TARGET = 100.0
KNATIVE_TARGET_UTILIZATION = 0.7
KNATIVE_TARGET_MIN = 0.01  # autoscaling.TargetMin
KNATIVE_STABLE_WINDOW_S = 60.0
KNATIVE_SCALE_TO_ZERO_GRACE_S = 30.0
ANNOTATION_PREFIX = "autoscaling.knative.dev/"


ZERO_METRICS_INTERVAL_S = 0.25


@dataclass(frozen=True)
class AutoscalingPlan:
    min_replicas: int
    max_replicas: int
    initial_replicas: int
    target_ongoing_requests: float
    downscale_delay_s: float
    downscale_to_zero_delay_s: float
    upscale_delay_s: float = 0.0

    def as_ray_options(self) -> dict[str, Any]:
        """Keyword arguments for ``ray.serve.config.AutoscalingConfig``."""
        options = {
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing_requests,
            "downscale_delay_s": self.downscale_delay_s,
            "downscale_to_zero_delay_s": self.downscale_to_zero_delay_s,
            "upscale_delay_s": self.upscale_delay_s,
            "initial_replicas": self.initial_replicas,
            # How often a handle pushes its queue to the controller (Ray 2.60's router: the
            # PUSH_METRICS_TO_CONTROLLER task; its 10 s default would also make Ray warn that
            # look_back_period_s must exceed it). At zero replicas Serve pushes at once when a request
            # queues, but only if the handle already knows the replicas are gone: a request sent just
            # after a scale to zero waited for this push (1.37 s measured with 1 s). So a revision that
            # may scale to zero pushes every 0.25 s: its cold start's scaling decision stays under 0.4 s.
            "metrics_interval_s": ZERO_METRICS_INTERVAL_S if self.min_replicas == 0 else 1.0,
            "look_back_period_s": 2.0,
        }
        return options


def parse_duration_s(value: str, where: str) -> float:
    """Knative reads durations with Go's time.ParseDuration: '30s', '1m30s', '1.5s', '500ms', '1h'."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    text = value.strip()
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)", text)
    if text == "0":
        return 0.0
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise SpecError(f"{where}: {value!r} is not a duration like '30s', '1m30s' or '1.5s'")
    return sum(float(number) * units[unit] for number, unit in parts)


def _positive(value: str, where: str, upper: float | None = None) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or (upper is not None and number > upper):
        bound = f" and at most {upper:g}" if upper is not None else ""
        raise SpecError(f"{where}: {value!r} must be a number above 0{bound}")
    return number


def concurrency_target(
    component: ComponentSpec, annotation: Callable[[str], str | None], path: Callable[[str], str]
) -> float:
    """Requests in flight per replica to aim for: Knative's ``ResolveMetricTarget``
    (``pkg/reconciler/autoscaling/resources/target.go``) for the concurrency metric.

    The total is ``containerConcurrency`` (0: the default 100); a target (KServe writes ``scaleTarget`` into
    ``autoscaling.knative.dev/target``, ``SetAutoScalingAnnotations``; else the annotation itself) replaces
    it, capped at ``containerConcurrency``; the aim is total x the target utilisation (annotation
    ``target-utilization-percentage``, default 70%), at least 0.01. A ``scaleTarget`` of another metric
    (rps, cpu, memory: not Ray's) is left aside and reported (``local.unhonoured``).
    """
    cc = component.containerConcurrency
    total = float(cc) if cc else KNATIVE_DEFAULT_TARGET
    asked: float | None = None
    if component.scaleMetric in (None, "concurrency"):
        if component.scaleTarget is not None:
            asked = float(component.scaleTarget)
        elif (value := annotation("target")) is not None:
            asked = _positive(value, path("target"))
    if asked is not None:
        total = min(asked, float(cc)) if cc else asked
    utilization = KNATIVE_TARGET_UTILIZATION
    if (percent := annotation("target-utilization-percentage")) is not None:
        utilization = _positive(percent, path("target-utilization-percentage"), upper=100) / 100
    return max(KNATIVE_TARGET_MIN, total * utilization)


def autoscaling_for(component: ComponentSpec, annotations: dict[str, str], where: str) -> AutoscalingPlan:
    """Map KServe/Knative autoscaling fields onto Ray Serve's autoscaling options."""
    merged = {**annotations, **component.annotations}

    def annotation(key: str) -> str | None:
        return merged.get(ANNOTATION_PREFIX + key)

    def path(key: str) -> str:
        """Where the annotation ``key`` is written: the component's (which wins) or the service's."""
        owner = where if ANNOTATION_PREFIX + key in component.annotations else "metadata"
        return f"{owner}.annotations.{ANNOTATION_PREFIX}{key}"

    max_replicas = component.maxReplicas or LOCAL_MAX_REPLICAS
    if component.maxReplicas and component.maxReplicas < component.minReplicas:
        raise SpecError(f"{where}.maxReplicas: {component.maxReplicas} is below minReplicas {component.minReplicas}")
    max_replicas = max(max_replicas, component.minReplicas, 1)
    target = concurrency_target(component, annotation, path)
    retention = annotation("scale-to-zero-pod-retention-period")
    window = annotation("window")
    scale_down_delay = annotation("scale-down-delay")
    initial = annotation("initial-scale")
    downscale_delay = parse_duration_s(window, path("window")) if window else KNATIVE_STABLE_WINDOW_S
    if scale_down_delay:
        downscale_delay = parse_duration_s(scale_down_delay, path("scale-down-delay"))
    to_zero = (
        parse_duration_s(retention, path("scale-to-zero-pod-retention-period"))
        if retention
        else KNATIVE_SCALE_TO_ZERO_GRACE_S
    )
    # Knative starts every new revision with initial-scale (default 1) pods, proving it can become
    # ready, before scaling it down to minReplicas.
    initial_replicas = min(max(1, component.minReplicas), max_replicas)
    if initial is not None:
        if not initial.isdigit():
            raise SpecError(f"{path('initial-scale')}: {initial!r} is not a whole number")
        initial_replicas = min(max(int(initial), component.minReplicas), max_replicas)
    return AutoscalingPlan(
        min_replicas=component.minReplicas,
        max_replicas=max_replicas,
        initial_replicas=initial_replicas,
        target_ongoing_requests=target,
        downscale_delay_s=max(downscale_delay, 0.1),
        downscale_to_zero_delay_s=max(to_zero, 0.1),
    )


def standard_autoscaling(component: ComponentSpec) -> AutoscalingPlan:
    """Standard mode: the HPA's bounds and target (``local.modes``), never at zero."""
    hpa = hpa_scaling(component)
    return AutoscalingPlan(
        min_replicas=hpa.min_replicas,
        max_replicas=hpa.max_replicas,
        initial_replicas=hpa.min_replicas,
        target_ongoing_requests=hpa.target_ongoing_requests,
        downscale_delay_s=HPA_DOWNSCALE_STABILIZATION_S,
        downscale_to_zero_delay_s=HPA_DOWNSCALE_STABILIZATION_S,
    )

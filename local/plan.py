"""The planner: a pure function from (InferenceService, previous state) to the desired runtime.

``plan_service`` decides, as KServe's controller and Knative do, which revisions exist, which ones
are kept deployed and how traffic splits between them; it maps each component's autoscaling fields
onto Ray Serve's ``AutoscalingConfig`` options. It does no I/O and knows nothing of Ray: the applier
(``local.ray_layer``) executes the plan.

KServe semantics reproduced (serving.kserve.io/v1beta1, Knative mode):
* a change to a component's spec (anything but ``canaryTrafficPercent``), or to the service's labels or
  annotations (but KServe's ``serviceAnnotationDisallowedList``), creates a revision named
  ``{isvc}-{component}-{00001, 00002, ...}``;
* ``canaryTrafficPercent: P`` with a rolled-out revision sends P% to the newest *ready* revision
  (``latestRevision: true``; tag ``latest`` with tag routing only) and 100-P% to ``latestRolledoutRevision``
  (tag ``prev``, always), as ``reconcilers/knative/ksvc_reconciler.go`` writes the Knative Service's traffic;
  on a first deploy P is ignored; promotion (no P, or 100) makes the latest the rolled-out one and the
  old one the ``previousRolledoutRevision``; P = 0 rolls back; a revision that never became ready gets no
  traffic;
* a revision's queue bound and ``timeout`` are Knative's, derived in ``local.limits``.

In Standard (raw Deployment) mode (``local.modes``) there is one Deployment and no canary: each spec change
still starts a new revision internally (the Deployment's new ReplicaSet), which takes all traffic once ready
while the old one serves until then (a rolling update that never leaves the service without a ready
replica); ``canaryTrafficPercent`` is ignored and the HPA's bounds and target apply (``modes.hpa_scaling``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from local.errors import SpecError
from local.limits import ACTIVATOR_QUEUE_DEPTH, DEFAULT_TIMEOUT_S, request_limits
from local.modes import HPA_DOWNSCALE_STABILIZATION_S, hpa_scaling, is_standard
from local.spec import ComponentSpec, EntryPoint, InferenceService, entrypoint_of
from local.traffic import TrafficTarget

# maxReplicas 0 means "no limit" to Knative; on a laptop the kit caps it here.
LOCAL_MAX_REPLICAS = 4
# containerConcurrency 0 means "unlimited" to Knative; Ray Serve needs a bound per replica.
LOCAL_MAX_ONGOING_REQUESTS = 256
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


@dataclass(frozen=True)
class BatchingPlan:
    """KServe's ``batcher``: at most ``max_batch_size`` requests predicted together.

    ``max_latency_ms`` bounds the wait; locally a batch never waits for more requests than are already
    queued (a lone request is not held), so the bound is met by construction.
    """

    max_batch_size: int
    max_latency_ms: int


@dataclass(frozen=True)
class Revision:
    """One immutable revision of a component: what runs, and how it scales."""

    name: str
    component: str
    number: int
    spec_hash: str
    entrypoint: EntryPoint
    autoscaling: AutoscalingPlan
    max_ongoing_requests: int
    batching: BatchingPlan | None = None
    max_queued_requests: int = ACTIVATOR_QUEUE_DEPTH
    """Requests that may wait for a replica; beyond, 503 (``local.limits``)."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """KServe's ``timeout`` (Knative's ``timeoutSeconds``): beyond, 504 (``local.limits``)."""


@dataclass(frozen=True)
class ComponentState:
    """What the runtime remembers of a component between applies (persisted by the revision store)."""

    revisions: tuple[Revision, ...] = ()
    latest_rolled_out: str | None = None
    previous_rolled_out: str | None = None
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def latest(self) -> Revision | None:
        return self.revisions[-1] if self.revisions else None

    def revision(self, name: str) -> Revision:
        return next(r for r in self.revisions if r.name == name)


@dataclass(frozen=True)
class ComponentPlan:
    component: str
    state: ComponentState
    traffic: tuple[TrafficTarget, ...]
    canary_percent: int | None
    base: ComponentState | None = field(default=None, compare=False, repr=False)
    """The state this plan was routed from: re-routed once the deploy says what is actually ready."""
    tag_routing: bool = False
    """``serving.kserve.io/enable-tag-routing``: the latest target is tagged ``latest``."""

    @property
    def deployed(self) -> tuple[Revision, ...]:
        """Revisions that must be running: those with traffic, plus the latest while it becomes ready."""
        names = {target.revision for target in self.traffic}
        latest = self.state.latest
        if latest is not None and latest.name not in self.state.failed:
            names.add(latest.name)
        return tuple(r for r in self.state.revisions if r.name in names)


@dataclass(frozen=True)
class ServicePlan:
    name: str
    namespace: str
    components: dict[str, ComponentPlan]


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


def concurrency_target(component: ComponentSpec, annotation: Callable[[str], str | None], where: str) -> float:
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
            asked = _positive(value, f"{where}.annotations.{ANNOTATION_PREFIX}target")
    if asked is not None:
        total = min(asked, float(cc)) if cc else asked
    utilization = KNATIVE_TARGET_UTILIZATION
    if (percent := annotation("target-utilization-percentage")) is not None:
        key = f"{where}.annotations.{ANNOTATION_PREFIX}target-utilization-percentage"
        utilization = _positive(percent, key, upper=100) / 100
    return max(KNATIVE_TARGET_MIN, total * utilization)


def autoscaling_for(component: ComponentSpec, annotations: dict[str, str], where: str) -> AutoscalingPlan:
    """Map KServe/Knative autoscaling fields onto Ray Serve's autoscaling options."""
    merged = {**annotations, **component.annotations}

    def annotation(key: str) -> str | None:
        return merged.get(ANNOTATION_PREFIX + key)

    max_replicas = component.maxReplicas or LOCAL_MAX_REPLICAS
    if component.maxReplicas and component.maxReplicas < component.minReplicas:
        raise SpecError(f"{where}.maxReplicas: {component.maxReplicas} is below minReplicas {component.minReplicas}")
    max_replicas = max(max_replicas, component.minReplicas, 1)
    target = concurrency_target(component, annotation, where)
    retention = annotation("scale-to-zero-pod-retention-period")
    window = annotation("window")
    scale_down_delay = annotation("scale-down-delay")
    initial = annotation("initial-scale")
    downscale_delay = parse_duration_s(window, f"{where}.annotations.window") if window else KNATIVE_STABLE_WINDOW_S
    if scale_down_delay:
        downscale_delay = parse_duration_s(scale_down_delay, f"{where}.annotations.scale-down-delay")
    to_zero = (
        parse_duration_s(retention, f"{where}.annotations.scale-to-zero-pod-retention-period")
        if retention
        else KNATIVE_SCALE_TO_ZERO_GRACE_S
    )
    # Knative starts every new revision with initial-scale (default 1) pods, proving it can become
    # ready, before scaling it down to minReplicas.
    initial_replicas = min(max(1, component.minReplicas), max_replicas)
    if initial is not None:
        if not initial.isdigit():
            raise SpecError(f"{where}.annotations.initial-scale: {initial!r} is not a whole number")
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


# KServe's default serviceAnnotationDisallowedList (pkg/constants/constants.go): annotations kept off the
# revision template, so a change of them makes no revision.
ANNOTATIONS_OFF_THE_TEMPLATE = frozenset(
    {
        ANNOTATION_PREFIX + "min-scale",
        ANNOTATION_PREFIX + "max-scale",
        "internal.serving.kserve.io/storage-initializer-sourceuri",
        "kubectl.kubernetes.io/last-applied-configuration",
        "modelFormat",
    }
)
KIT_ANNOTATION_PREFIX = "isvc-kit.io/"
"""The kit's own annotations (``isvc-kit.io/placement``) say how the local runtime runs a revision, not
what it is: a change of them makes no revision (on a cluster they mean nothing)."""
SPEC_HASH_SCHEME = "t2-"
"""Prefix of hashes that cover the revision template as KServe builds it; unprefixed ones are of the
first scheme (component and Knative annotations only), still honoured for revisions stored with them."""


def spec_hash(component: ComponentSpec, service: InferenceService) -> str:
    """Hash of what KServe puts on a component's revision template, so a change of it makes a revision:
    the component's spec (not ``canaryTrafficPercent``), the service's labels and its annotations but
    those of ``serviceAnnotationDisallowedList`` (``components/predictor.go``: ``buildObjectMeta``) and the
    kit's own."""
    content = component.model_dump(mode="json", exclude={"canaryTrafficPercent"})
    annotations = {
        key: value
        for key, value in service.metadata.annotations.items()
        if key not in ANNOTATIONS_OFF_THE_TEMPLATE and not key.startswith(KIT_ANNOTATION_PREFIX)
    }
    template = [content, annotations, service.metadata.labels]
    return SPEC_HASH_SCHEME + hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


def _first_scheme_hash(component: ComponentSpec, annotations: dict[str, str]) -> str:
    content = component.model_dump(mode="json", exclude={"canaryTrafficPercent"})
    knative = {k: v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)}
    return hashlib.sha256(json.dumps([content, knative], sort_keys=True).encode()).hexdigest()[:16]


def same_template(revision: Revision, component: ComponentSpec, service: InferenceService, digest: str) -> bool:
    """Whether ``revision`` was made from this template (a stored revision may carry a first-scheme hash)."""
    if revision.spec_hash.startswith(SPEC_HASH_SCHEME):
        return revision.spec_hash == digest
    return revision.spec_hash == _first_scheme_hash(component, service.metadata.annotations)


def plan_component(
    service: InferenceService, name: str, component: ComponentSpec, previous: ComponentState | None
) -> ComponentPlan:
    where = f"spec.{name}"
    state = previous or ComponentState()
    standard = is_standard(service)
    digest = spec_hash(component, service)
    if state.latest is None or not same_template(state.latest, component, service, digest):
        number = (state.latest.number + 1) if state.latest else 1
        autoscaling = (
            standard_autoscaling(component)
            if standard
            else autoscaling_for(component, service.metadata.annotations, where)
        )
        limits = request_limits(component.containerConcurrency, autoscaling.max_replicas, component.timeout, where)
        revision = Revision(
            name=f"{service.name}-{name}-{number:05d}",
            component=name,
            number=number,
            spec_hash=digest,
            entrypoint=entrypoint_of(component, where, service.name),
            autoscaling=autoscaling,
            max_ongoing_requests=component.containerConcurrency or LOCAL_MAX_ONGOING_REQUESTS,
            batching=(
                BatchingPlan(component.batcher.maxBatchSize, component.batcher.maxLatency)
                if component.batcher is not None
                else None
            ),
            max_queued_requests=limits.max_queued_requests,
            timeout_s=limits.timeout_s,
        )
        state = replace(state, revisions=(*state.revisions, revision))
    # Standard mode has no canary: every ready revision takes all traffic (a rolling update).
    canary = None if standard else component.canaryTrafficPercent
    return route_traffic(state, canary, ready=None, tag_routing=service.tag_routing and not standard)


def route_traffic(
    state: ComponentState, canary_percent: int | None, ready: set[str] | None, tag_routing: bool = False
) -> ComponentPlan:
    """Split traffic as KServe's ksvc reconciler writes it (``reconcilers/knative/ksvc_reconciler.go``).

    With ``canaryTrafficPercent`` P and a rolled-out revision: P% to the latest ready revision
    (``latestRevision: true``) and, when P < 100, 100-P% to ``latestRolledoutRevision`` tagged ``prev``;
    otherwise (no P, or a first rollout, which ignores P) 100% to the latest ready revision. The latest
    target is tagged ``latest`` only with ``serving.kserve.io/enable-tag-routing: "true"``; ``prev`` always.

    ``ready`` lists the revisions known to be ready; None (planning before deploying) assumes every
    revision that has not failed is. The latest ready revision is the newest ready one newer than
    ``latestRolledoutRevision``, else that one (Knative's ``latestReadyRevisionName``): a newer one still
    starting, or failed, changes nothing yet, so both entries of a split may name the same revision.
    """
    latest = state.latest
    assert latest is not None, "a component always has a revision once planned"
    component = latest.component
    base = state

    def is_ready(revision: Revision) -> bool:
        return revision.name not in state.failed and (ready is None or revision.name in ready)

    rolled_out = state.revision(state.latest_rolled_out) if state.latest_rolled_out else None
    newer = [r for r in state.revisions if rolled_out is None or r.number > rolled_out.number]
    candidate = next((r for r in reversed(newer) if is_ready(r)), None)
    latest_ready = candidate or rolled_out
    if latest_ready is None:  # nothing ready yet: no traffic
        return ComponentPlan(component, state, (), canary_percent, base, tag_routing)
    latest_tag = "latest" if tag_routing else None
    traffic: tuple[TrafficTarget, ...]
    if canary_percent is not None and rolled_out is not None:
        traffic = (TrafficTarget(latest_ready.name, canary_percent, tag=latest_tag, latest_revision=True),)
        if canary_percent < 100:
            traffic += (TrafficTarget(rolled_out.name, 100 - canary_percent, tag="prev", latest_revision=False),)
        if candidate is not None and canary_percent >= 100:  # KServe rolls out at 100 as without a canary
            state = replace(state, latest_rolled_out=candidate.name, previous_rolled_out=rolled_out.name)
    else:
        traffic = (TrafficTarget(latest_ready.name, 100, tag=latest_tag, latest_revision=True),)
        if candidate is not None and rolled_out is None:  # the first rollout
            state = replace(state, latest_rolled_out=candidate.name)
        elif candidate is not None and rolled_out is not None:
            state = replace(state, latest_rolled_out=candidate.name, previous_rolled_out=rolled_out.name)
    return ComponentPlan(component, state, traffic, canary_percent, base, tag_routing)


def plan_service(service: InferenceService, previous: dict[str, ComponentState] | None = None) -> ServicePlan:
    previous = previous or {}
    components = {
        name: plan_component(service, name, component, previous.get(name))
        for name, component in service.components().items()
    }
    return ServicePlan(service.name, service.namespace, components)

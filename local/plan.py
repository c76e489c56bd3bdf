"""The planner: a pure function from (InferenceService, previous state) to the desired runtime.

``plan_service`` decides, as KServe's controller and Knative do, which revisions exist, which ones
are kept deployed and how traffic splits between them; each revision carries its autoscaling
(``local.autoscaling``) and is identified by its template (``local.revision_template``). It does no I/O
and knows nothing of Ray: the applier (``local.gateway.controller``) carries the plan out.

KServe semantics reproduced (serving.kserve.io/v1beta1, Knative mode):
* a change to a component's spec (anything but ``canaryTrafficPercent``), or to the service's labels or
  annotations (but KServe's ``serviceAnnotationDisallowedList``), creates a revision named
  ``{isvc}-{component}-{00001, 00002, ...}``;
* ``canaryTrafficPercent: P`` with a rolled-out revision sends P% to the newest *ready* revision
  (``latestRevision: true``; tag ``latest`` with tag routing only) and 100-P% to ``latestRolledoutRevision``
  (tag ``prev``, always), as ``reconcilers/knative/ksvc_reconciler.go`` writes the Knative Service's traffic;
  on a first deploy P is ignored; promotion (no P, or 100) makes the latest the rolled-out one and the
  old one the ``previousRolledoutRevision``; P = 0 rolls back, after a promotion too (P < 100 on the
  rolled-out latest sends 100-P% back to ``previousRolledoutRevision``, as KServe's ``PropagateStatus``
  does); a revision that never became ready gets no traffic;
* a revision's queue bound and ``timeout`` are Knative's, derived in ``local.limits``.

In Standard (raw Deployment) mode (``local.modes``) there is one Deployment and no canary: each spec change
still starts a new revision internally (the Deployment's new ReplicaSet), which takes all traffic once ready
while the old one serves until then (a rolling update that never leaves the service without a ready
replica); ``canaryTrafficPercent`` is ignored and the HPA's bounds and target apply (``modes.hpa_scaling``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from local.autoscaling import AutoscalingPlan, autoscaling_for, standard_autoscaling
from local.limits import ACTIVATOR_QUEUE_DEPTH, DEFAULT_TIMEOUT_S, request_limits
from local.modes import is_standard
from local.revision_template import same_template, spec_hash
from local.spec import ComponentSpec, EntryPoint, InferenceService, entrypoint_of
from local.traffic import TrafficTarget

# containerConcurrency 0 means "unlimited" to Knative; Ray Serve needs a bound per replica.
LOCAL_MAX_ONGOING_REQUESTS = 256


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


def plan_component(
    service: InferenceService, name: str, component: ComponentSpec, previous: ComponentState | None
) -> ComponentPlan:
    where = f"spec.{name}"
    state = previous or ComponentState()
    standard = is_standard(service)
    digest = spec_hash(component, service)
    if (
        state.latest is not None
        and state.latest.spec_hash != digest
        and same_template(state.latest, component, service, digest)
    ):  # a first-scheme revision of this spec: stamped with this scheme's hash, so later changes show
        state = replace(state, revisions=(*state.revisions[:-1], replace(state.latest, spec_hash=digest)))
    if state.latest is None or state.latest.spec_hash != digest:
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
    return route_traffic(state, canary, ready=None, tag_routing=service.tag_routing_of(name) and not standard)


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
    previous = state.previous_rolled_out
    if (
        canary_percent is not None
        and canary_percent < 100
        and rolled_out is not None
        and rolled_out.name == latest.name
        and previous is not None
        and is_ready(latest)
    ):
        # KServe's PropagateStatus: the rolled-out latest split with itself (P% as latest, the rest as
        # prev) is a rollback: latestRolledoutRevision goes back to previousRolledoutRevision, which
        # then takes 100-P% as ``prev`` (the previous stays as it was).
        state = replace(state, latest_rolled_out=previous)
        rolled_out = state.revision(previous)
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

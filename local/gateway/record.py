"""The controller's record of one applied InferenceService: an immutable value, replaced whole.

``ServiceState`` is what an apply decided for a service (its spec, the plans of its components, which
revisions and units are ready, the placement), plain data the reconcile (``local.gateway.reconcile``)
returns; ``ServiceRecord`` is that state with the live parts the request path uses (its model and entry
logger), which the applier (``local.gateway.controller``) attaches. An apply builds a new record once the
deploy has finished and publishes it with one reference assignment, so a reader (the request path,
``/metrics``, the API) sees the old record or the new one, never a mix; nothing mutates a published
record. ``settled_plan`` turns a component's plan and the deploy's outcomes into
the plan the record keeps; ``route_table`` derives the request path's routing table from a record.
Pure: no Ray, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from local.gateway.routing import ComponentRoute, IsvcModel, RouteTable
from local.placement import SEPARATE, Outcome, Placement, Unit
from local.plan import ComponentPlan, route_traffic
from local.spec import InferenceService

if TYPE_CHECKING:
    from local.logger import InferenceLogger


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def frozen_plans(plans: Mapping[str, ComponentPlan]) -> Mapping[str, ComponentPlan]:
    """A read-only copy: the record's plans cannot change after it is published."""
    return MappingProxyType(dict(plans))


@dataclass(frozen=True)
class ServiceState:
    """What an apply decided for a service, as plain data: what ``local.gateway.reconcile`` returns."""

    service: InferenceService
    plans: Mapping[str, ComponentPlan] = field(default_factory=lambda: frozen_plans({}))
    warnings: tuple[str, ...] = ()
    ready_revisions: frozenset[str] = frozenset()
    ready_units: frozenset[str] = frozenset()
    units: tuple[Unit, ...] = ()
    placement: Placement = SEPARATE
    created: str = ""

    @property
    def revision_names(self) -> frozenset[str]:
        """Every revision the service's components have, ready or not."""
        return frozenset(r.name for plan in self.plans.values() for r in plan.state.revisions)


@dataclass(frozen=True, kw_only=True)
class ServiceRecord(ServiceState):
    """One service as of its last apply: its state with the live parts the request path uses."""

    model: IsvcModel
    logger: InferenceLogger | None = None

    @classmethod
    def of(cls, state: ServiceState, model: IsvcModel, logger: InferenceLogger | None) -> ServiceRecord:
        return cls(**{f.name: getattr(state, f.name) for f in fields(ServiceState)}, model=model, logger=logger)


def route_table(record: ServiceState) -> RouteTable:
    """The routing table of a service's state: traffic per component, as its plans split it."""
    components = {name: ComponentRoute(plan.traffic) for name, plan in record.plans.items()}
    entry_component = "transformer" if "transformer" in components else "predictor"
    # Behind a transformer, a predictor that may be at zero is woken with the transformer, not after it.
    predictor = record.plans["predictor"].state.latest
    idle = predictor.autoscaling.downscale_to_zero_delay_s if predictor else None
    wake = idle if entry_component != "predictor" and predictor and predictor.autoscaling.min_replicas == 0 else None
    return RouteTable(
        entry_component,
        components,
        record.service.tag_routing,
        wake_downstream_after_s=wake if record.placement.mode == "separate" else None,
        placement=record.placement,
        namespace=record.service.namespace,
    )


def settled_plan(ready: set[str], plan: ComponentPlan, outcomes: Mapping[str, Outcome]) -> ComponentPlan:
    """After a deploy: add to ``ready`` the revisions that became ready, mark the failed, split traffic
    by what is ready (KServe's canary rules, ``local.plan.route_traffic``), forget the retired.

    Traffic is split again from the state the plan was routed from (``plan.base``), not from the plan's
    optimistic routing, which took every revision for ready: a revision that failed never becomes rolled out."""
    state = plan.base or plan.state
    for revision in plan.deployed:
        outcome = outcomes.get(revision.name)
        if outcome is None:
            continue
        if outcome.ready:
            ready.add(revision.name)
        else:
            message = outcome.message or f"revision {revision.name} is {outcome.status}"
            state = replace(state, failed={**state.failed, revision.name: message})
    final = route_traffic(state, plan.canary_percent, ready=ready, tag_routing=plan.tag_routing)
    keep = {revision.name for revision in final.deployed}
    for revision in state.revisions:
        if revision.name not in keep:
            ready.discard(revision.name)
    return final

"""``isvc rollout canary|promote|rollback`` as the spec change KServe's would be: pure, no runtime.

canary P sets ``canaryTrafficPercent: P``; promote removes it; rollback sets 0: while a canary runs all
traffic goes back to the rolled-out revision, and after a promotion to ``previousRolledoutRevision``
(KServe's ``PropagateStatus`` rolls the rolled-out latest back when it is split with itself; the planner
does the same, ``local.plan.route_traffic``), without a new revision. The controller applies the result.
Standard mode has no revisions to split or go back to (KServe ignores ``canaryTrafficPercent`` there):
every action is refused with a 409 saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from local.errors import ConflictError, NotFoundError, SpecError
from local.modes import is_standard
from local.spec import InferenceService
from local.traffic import canary

if TYPE_CHECKING:
    from local.gateway.record import ServiceRecord


def rollout_change(
    record: ServiceRecord, action: str, component: str = "predictor", percent: int | None = None
) -> InferenceService:
    """The spec to apply."""
    name = record.service.name
    plan = record.plans.get(component)
    if plan is None:
        raise NotFoundError(f"InferenceService {name!r} has no {component}")
    if is_standard(record.service):
        raise ConflictError(
            f"{name}: Standard mode has no revisions to {action} (a spec change replaces the Deployment whole); "
            "apply the spec you want instead"
        )
    if action == "canary":
        if percent is None or not 0 <= percent <= 100:
            raise SpecError(f"spec.{component}.canaryTrafficPercent: must be 0..100, got {percent}")
        new_percent: int | None = percent
    elif action == "promote":
        new_percent = None
    elif action == "rollback":
        new_percent = 0
        if canary(plan.traffic) is None and plan.state.previous_rolled_out is None:
            raise ConflictError(f"{name}: {component} has no previous rolled-out revision to roll back to")
    else:
        raise SpecError(f"unknown rollout action {action!r}")
    document = record.service.model_dump(mode="json", exclude_none=True)
    document["spec"][component].pop("canaryTrafficPercent", None)
    if new_percent is not None:
        document["spec"][component]["canaryTrafficPercent"] = new_percent
    return InferenceService.model_validate(document)

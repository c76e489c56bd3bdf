"""``isvc rollout canary|promote|rollback`` as the spec change KServe's would be: pure, no runtime.

canary P sets ``canaryTrafficPercent: P``; promote removes it; rollback sets 0 while a canary runs,
and after a promotion goes back to ``previousRolledoutRevision`` pinned with P = 0 (what re-applying
the old spec does on a cluster, without a new revision). The controller applies the result.
Standard mode has no revisions to split or go back to (KServe ignores ``canaryTrafficPercent`` there):
every action is refused with a 409 saying so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from local.errors import ConflictError, NotFoundError, SpecError
from local.modes import is_standard
from local.plan import ComponentState
from local.spec import InferenceService
from local.traffic import canary

if TYPE_CHECKING:
    from local.gateway.record import ServiceRecord


def rollout_change(
    record: ServiceRecord, action: str, component: str = "predictor", percent: int | None = None
) -> tuple[InferenceService, dict[str, ComponentState]]:
    """The spec to apply and the component states to start from (a rollback after a promotion)."""
    name = record.service.name
    plan = record.plans.get(component)
    if plan is None:
        raise NotFoundError(f"InferenceService {name!r} has no {component}")
    if is_standard(record.service):
        raise ConflictError(
            f"{name}: Standard mode has no revisions to {action} (a spec change replaces the Deployment whole); "
            "apply the spec you want instead"
        )
    overrides: dict[str, ComponentState] = {}
    if action == "canary":
        if percent is None or not 0 <= percent <= 100:
            raise SpecError(f"spec.{component}.canaryTrafficPercent: must be 0..100, got {percent}")
        new_percent: int | None = percent
    elif action == "promote":
        new_percent = None
    elif action == "rollback":
        new_percent = 0
        state = plan.state
        canary_running = canary(plan.traffic) is not None
        if not canary_running:
            if state.previous_rolled_out is None:
                raise ConflictError(f"{name}: {component} has no previous rolled-out revision to roll back to")
            overrides[component] = replace(
                state, latest_rolled_out=state.previous_rolled_out, previous_rolled_out=state.latest_rolled_out
            )
    else:
        raise SpecError(f"unknown rollout action {action!r}")
    document = record.service.model_dump(mode="json", exclude_none=True)
    document["spec"][component].pop("canaryTrafficPercent", None)
    if new_percent is not None:
        document["spec"][component]["canaryTrafficPercent"] = new_percent
    return InferenceService.model_validate(document), overrides

"""Canary rollouts, pure: validate a component / canary percent and build the JSON merge patches.

Nothing here talks to a cluster; ``local.cluster.client.ClusterClient.patch_isvc`` sends these bodies as
``application/merge-patch+json``, and the local runtime applies the same shape.

Promotion removes ``canaryTrafficPercent`` (KServe's canary docs: "promote the canary model by removing the
canaryTrafficPercent field"). Setting 100 routes the same way, but leaves a canary setting in the spec that
silently applies to the next revision; a JSON merge patch with ``null`` removes the field. Roll back is
``canaryTrafficPercent: 0``: the new revision stays deployed with 0%, the rolled-out one takes 100%.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.errors import NotFoundError, SpecError

COMPONENTS = ("predictor", "transformer", "explainer")

# ---------------------------------------------------------------- request bodies


def validate_component(component: str) -> str:
    if component not in COMPONENTS:
        raise SpecError(f"component must be one of {', '.join(COMPONENTS)}, got {component!r}")
    return component


def validate_percent(percent: Any) -> int:
    """``percent`` as an int in 0..100, else a SpecError naming the bad value."""
    if isinstance(percent, bool) or not isinstance(percent, int | str):
        raise SpecError(f"canary percent must be an integer from 0 to 100, got {percent!r}")
    try:
        value = int(percent)
    except ValueError:
        raise SpecError(f"canary percent must be an integer from 0 to 100, got {percent!r}") from None
    if not 0 <= value <= 100:
        raise SpecError(f"canary percent must be an integer from 0 to 100, got {value}")
    return value


def canary_patch(component: str, percent: Any) -> dict[str, Any]:
    """JSON merge patch: send ``percent``% of the component's traffic to its latest ready revision."""
    return {"spec": {validate_component(component): {"canaryTrafficPercent": validate_percent(percent)}}}


def promote_patch(component: str) -> dict[str, Any]:
    """JSON merge patch removing ``canaryTrafficPercent`` (``null`` deletes a key in a merge patch)."""
    return {"spec": {validate_component(component): {"canaryTrafficPercent": None}}}


def rollback_patch(component: str) -> dict[str, Any]:
    """JSON merge patch pinning 100% on ``latestRolledoutRevision`` (``canaryTrafficPercent: 0``)."""
    return canary_patch(component, 0)


def require_component(resource: Mapping[str, Any], component: str) -> None:
    """NotFoundError unless the InferenceService's spec has ``component`` (a patch would invent one)."""
    validate_component(component)
    spec = resource.get("spec") or {}
    if component not in spec:
        name = (resource.get("metadata") or {}).get("name", "?")
        present = ", ".join(c for c in COMPONENTS if c in spec) or "none"
        raise NotFoundError(f"InferenceService {name!r} has no {component} (components: {present})")

"""Canary rollouts, pure: the one import point for the rollout model, re-exporting its three modules.

``local.cluster.patches`` validates and builds the JSON merge patches, ``local.cluster.status`` parses and
tabulates rollout status and holds the wait predicates, ``local.cluster.history`` builds the revision
history. Nothing here talks to a cluster; ``from local.cluster.rollout import ...`` keeps working for all
of them.
"""

from __future__ import annotations

from local.cluster.history import (
    COMPONENT_LABEL,
    CONFIGURATION_GENERATION_LABEL,
    HISTORY_HEADERS,
    ISVC_LABEL,
    ROLE_FAILED,
    ROLE_LATEST,
    ROLE_PREVIOUS,
    ROLE_ROLLED_OUT,
    RevisionInfo,
    history_from_status,
    revision_history,
)
from local.cluster.patches import (
    COMPONENTS,
    canary_patch,
    promote_patch,
    require_component,
    rollback_patch,
    validate_component,
    validate_percent,
)
from local.cluster.status import (
    PHASE_CANARY,
    PHASE_FAILED,
    PHASE_PENDING,
    PHASE_PROGRESSING,
    PHASE_ROLLED_BACK,
    PHASE_STABLE,
    STATUS_HEADERS,
    ComponentRollout,
    Condition,
    Predicate,
    RolloutStatus,
    TrafficEntry,
    canary_applied,
    promoted,
    ready,
    rolled_back,
    status_rows,
)

__all__ = [
    "COMPONENTS",
    "COMPONENT_LABEL",
    "CONFIGURATION_GENERATION_LABEL",
    "HISTORY_HEADERS",
    "ISVC_LABEL",
    "PHASE_CANARY",
    "PHASE_FAILED",
    "PHASE_PENDING",
    "PHASE_PROGRESSING",
    "PHASE_ROLLED_BACK",
    "PHASE_STABLE",
    "ROLE_FAILED",
    "ROLE_LATEST",
    "ROLE_PREVIOUS",
    "ROLE_ROLLED_OUT",
    "STATUS_HEADERS",
    "ComponentRollout",
    "Condition",
    "Predicate",
    "RevisionInfo",
    "RolloutStatus",
    "TrafficEntry",
    "canary_applied",
    "canary_patch",
    "history_from_status",
    "promote_patch",
    "promoted",
    "ready",
    "require_component",
    "revision_history",
    "rollback_patch",
    "rolled_back",
    "status_rows",
    "validate_component",
    "validate_percent",
]

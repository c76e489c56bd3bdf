"""Canary rollouts, pure: ``isvc rollout history`` rows, from a Knative RevisionList or from the status alone.

Each revision gets its traffic, tags and roles (latest / rolled-out / previous / failed) from a parsed
``RolloutStatus``; the local runtime, which keeps no revision objects, uses ``history_from_status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local.cluster.status import ComponentRollout, Condition, RolloutStatus, _component_order

#: Knative revision labels KServe puts on every revision of an InferenceService component.
ISVC_LABEL = "serving.kserve.io/inferenceservice"
COMPONENT_LABEL = "component"
CONFIGURATION_GENERATION_LABEL = "serving.knative.dev/configurationGeneration"

ROLE_LATEST = "latest"
ROLE_ROLLED_OUT = "rolled-out"
ROLE_PREVIOUS = "previous"
ROLE_FAILED = "failed"


@dataclass(frozen=True)
class RevisionInfo:
    """One row of ``isvc rollout history``: a Knative revision and its part in the rollout."""

    name: str
    component: str | None
    created: str | None = None
    ready: bool | None = None
    traffic_percent: int = 0
    tags: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    generation: int | None = None  # serving.knative.dev/configurationGeneration
    reason: str | None = None  # why a revision is not ready

    @property
    def role(self) -> str:
        return ",".join(self.roles)

    @property
    def tag(self) -> str:
        return ",".join(self.tags)

    def row(self) -> tuple[Any, ...]:
        ready = {True: "True", False: "False", None: "Unknown"}[self.ready]
        return (self.component, self.name, self.created, ready, self.traffic_percent, self.tag, self.role)


HISTORY_HEADERS = ("COMPONENT", "REVISION", "CREATED", "READY", "TRAFFIC", "TAG", "ROLE")


def _roles(name: str, c: ComponentRollout | None, ready: bool | None) -> tuple[str, ...]:
    roles: list[str] = []
    if c is not None:
        if name == c.latest_created:
            roles.append(ROLE_LATEST)
        if name == c.latest_rolled_out:
            roles.append(ROLE_ROLLED_OUT)
        if name == c.previous_rolled_out:
            roles.append(ROLE_PREVIOUS)
    if ready is False:
        roles.append(ROLE_FAILED)
    return tuple(roles)


def revision_history(
    revisions: Mapping[str, Any] | Iterable[Mapping[str, Any]], status: RolloutStatus
) -> list[RevisionInfo]:
    """Rows from a Knative ``RevisionList`` (or its ``items``), oldest first per component.

    A revision whose Ready condition is False is ``failed``; the other roles come from ``status``.
    """
    items = (revisions.get("items") or []) if isinstance(revisions, Mapping) else list(revisions)
    rows = []
    for item in items:
        metadata = item.get("metadata") or {}
        labels = metadata.get("labels") or {}
        name = str(metadata.get("name", ""))
        component = labels.get(COMPONENT_LABEL) or _component_from_name(name, status)
        conditions = [Condition.parse(c) for c in (item.get("status") or {}).get("conditions") or ()]
        ready_condition = next((c for c in conditions if c.type == "Ready"), None)
        ready = None if ready_condition is None else ready_condition.value
        reason = None
        if ready_condition is not None and not ready_condition.is_true:
            reason = ": ".join(p for p in (ready_condition.reason, ready_condition.message) if p) or None
        c = status.components.get(component) if component else None
        generation = labels.get(CONFIGURATION_GENERATION_LABEL)
        rows.append(
            RevisionInfo(
                name=name,
                component=component,
                created=metadata.get("creationTimestamp"),
                ready=ready,
                traffic_percent=c.percent_of(name) if c else 0,
                tags=c.tags_of(name) if c else (),
                roles=_roles(name, c, ready),
                generation=int(generation) if generation is not None else None,
                reason=reason,
            )
        )
    return sorted(rows, key=_history_key)


def history_from_status(status: RolloutStatus) -> list[RevisionInfo]:
    """Rows from the status alone (the local runtime, which keeps no revision objects): every revision
    the status names, with its traffic and roles; creation time and readiness only as far as known."""
    rows = []
    for c in status.components.values():
        names = [c.previous_rolled_out, c.latest_rolled_out, c.latest_ready, c.latest_created]
        names += [t.revision for t in c.traffic]
        seen: list[str] = []
        for name in names:
            if name and name not in seen:
                seen.append(name)
        for name in seen:
            ready: bool | None = True if name in (c.latest_ready, c.latest_rolled_out, c.previous_rolled_out) else None
            if name == c.latest_created and name != c.latest_ready and c.ready is False and c.message:
                ready = False
            rows.append(
                RevisionInfo(
                    name=name,
                    component=c.component,
                    ready=ready,
                    traffic_percent=c.percent_of(name),
                    tags=c.tags_of(name),
                    roles=_roles(name, c, ready),
                    generation=_revision_number(name),
                    reason=c.message if ready is False else None,
                )
            )
    return sorted(rows, key=_history_key)


def _component_from_name(name: str, status: RolloutStatus) -> str | None:
    for component in status.components:
        if f"-{component}-" in name:
            return component
    return None


def _revision_number(name: str) -> int | None:
    suffix = name.rsplit("-", 1)[-1]
    return int(suffix) if suffix.isdigit() else None


def _history_key(row: RevisionInfo) -> tuple[Any, ...]:
    generation = row.generation if row.generation is not None else _revision_number(row.name)
    return (
        _component_order(row.component or "~"),
        generation if generation is not None else -1,
        row.created or "",
        row.name,
    )

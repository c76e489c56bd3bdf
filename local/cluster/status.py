"""Canary rollouts, pure: parse an InferenceService's rollout status, tabulate it, and wait on it.

Nothing here talks to a cluster. The parser reads the ``status.components`` / ``status.conditions`` shape
KServe writes (serving.kserve.io/v1beta1, Knative mode) and accepts, unchanged, the status dict the local
runtime returns (``Controller.status()``; same field names, no ``url`` per traffic entry). The predicates at
the end are what ``ClusterClient.wait_for`` (or a poll of the local runtime) waits on.

How KServe routes, as its controller does it (``createKnativeService`` / ``PropagateStatus``):

* ``canaryTrafficPercent: P`` with a ``latestRolledoutRevision``: P% to the latest ready revision
  (``latestRevision: true``, tag ``latest`` only with ``serving.kserve.io/enable-tag-routing: "true"``),
  100-P% to ``latestRolledoutRevision`` (tag ``prev``); the ``prev`` entry is omitted when P = 100.
* no ``canaryTrafficPercent``: 100% to the latest ready revision ("blue-green").
* once the latest ready revision has 100%, it becomes ``latestRolledoutRevision`` and the former one
  ``previousRolledoutRevision``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local.cluster.patches import COMPONENTS, validate_percent
from local.errors import NotFoundError
from local.traffic import TrafficTarget

PHASE_STABLE = "stable"
PHASE_CANARY = "canary"
PHASE_ROLLED_BACK = "rolled-back"
PHASE_PROGRESSING = "progressing"
PHASE_FAILED = "failed"
PHASE_PENDING = "pending"


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None

    @property
    def is_true(self) -> bool:
        return self.status == "True"

    @property
    def value(self) -> bool | None:
        """True / False, or None for ``Unknown`` (still reconciling)."""
        return {"True": True, "False": False}.get(self.status)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(
            type=str(raw.get("type", "")),
            status=str(raw.get("status", "Unknown")),
            reason=raw.get("reason"),
            message=raw.get("message"),
            last_transition_time=raw.get("lastTransitionTime"),
        )


TrafficEntry = TrafficTarget  # a cluster's traffic[] entries: the same model as the local runtime's


@dataclass(frozen=True)
class ComponentRollout:
    """``status.components.<component>`` plus the component's spec canary setting and Ready condition."""

    component: str
    latest_created: str | None = None
    latest_ready: str | None = None
    latest_rolled_out: str | None = None
    previous_rolled_out: str | None = None
    traffic: tuple[TrafficEntry, ...] = ()
    url: str | None = None
    canary_traffic_percent: int | None = None  # from spec; None when not set (or not known)
    ready: bool | None = None  # the <Component>Ready condition; None when absent
    message: str | None = None  # the <Component>Ready condition's reason/message when not ready

    @classmethod
    def parse(
        cls,
        component: str,
        raw: Mapping[str, Any],
        spec: Mapping[str, Any] | None = None,
        conditions: Iterable[Condition] = (),
    ) -> ComponentRollout:
        ready_type = f"{component.capitalize()}Ready"
        condition = next((c for c in conditions if c.type == ready_type), None)
        message = None
        if condition is not None and not condition.is_true:
            message = ": ".join(p for p in (condition.reason, condition.message) if p) or None
        percent = (spec or {}).get("canaryTrafficPercent")
        return cls(
            component=component,
            latest_created=raw.get("latestCreatedRevision") or None,
            latest_ready=raw.get("latestReadyRevision") or None,
            latest_rolled_out=raw.get("latestRolledoutRevision") or None,
            previous_rolled_out=raw.get("previousRolledoutRevision") or None,
            traffic=tuple(TrafficEntry.parse(t) for t in raw.get("traffic") or ()),
            url=raw.get("url"),
            canary_traffic_percent=int(percent) if percent is not None else None,
            ready=None if condition is None else condition.value,
            message=message,
        )

    def percent_of(self, revision: str | None) -> int:
        """Traffic percent routed to ``revision`` (summed over its entries)."""
        return sum(t.percent for t in self.traffic if revision is not None and t.revision == revision)

    def tags_of(self, revision: str | None) -> tuple[str, ...]:
        return tuple(t.tag for t in self.traffic if t.tag and revision is not None and t.revision == revision)

    @property
    def latest_percent(self) -> int | None:
        """Percent on the ``latestRevision: true`` entries; None when no entry tracks the latest revision."""
        entries = [t for t in self.traffic if t.latest_revision]
        return sum(t.percent for t in entries) if entries else None

    @property
    def stable_percent(self) -> int:
        """Percent on the pinned (``latestRevision: false``) entries: the ``prev`` side of a canary."""
        return sum(t.percent for t in self.traffic if not t.latest_revision)

    @property
    def phase(self) -> str:
        """stable | canary | rolled-back | progressing | failed | pending."""
        if not self.traffic:
            return PHASE_FAILED if self.ready is False else PHASE_PENDING
        latest = self.latest_percent
        if latest is not None and 0 < latest < 100:
            return PHASE_CANARY
        if latest == 0 and self.stable_percent == 100:
            return PHASE_ROLLED_BACK
        if (  # the local runtime lists no 0% entry for the rolled-back revision
            self.latest_ready
            and self.latest_rolled_out
            and self.latest_ready != self.latest_rolled_out
            and self.percent_of(self.latest_ready) == 0
            and self.percent_of(self.latest_rolled_out) == 100
        ):
            return PHASE_ROLLED_BACK
        if self.latest_created and self.latest_created != self.latest_ready:
            return PHASE_FAILED if self.ready is False and self.message else PHASE_PROGRESSING
        return PHASE_STABLE

    @property
    def canary_revision(self) -> str | None:
        """The revision under test in a canary or rolled back: the latest ready one, else None."""
        return self.latest_ready if self.phase in (PHASE_CANARY, PHASE_ROLLED_BACK) else None


@dataclass(frozen=True)
class RolloutStatus:
    """An InferenceService's rollout state, from a cluster object or the local runtime's status."""

    name: str | None
    namespace: str | None
    url: str | None
    components: Mapping[str, ComponentRollout]
    conditions: tuple[Condition, ...] = ()
    generation: int | None = None
    observed_generation: int | None = None

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> RolloutStatus:
        """Parse a whole InferenceService (``metadata``/``spec``/``status``) or a bare status dict."""
        if "status" in obj or "metadata" in obj or "spec" in obj:
            metadata = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            status = obj.get("status") or {}
        else:
            metadata, spec, status = {}, {}, obj
        conditions = tuple(Condition.parse(c) for c in status.get("conditions") or ())
        components = {
            component: ComponentRollout.parse(component, raw or {}, spec.get(component), conditions)
            for component, raw in (status.get("components") or {}).items()
        }
        # a component in the spec without status yet (just applied) still shows, as pending
        for component in COMPONENTS:
            if component in spec and component not in components:
                components[component] = ComponentRollout.parse(component, {}, spec.get(component), conditions)
        observed = status.get("observedGeneration")
        generation = metadata.get("generation")
        return cls(
            name=metadata.get("name"),
            namespace=metadata.get("namespace"),
            url=status.get("url"),
            components={c: components[c] for c in sorted(components, key=_component_order)},
            conditions=conditions,
            generation=int(generation) if generation is not None else None,
            observed_generation=int(observed) if observed is not None else None,
        )

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    @property
    def ready(self) -> bool | None:
        condition = self.condition("Ready")
        return None if condition is None else condition.value

    @property
    def up_to_date(self) -> bool:
        """The controller has observed the latest spec (always True when generations are unknown)."""
        if self.generation is None or self.observed_generation is None:
            return True
        return self.observed_generation >= self.generation

    def component(self, component: str) -> ComponentRollout:
        try:
            return self.components[component]
        except KeyError:
            present = ", ".join(self.components) or "none"
            raise NotFoundError(
                f"InferenceService {self.name or '?'!r} has no {component} status (components: {present})"
            ) from None


def _component_order(component: str) -> tuple[int, str]:
    return (COMPONENTS.index(component) if component in COMPONENTS else len(COMPONENTS), component)


STATUS_HEADERS = ("COMPONENT", "PHASE", "LATEST", "LATEST%", "ROLLED-OUT", "PREVIOUS", "CANARY%", "READY")


def status_rows(status: RolloutStatus) -> list[tuple[Any, ...]]:
    """One row per component for ``local.cli._output.table(STATUS_HEADERS, rows)``."""
    rows = []
    for c in status.components.values():
        rows.append(
            (
                c.component,
                c.phase,
                c.latest_ready or c.latest_created,
                c.percent_of(c.latest_ready),
                c.latest_rolled_out,
                c.previous_rolled_out,
                c.canary_traffic_percent,
                {True: "True", False: "False", None: "Unknown"}[c.ready],
            )
        )
    return rows


# ---------------------------------------------------------------- predicates (for ClusterClient.wait_for)

Predicate = Callable[[RolloutStatus], bool]


def canary_applied(component: str, percent: int) -> Predicate:
    """The split is live: the latest ready revision carries ``percent``%, the rolled-out one the rest."""
    percent = validate_percent(percent)

    def check(status: RolloutStatus) -> bool:
        c = status.components.get(component)
        if c is None or not status.up_to_date or c.latest_ready is None:
            return False
        if c.latest_ready != c.latest_created:  # the new revision is not ready yet: KServe keeps the old split
            return False
        if c.latest_rolled_out is None or c.latest_rolled_out == c.latest_ready:
            return c.percent_of(c.latest_ready) == 100  # first deploy or nothing new: all on latest
        return c.percent_of(c.latest_ready) == percent and c.percent_of(c.latest_rolled_out) == 100 - percent

    return check


def promoted(component: str) -> Predicate:
    """The latest ready revision has 100% and is recorded as ``latestRolledoutRevision``."""

    def check(status: RolloutStatus) -> bool:
        c = status.components.get(component)
        return (
            c is not None
            and status.up_to_date
            and c.latest_ready is not None
            and c.latest_ready == c.latest_created
            and c.latest_rolled_out == c.latest_ready
            and c.percent_of(c.latest_ready) == 100
        )

    return check


def rolled_back(component: str) -> Predicate:
    """The rolled-out revision has 100% again; the latest revision keeps no traffic."""

    def check(status: RolloutStatus) -> bool:
        c = status.components.get(component)
        return (
            c is not None
            and status.up_to_date
            and c.latest_rolled_out is not None
            and c.percent_of(c.latest_rolled_out) == 100
            and (c.latest_percent or 0) == 0
        )

    return check


def ready() -> Predicate:
    def check(status: RolloutStatus) -> bool:
        return status.up_to_date and status.ready is True

    return check

"""Placement: where each component revision of an InferenceService runs locally (pure, no Ray).

KServe runs every component revision in pods of its own: a transformer pod reaches its predictor over
V2 HTTP. Locally the planner may instead put a transformer revision and the predictor revision it
routes to in **one replica process**, the transformer's ``predict`` becoming an in-process call. What a
user observes stays KServe's: the same routes, the same revisions per component and traffic split,
the same CloudEvents per component, the same status. Two modes:

* ``colocated`` (the default where it is sound): one Serve application per *pair* (transformer
  revision, predictor revision) among the revisions that must run. A predictor canary at P% is two
  pairs, ``T1+P1`` and ``T1+P2``; the gateway picks the predictor revision by KServe's percentages and
  calls the pair that holds it. Each pair scales on its own (to zero included), so each predictor
  revision still autoscales on its own traffic, as a Knative revision does.
* ``separate``: one Serve application per revision, the transformer calling its predictor through a
  Ray Serve handle (one process hop more, ~1-2 ms here). Kept when colocation would break the spec:
  the two components' autoscaling bounds differ (one replica process cannot honour two
  ``minReplicas``/``maxReplicas``), or their ``containerConcurrency`` differ, or the annotation
  ``isvc-kit.io/placement: separate`` asks for it. A predictor without a transformer is always one
  application per revision.

``units_for`` lists the Serve applications ("units") a placement needs; a unit's first member is the
entry component, and it scales with the entry's autoscaling plan (equal to the other's by the rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, Literal

from local.plan import ComponentPlan, Revision
from local.spec import DEFAULT_NAMESPACE

PLACEMENT_ANNOTATION = "isvc-kit.io/placement"
Mode = Literal["colocated", "separate"]


@dataclass(frozen=True)
class Placement:
    mode: Mode
    reason: str

    def as_status(self) -> dict[str, str]:
        return {"mode": self.mode, "reason": self.reason}


SEPARATE = Placement("separate", "one application per revision")


@dataclass(frozen=True)
class Unit:
    """One Serve application: the revisions whose models share its replicas, entry first."""

    name: str
    members: tuple[Revision, ...]

    @property
    def entry(self) -> Revision:
        return self.members[0]

    def holds(self, revision: str) -> bool:
        return any(member.name == revision for member in self.members)


def unit_name(*revisions: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The Serve application of ``revisions`` of a service in ``namespace``: unique per Ray cluster.

    ``iris-transformer-00001+iris-predictor-00002`` for a pair, a lone revision its own name; outside the
    default namespace prefixed ``{namespace}.`` (``team-a.iris-predictor-00001``), since revision names
    are unique per namespace only, as on a cluster. Namespaces and revision names are DNS labels (no
    dot), so ``unit_revisions`` reads both back.
    """
    joined = "+".join(revisions)
    return joined if namespace == DEFAULT_NAMESPACE else f"{namespace}.{joined}"


def unit_revisions(app: str) -> tuple[str, tuple[str, ...]]:
    """(namespace, revision names) of a Serve application named by ``unit_name``."""
    namespace, dot, joined = app.partition(".")
    if not dot:
        return DEFAULT_NAMESPACE, tuple(app.split("+"))
    return namespace, tuple(joined.split("+"))


def choose_placement(annotations: Mapping[str, str], plans: Mapping[str, ComponentPlan]) -> Placement:
    """The placement of one service from its annotations and its components' latest revisions."""
    asked = annotations.get(PLACEMENT_ANNOTATION, "").strip().lower()
    if asked and asked not in ("colocated", "separate"):
        from local.errors import SpecError

        raise SpecError(f"metadata.annotations.{PLACEMENT_ANNOTATION}: expected colocated or separate, got {asked!r}")
    if "transformer" not in plans:
        return Placement("separate", "no transformer: one application per predictor revision")
    if asked == "separate":
        return Placement("separate", f"asked by the annotation {PLACEMENT_ANNOTATION}")
    transformer, predictor = plans["transformer"].state.latest, plans["predictor"].state.latest
    assert transformer is not None and predictor is not None
    t_scale, p_scale = transformer.autoscaling, predictor.autoscaling
    if (t_scale.min_replicas, t_scale.max_replicas) != (p_scale.min_replicas, p_scale.max_replicas):
        return Placement(
            "separate",
            "transformer and predictor have different minReplicas/maxReplicas "
            f"({t_scale.min_replicas}..{t_scale.max_replicas} vs {p_scale.min_replicas}..{p_scale.max_replicas})",
        )
    if transformer.max_ongoing_requests != predictor.max_ongoing_requests:
        return Placement("separate", "transformer and predictor have different containerConcurrency")
    return Placement("colocated", "transformer and predictor share one replica (in-process predict)")


def units_for(
    placement: Placement, plans: Mapping[str, ComponentPlan], namespace: str = DEFAULT_NAMESPACE
) -> tuple[Unit, ...]:
    """The Serve applications that must run for these component plans (of a service in ``namespace``)."""
    if placement.mode == "separate":
        return tuple(
            Unit(unit_name(r.name, namespace=namespace), (r,)) for plan in plans.values() for r in plan.deployed
        )
    return tuple(
        Unit(unit_name(t.name, p.name, namespace=namespace), (t, p))
        for t in plans["transformer"].deployed
        for p in plans["predictor"].deployed
    )


def entry_unit(
    placement: Placement, chosen: Mapping[str, str], namespace: str = DEFAULT_NAMESPACE
) -> tuple[str, str | None]:
    """The application to call for revisions ``chosen`` per component, and the downstream one (separate)."""
    if "transformer" not in chosen:
        return unit_name(chosen["predictor"], namespace=namespace), None
    if placement.mode == "colocated":
        return unit_name(chosen["transformer"], chosen["predictor"], namespace=namespace), None
    return unit_name(chosen["transformer"], namespace=namespace), unit_name(chosen["predictor"], namespace=namespace)


@dataclass(frozen=True)
class Outcome:
    """Whether a newly deployed revision became ready, and why not."""

    ready: bool
    message: str = ""
    status: str = ""


def revision_outcomes(
    deployed: Sequence[Unit], results: Mapping[str, Any], known_ready: Set[str]
) -> dict[str, Outcome]:
    """Per revision, from the results of the units just deployed (``results``: name -> runtime status).

    A revision is ready once any unit holding it is running. A unit that failed is blamed on the
    members its message names (a replica prefixes a member's load error with its revision), else on
    the members not already known to be ready.
    """
    outcomes: dict[str, Outcome] = {}
    for unit in deployed:
        result = results.get(unit.name)
        if result is None:
            continue
        if result.ready:
            for member in unit.members:
                outcomes[member.name] = Outcome(True)
            continue
        message = result.message or f"{unit.name} is {result.status}"
        named = [m for m in unit.members if m.name in message]
        blamed = named or [m for m in unit.members if m.name not in known_ready] or list(unit.members)
        for member in blamed:
            if not outcomes.get(member.name, Outcome(False)).ready:
                outcomes[member.name] = Outcome(False, message, str(result.status))
    return outcomes


def replicas_per_revision(units: Sequence[Unit], replicas: Mapping[str, int]) -> dict[str, int]:
    """Running replicas of each revision: the sum over the units that hold it (``replicas`` by unit)."""
    counts: dict[str, int] = {}
    for unit in units:
        for member in unit.members:
            counts[member.name] = counts.get(member.name, 0) + replicas.get(unit.name, 0)
    return counts

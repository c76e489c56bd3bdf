"""The reconcile of one InferenceService: from (desired, observed) to the actions that get there. Pure.

This is the shape of KServe's own controller (``InferenceServiceReconciler.Reconcile``,
``pkg/controller/v1beta1/inferenceservice/controller.go``): it reads the desired spec and what is
observed, and says what to do; it does nothing itself. ``local.gateway.controller`` is the applier: it
carries the actions out (the Ray runtime, the model repository, the revision store) and calls
``reconcile`` again with what it then observed, until no deploy is asked for.

An apply goes through two observations:

1. nothing deployed yet (``Observed.deployed`` is None): the plan (``local.plan``) and its units
   (``local.placement``); the units not already running are to be deployed: ``[Deploy]``;
2. the runtime's status of each unit deployed (``Observed.deployed``): which revisions became ready or
   failed, traffic split again by what is ready (``local.gateway.record.settled_plan``, KServe's canary
   rules), then ``Publish`` the new record (routing table first), ``Save`` the component states,
   ``RetireLogger`` the replaced one and ``DeleteUnits`` that no longer serve.

A unit already running is never deployed again, so an apply of an unchanged spec goes straight to 2
and republishes what runs. ``reconcile_delete`` and ``units_to_reload`` are the same kind of decision
for ``isvc delete`` and ``isvc up --reload``. Nothing here calls Ray, reads a clock or touches a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.code_reload import is_under, package_root
from local.components import model_name_of
from local.errors import ConflictError
from local.gateway.inference_log import NewLogger, entry_logger_spec, member_loggers
from local.gateway.record import ServiceRecord, ServiceState, frozen_plans, settled_plan
from local.logger import DEFAULT_SINK_URL
from local.placement import Placement, Unit, choose_placement, revision_outcomes, unit_revisions, units_for
from local.plan import ComponentPlan, ComponentState, plan_service
from local.spec import InferenceService, entrypoint_of
from local.unhonoured import warning_lines

if TYPE_CHECKING:
    from local.gateway.routing import IsvcModel
    from local.logger import InferenceLogger

ServiceKey = tuple[str, str]
"""(namespace, name): a service's identity."""

MemberLoggers = Mapping[str, dict[str, Any] | None]
"""Per member revision of a unit, its replica's logger config (``inference_log.member_loggers``)."""


@dataclass(frozen=True)
class Desired:
    """What the user asked for: a spec (and where the local sink is, for loggers that name none)."""

    service: InferenceService
    local_sink_url: str = DEFAULT_SINK_URL


@dataclass(frozen=True)
class Observed:
    """What the applier sees of the service when it reconciles."""

    current: ServiceRecord | None
    """The published record, None for a service not applied since ``isvc up``."""
    stored: Mapping[str, ComponentState]
    """The revision store's states of the service: its revisions continue from them after a restart."""
    peers: Mapping[str, str]
    """Model name -> service name of the *other* services of the namespace (a model name is served once)."""
    created: str
    """The creationTimestamp of a service not published: the stored one after a restart, else now."""
    deployed: Mapping[str, Any] | None = None
    """The runtime's status of each unit of the last ``Deploy`` (``.ready``, ``.status``, ``.message``)."""


@dataclass(frozen=True)
class NewModel:
    """The service needs a model of its own in the repository (new, or its model name changed)."""

    name: str


@dataclass(frozen=True)
class Deploy:
    """Start these Serve applications and report their status (ready or failed) in ``Observed.deployed``."""

    items: tuple[tuple[Unit, MemberLoggers], ...]


@dataclass(frozen=True)
class Publish:
    """Swap in the service's new record: its routing table first (the request path reads nothing else),
    then the record; then the repository entries of ``refresh_models`` are brought up to date."""

    key: ServiceKey
    state: ServiceState | None
    """The service's new state; None only for ``reconcile_delete`` (the service goes)."""
    model: IsvcModel | NewModel | None = None
    """The model the record is served under: the current one kept, or one to make."""
    logger: InferenceLogger | NewLogger | None = None
    """The entry component's logger: the current one kept, one to make, or none."""
    refresh_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetireLogger:
    """The replaced (or deleted) entry logger: closed on the gateway's event loop."""

    logger: InferenceLogger


@dataclass(frozen=True)
class DeleteUnits:
    """Delete these Serve applications (failed, retired, or of a component removed from the spec)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Save:
    """Persist the service's spec and component states (``local.revision_store``)."""

    key: ServiceKey
    document: dict[str, Any] | None
    """The spec as JSON; None forgets the service."""
    states: Mapping[str, ComponentState] = field(default_factory=dict)


Action = Deploy | Publish | RetireLogger | DeleteUnits | Save


def entry_model_name(service: InferenceService) -> str:
    """The model name the service answers to: its entry component's ``--model_name`` (KServe's default)."""
    name, component = next(iter(service.components().items()))
    return model_name_of(entrypoint_of(component, f"spec.{name}", service.name).args)


def reconcile(desired: Desired, observed: Observed) -> list[Action]:
    """The next actions for ``desired`` given ``observed`` (raises ``ConflictError`` on a taken model name)."""
    service, current = desired.service, observed.current
    key = (service.namespace, service.name)
    model_name = entry_model_name(service)
    if model_name in observed.peers:
        raise ConflictError(
            f"model name {model_name!r} is already served by InferenceService {observed.peers[model_name]!r} "
            f"in namespace {service.namespace!r}"
        )
    previous = {name: plan.state for name, plan in current.plans.items()} if current else dict(observed.stored)
    plans = plan_service(service, previous).components
    placement = choose_placement(service.metadata.annotations, plans)
    running = current.ready_units if current else frozenset()
    pending = tuple(unit for unit in units_for(placement, plans, service.namespace) if unit.name not in running)
    if pending and observed.deployed is None:
        return [Deploy(tuple((unit, member_loggers(service, unit, desired.local_sink_url)) for unit in pending))]
    return _settle(desired, observed, key, model_name, plans, placement, pending)


def _settle(
    desired: Desired,
    observed: Observed,
    key: ServiceKey,
    model_name: str,
    plans: Mapping[str, ComponentPlan],
    placement: Placement,
    pending: tuple[Unit, ...],
) -> list[Action]:
    """The actions once the pending units' outcomes are known: publish, retire, delete, save."""
    service, current, results = desired.service, observed.current, observed.deployed or {}
    ready_before = current.ready_revisions if current else frozenset()
    outcomes = revision_outcomes(pending, results, ready_before)
    ready = set(ready_before)
    settled = {name: settled_plan(ready, plan, outcomes) for name, plan in plans.items()}
    kept = units_for(placement, settled, service.namespace)
    running_before = current.ready_units if current else frozenset()
    started = {unit.name for unit in pending if (result := results.get(unit.name)) is not None and result.ready}
    running = running_before | {unit.name for unit in pending if results.get(unit.name) is not None}
    keep = frozenset({unit.name for unit in kept} & (running_before | started))
    same_model = current is not None and current.model.name == model_name
    logger = _entry_logger(desired, current)
    state = ServiceState(
        service,
        plans=frozen_plans(settled),
        warnings=tuple(warning_lines(service)),
        ready_revisions=frozenset(ready),
        ready_units=keep,
        units=kept,
        placement=placement,
        created=current.created if current else observed.created,
    )
    refresh = (model_name,) if same_model or current is None else (model_name, current.model.name)
    actions: list[Action] = [
        Publish(
            key,
            state,
            model=current.model if current is not None and same_model else NewModel(model_name),
            logger=logger,
            refresh_models=refresh,
        )
    ]
    # Saved before anything is deleted: a delete that fails leaves the store with what is published.
    document = service.model_dump(mode="json")
    actions.append(Save(key, document, {name: plan.state for name, plan in settled.items()}))
    if current is not None and current.logger is not None and current.logger is not logger:
        actions.append(RetireLogger(current.logger))
    if stale := tuple(sorted(running - keep)):
        actions.append(DeleteUnits(stale))
    return actions


def _entry_logger(desired: Desired, current: ServiceRecord | None) -> InferenceLogger | NewLogger | None:
    """The current entry logger if its spec and what it stamps (annotations included) did not change, else
    one to make (or none)."""
    wanted = entry_logger_spec(desired.service, desired.local_sink_url)
    if wanted is None:
        return None
    kept = current.logger if current is not None else None
    if kept is not None and kept.spec == wanted.spec and kept.context == wanted.context:
        return kept
    return wanted


def reconcile_delete(record: ServiceRecord) -> list[Action]:
    """``isvc delete``: unpublish first (no request reaches it), retire its logger, delete its units, forget it."""
    key = (record.service.namespace, record.service.name)
    actions: list[Action] = [Publish(key, None, refresh_models=(record.model.name,))]
    if record.logger is not None:
        actions.append(RetireLogger(record.logger))
    actions.append(DeleteUnits(tuple(sorted(record.ready_units))))
    actions.append(Save(key, None))
    return actions


def held_units(record: ServiceRecord, applications: Iterable[str]) -> list[str]:
    """The Serve applications among ``applications`` that hold one of the service's revisions (any unit
    of its namespace naming one: also a failed revision an apply deleted without waiting)."""
    revisions, namespace = record.revision_names, record.service.namespace

    def held(app: str) -> bool:
        app_namespace, parts = unit_revisions(app)
        return app_namespace == namespace and any(part in revisions for part in parts)

    return sorted(app for app in applications if held(app))


def units_to_reload(
    records: Iterable[ServiceRecord], changed: list[Path], local_sink_url: str
) -> list[tuple[Unit, MemberLoggers]]:
    """The running units whose members' packages hold a changed file: what ``--reload`` re-imports.

    The spec did not change, so no revision is made (KServe would make none either)."""
    items: list[tuple[Unit, MemberLoggers]] = []
    for record in records:
        for unit in record.units:
            roots = {root for member in unit.members if (root := package_root(member.entrypoint.module))}
            if unit.name in record.ready_units and any(is_under(path, roots) for path in changed):
                items.append((unit, member_loggers(record.service, unit, local_sink_url)))
    return items

"""The local control plane: applies InferenceServices to the Ray runtime and reports their status.

``Controller.apply`` plans (``local.plan``), deploys each new revision, waits until it is ready or
has failed, re-splits traffic with what is actually ready, retires revisions that no longer serve,
and swaps the service's routing table. ``status`` renders the InferenceService ``status`` block
as KServe writes it (``components.<c>.latestCreatedRevision`` ... ``traffic[]``, ``conditions``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from local.code_reload import is_under, package_root
from local.components import model_name_of
from local.errors import ConflictError, NotFoundError, SpecError
from local.gateway.inference_log import local_logger_url, replica_logger_config
from local.gateway.routing import ComponentRoute, IsvcModel, RouteTable
from local.gateway.status import render_revisions, render_status
from local.logger import DEFAULT_SINK_URL, EventContext, InferenceLogger
from local.placement import (
    SEPARATE,
    Outcome,
    Placement,
    Unit,
    choose_placement,
    replicas_per_revision,
    revision_outcomes,
    units_for,
)
from local.plan import ComponentPlan, ComponentState, Revision, route_traffic
from local.plan import plan_service as plan_service_fn
from local.revision_store import RevisionStore
from local.spec import InferenceService, unhonoured_fields


class Runtime(Protocol):
    def deploy_many(self, items: list[tuple[Unit, dict[str, dict[str, Any] | None]]]) -> dict[str, Any]: ...
    def delete(self, app_name: str) -> None: ...
    def statuses(self) -> dict[str, Any]: ...
    def client(self, app_name: str) -> Any: ...


@dataclass
class ServiceEntry:
    service: InferenceService
    model: IsvcModel
    plans: dict[str, ComponentPlan] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ready_revisions: set[str] = field(default_factory=set)
    ready_units: set[str] = field(default_factory=set)
    units: tuple[Unit, ...] = ()
    placement: Placement = SEPARATE
    logger: InferenceLogger | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


class Controller:
    """Owns the services applied to one local runtime."""

    def __init__(
        self,
        runtime: Runtime,
        repository: Any,
        base_url: str,
        local_sink_url: str = DEFAULT_SINK_URL,
        store: RevisionStore | None = None,
    ):
        self.runtime = runtime
        self.store = store
        self.repository = repository
        self.base_url = base_url
        self.local_sink_url = local_sink_url
        self.services: dict[str, ServiceEntry] = {}
        self.retired_loggers: list[InferenceLogger] = []
        self._lock = threading.Lock()
        self._live: dict[str, Any] = {}
        self._live_refresher: threading.Thread | None = None

    def logger_for(self, model_name: str) -> InferenceLogger | None:
        """The entry component's logger of the service serving ``model_name`` (the gateway logs it)."""
        for entry in self.services.values():
            if entry.model.name == model_name:
                return entry.logger
        return None

    def _entry_logger(self, service: InferenceService, current: InferenceLogger | None) -> InferenceLogger | None:
        name, component = next(iter(service.components().items()))
        spec = component.logger
        if spec is None:
            return None
        spec = spec.model_copy(update={"url": local_logger_url(spec.url, self.local_sink_url)})
        if current is not None and current.spec == spec:
            return current
        return InferenceLogger(
            spec, EventContext(service.name, service.namespace, name, source=f"{service.name}-{name}")
        )

    def apply(
        self, service: InferenceService, state_overrides: dict[str, ComponentState] | None = None
    ) -> dict[str, Any]:
        """Create or update a service: new revisions for changed components, traffic as KServe splits it."""
        with self._lock:
            entry = self.services.get(service.name)
            model_name = model_name_of(_entry_args(service))
            for other in self.services.values():
                if other.service.name != service.name and other.model.name == model_name:
                    raise ConflictError(
                        f"model name {model_name!r} is already served by InferenceService {other.service.name!r}"
                    )
            if entry is not None:
                previous = {name: plan.state for name, plan in entry.plans.items()}
            else:  # after a restart, revisions continue from the store
                previous = self.store.states(service.name) if self.store else {}
            previous.update(state_overrides or {})
            plan = plan_service_fn(service, previous)
            if entry is None or entry.model.name != model_name:
                if entry is not None:
                    self.repository.unload(entry.model.name)
                entry = ServiceEntry(service, IsvcModel(model_name, service.name, self.runtime.client))
            entry.service = service
            entry.warnings = unhonoured_fields(service)
            logger = self._entry_logger(service, entry.logger)
            if entry.logger is not None and logger is not entry.logger:
                self.retired_loggers.append(entry.logger)
            entry.logger = logger
            placement = choose_placement(service.metadata.annotations, plan.components)
            wanted = units_for(placement, plan.components)
            pending = [unit for unit in wanted if unit.name not in entry.ready_units]
            results = self.runtime.deploy_many([(unit, self._member_loggers(entry, unit)) for unit in pending])
            outcomes = revision_outcomes(pending, results, entry.ready_revisions)
            plans = {name: self._rollout(entry, cp, outcomes) for name, cp in plan.components.items()}
            kept = units_for(placement, plans)
            running = entry.ready_units | {unit.name for unit in pending if results.get(unit.name)}
            started = {name for name in running if name in entry.ready_units or results[name].ready}
            keep = {unit.name for unit in kept} & started
            for name in sorted(running - keep):  # failed, retired, or of a component removed from the spec
                self.runtime.delete(name)
            entry.ready_units = keep
            entry.units = kept
            entry.placement = placement
            entry.plans = plans
            self._route(entry)
            self.services[service.name] = entry
            self.repository.update(entry.model)
            if self.store is not None:
                states = {name: component_plan.state for name, component_plan in plans.items()}
                self.store.save(service.name, service.namespace, service.model_dump(mode="json"), states)
            return self.status(service.name)

    def _rollout(self, entry: ServiceEntry, plan: ComponentPlan, outcomes: dict[str, Outcome]) -> ComponentPlan:
        """Record which new revisions became ready, split traffic accordingly, forget the retired."""
        state = plan.state
        for revision in plan.deployed:
            outcome = outcomes.get(revision.name)
            if outcome is None:
                continue
            if outcome.ready:
                entry.ready_revisions.add(revision.name)
            else:
                message = outcome.message or f"revision {revision.name} is {outcome.status}"
                state = replace(state, failed={**state.failed, revision.name: message})
        final = route_traffic(state, plan.canary_percent, ready=entry.ready_revisions)
        keep = {revision.name for revision in final.deployed}
        for revision in state.revisions:
            if revision.name not in keep:
                entry.ready_revisions.discard(revision.name)
        return final

    def _member_loggers(self, entry: ServiceEntry, unit: Unit) -> dict[str, dict[str, Any] | None]:
        return {member.name: self._replica_logger(entry, member) for member in unit.members}

    def _replica_logger(self, entry: ServiceEntry, revision: Revision) -> dict[str, Any] | None:
        """Components behind the entry one log in their replicas (the gateway logs the entry)."""
        service = entry.service
        entry_component = next(iter(service.components()))
        if revision.component == entry_component:
            return None
        spec = service.components()[revision.component].logger
        return replica_logger_config(
            spec, service.name, service.namespace, revision.component, revision.name, self.local_sink_url
        )

    def _route(self, entry: ServiceEntry) -> None:
        components = {
            name: ComponentRoute(tuple((t.revision, t.percent, t.tag) for t in plan.traffic))
            for name, plan in entry.plans.items()
        }
        entry_component = "transformer" if "transformer" in components else "predictor"
        # Behind a transformer, a predictor that may be at zero is woken with the transformer, not after it.
        predictor = entry.plans["predictor"].state.latest
        idle = predictor.autoscaling.downscale_to_zero_delay_s if predictor else None
        wake = (
            idle if entry_component != "predictor" and predictor and predictor.autoscaling.min_replicas == 0 else None
        )
        entry.model.set_routes(
            RouteTable(
                entry_component,
                components,
                entry.service.tag_routing,
                wake_downstream_after_s=wake if entry.placement.mode == "separate" else None,
                placement=entry.placement,
            )
        )

    def delete(self, name: str) -> None:
        with self._lock:
            entry = self.services.pop(name, None)
            if entry is None:
                raise NotFoundError(f"InferenceService {name!r} not found")
            self.repository.unload(entry.model.name)
            if entry.logger is not None:
                self.retired_loggers.append(entry.logger)
            for unit in sorted(entry.ready_units):
                self.runtime.delete(unit)
            if self.store is not None:
                self.store.delete(name)

    def rollout(self, name: str, action: str, component: str = "predictor", percent: int | None = None) -> None:
        """``isvc rollout canary|promote|rollback``: change the canary split as KServe's spec would.

        canary P sets ``canaryTrafficPercent: P``; promote removes it; rollback sets 0 while a canary
        runs, and after a promotion goes back to ``previousRolledoutRevision`` pinned with P = 0 (what
        re-applying the old spec does on a cluster, without a new revision).
        """
        entry = self.get(name)
        plan = entry.plans.get(component)
        if plan is None:
            raise NotFoundError(f"InferenceService {name!r} has no {component}")
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
            canary_running = any(t.tag == "latest" for t in plan.traffic)
            if not canary_running:
                if state.previous_rolled_out is None:
                    raise ConflictError(f"{name}: {component} has no previous rolled-out revision to roll back to")
                overrides[component] = replace(
                    state, latest_rolled_out=state.previous_rolled_out, previous_rolled_out=state.latest_rolled_out
                )
        else:
            raise SpecError(f"unknown rollout action {action!r}")
        document = entry.service.model_dump(mode="json", exclude_none=True)
        document["spec"][component].pop("canaryTrafficPercent", None)
        if new_percent is not None:
            document["spec"][component]["canaryTrafficPercent"] = new_percent
        self.apply(InferenceService.model_validate(document), overrides)

    def watched_roots(self) -> set[Path]:
        """The package roots of every applied component's module: what `isvc up --reload` watches."""
        roots = set()
        for entry in self.services.values():
            for unit in entry.units:
                for member in unit.members:
                    root = package_root(member.entrypoint.module)
                    if root is not None:
                        roots.add(root)
        return roots

    def reload_code(self, changed: list[Path]) -> dict[str, Any]:
        """Reload, in place, the running units whose members' packages hold a changed file.

        The spec did not change, so no revision is made (KServe would make none either): the same
        revisions re-import their code. Returns each reloaded unit's runtime status.
        """
        with self._lock:
            items = []
            for entry in self.services.values():
                for unit in entry.units:
                    roots = {root for m in unit.members if (root := package_root(m.entrypoint.module))}
                    if unit.name in entry.ready_units and any(is_under(path, roots) for path in changed):
                        items.append((unit, self._member_loggers(entry, unit)))
            if not items:
                return {}
            return dict(self.runtime.reload(items))  # type: ignore[attr-defined]

    def logs(self, name: str, component: str | None, cursor: dict[str, int]) -> tuple[list[str], dict[str, int]]:
        """What the replicas of a service (or of one component) wrote since ``cursor``: `isvc logs`."""
        entry = self.get(name)
        if component is not None and component not in entry.plans:
            raise NotFoundError(f"InferenceService {name!r} has no {component}")
        apps = [
            unit.name
            for unit in entry.units
            if component is None or any(m.component == component for m in unit.members)
        ]
        return self.runtime.replica_logs(apps, cursor)  # type: ignore[attr-defined]

    def revisions(self, name: str) -> list[dict[str, Any]]:
        """Every revision of a service as a Knative ``Revision`` object (what the cluster lists)."""
        store = self.store
        return render_revisions(self.get(name), lambda revision: store.created(revision) if store else None)

    def restore(self) -> list[str]:
        """Re-apply every service of the store (after `isvc up` again); returns their names."""
        if self.store is None:
            return []
        restored = []
        for name in self.store.services():
            document = self.store.spec(name)
            if document is not None and name not in self.services:
                self.apply(InferenceService.model_validate(document))
                restored.append(name)
        return restored

    def get(self, name: str) -> ServiceEntry:
        entry = self.services.get(name)
        if entry is None:
            raise NotFoundError(f"InferenceService {name!r} not found")
        return entry

    def live_statuses(self, interval_s: float = 1.0) -> dict[str, Any]:
        """The runtime's statuses as of at most ``interval_s`` ago, without a Ray call on the caller's thread.

        For readers on the gateway's event loop (the ``/metrics`` collector): ``runtime.statuses()`` is a
        blocking call to the Serve controller, so a daemon thread refreshes a snapshot instead. Empty
        until the first refresh.
        """
        if self._live_refresher is None:
            self._live_refresher = threading.Thread(
                target=self._refresh_live, args=(interval_s,), name="isvc-status-refresh", daemon=True
            )
            self._live_refresher.start()
        return self._live

    def _refresh_live(self, interval_s: float) -> None:
        while True:
            with contextlib.suppress(Exception):  # the runtime is stopping: keep the last snapshot
                self._live = dict(self.runtime.statuses())
            time.sleep(interval_s)

    def revision_replicas(self, name: str, live: dict[str, Any]) -> dict[str, int]:
        """Running replicas per revision of a service, from the runtime's statuses of its units."""
        entry = self.get(name)
        by_unit = {unit.name: int(getattr(live.get(unit.name), "replicas", 0)) for unit in entry.units}
        return replicas_per_revision(entry.units, by_unit)

    def status(self, name: str, live: dict[str, Any] | None = None) -> dict[str, Any]:
        live = live if live is not None else self.runtime.statuses()
        return render_status(self.get(name), self.base_url, self.revision_replicas(name, live))

    def as_resource(self, name: str, live: dict[str, Any] | None = None) -> dict[str, Any]:
        entry = self.get(name)
        resource = entry.service.model_dump(mode="json", exclude_none=True)
        resource["metadata"]["creationTimestamp"] = entry.created
        resource["status"] = self.status(name, live)
        return resource


def _entry_args(service: InferenceService) -> tuple[str, ...]:
    from local.spec import entrypoint_of

    name, component = next(iter(service.components().items()))
    return entrypoint_of(component, f"spec.{name}", service.name).args

"""The local control plane's applier: carries out what the reconcile decides, and reports status.

``local.gateway.reconcile`` decides, from the desired spec and what is observed, what is to be done;
``Controller`` does it against the Ray runtime, the model repository and the revision store, and feeds
back what it observed (the deploy's outcomes) until nothing is left to deploy. An apply deploys each new
revision, waits until it is ready or has failed, swaps in the service's routing table and its new
immutable record (``local.gateway.record``), then retires the revisions that no longer serve;
``delete`` returns once Serve has deleted the service's applications. ``status`` renders the
InferenceService ``status`` block as KServe writes it (``components.<c>.latestCreatedRevision`` ...
``traffic[]``, ``conditions``).

Namespaces are identity, as on a cluster: services are keyed by ``(namespace, name)``, so the same
name in two namespaces is two services, with the same revision names (unique per namespace) in Serve
applications of their own (``local.placement.unit_name``). A model name served by two namespaces is
held in the model repository by one ``ByNamespace`` that picks by the request's Host
(``local.gateway.namespaces``). A method given a name without a namespace finds the one namespace
holding it (``lookup``), as the CLI's default ``-n`` does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from local.code_reload import package_root
from local.errors import ConflictError, NotFoundError, NotReadyError
from local.gateway.inference_log import NewLogger
from local.gateway.live import LiveStatuses
from local.gateway.namespaces import REQUEST_HEADERS, HostHeaders, repository_entry, requested_namespace
from local.gateway.objects import ObjectMeta, ObjectTable, spec_digest, with_object_meta
from local.gateway.reconcile import (
    Action,
    DeleteUnits,
    Deploy,
    Desired,
    MemberLoggers,
    NewModel,
    Observed,
    Publish,
    RetireLogger,
    Save,
    ServiceKey,
    held_units,
    reconcile,
    reconcile_delete,
    units_to_reload,
)
from local.gateway.record import ServiceRecord, ServiceState, now_iso, route_table
from local.gateway.rollout import rollout_change
from local.gateway.routing import IsvcModel
from local.gateway.status import render_revisions, render_status
from local.logger import DEFAULT_SINK_URL, InferenceLogger
from local.placement import Unit, replicas_per_revision
from local.revision_store import RevisionStore, StoredObject
from local.spec import InferenceService


class Runtime(Protocol):
    def deploy_many(self, items: Sequence[tuple[Unit, MemberLoggers]]) -> Mapping[str, Any]: ...
    def delete(self, app_name: str) -> None: ...
    def statuses(self) -> dict[str, Any]: ...
    def client(self, app_name: str) -> Any: ...


DELETE_TIMEOUT_S = 60.0  # as Ray's own blocking delete (ray/serve/_private/client.py: delete_apps)
_DELETE_POLL_S = 0.1


class Controller:
    """Owns the services applied to one local runtime.

    Writers (apply, delete, rollout, reload) take ``_lock`` in turn; readers take no lock. The services
    are an immutable mapping of immutable ``ServiceRecord`` s, replaced by one assignment per change.
    """

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
        self._services: Mapping[ServiceKey, ServiceRecord] = MappingProxyType({})
        self._retired: list[InferenceLogger] = []
        self._retired_lock = threading.Lock()  # never held across a deploy: the event loop takes it
        self._lock = threading.Lock()
        self._live: LiveStatuses | None = None
        self.objects = ObjectTable()  # uid, generation, resourceVersion per service (local.gateway.objects)

    @property
    def services(self) -> Mapping[ServiceKey, ServiceRecord]:
        """The services by (namespace, name) as of now: a read-only snapshot later applies do not change."""
        return self._services

    def lookup(self, name: str, namespace: str | None = None) -> ServiceRecord | None:
        """The service ``name`` of ``namespace``; without one, of the one namespace holding it (409 if two)."""
        if namespace is not None:
            return self._services.get((namespace, name))
        held = [record for (_, held_name), record in sorted(self._services.items()) if held_name == name]
        if len(held) > 1:
            where = ", ".join(repr(record.service.namespace) for record in held)
            raise ConflictError(f"InferenceService {name!r} exists in namespaces {where}: name one (-n NAMESPACE)")
        return held[0] if held else None

    def _publish(self, key: ServiceKey, record: ServiceRecord | None) -> None:
        namespace, name = key
        services = {k: value for k, value in self._services.items() if k != key}
        if record is not None:
            services[key] = record
            self.objects.published(namespace, name, record.service.model_dump(mode="json")["spec"])
        elif key in self._services:
            self.objects.removed(namespace, name)
        self._services = MappingProxyType(services)

    def _serve_model(self, model_name: str) -> None:
        """Put in the repository what serves ``model_name`` now: its one model, a ``ByNamespace``, or nothing."""
        models = [record.model for record in self._services.values() if record.model.name == model_name]
        if models:
            self.repository.update(repository_entry(model_name, models), model_name)
        elif self.repository.get_model(model_name) is not None:
            self.repository.unload(model_name)

    def take_retired_loggers(self) -> list[InferenceLogger]:
        """The loggers of replaced or deleted services, to be closed on the gateway's loop (once each)."""
        with self._retired_lock:
            retired, self._retired = self._retired, []
        return retired

    def _retire(self, logger: InferenceLogger) -> None:
        with self._retired_lock:
            self._retired.append(logger)

    def logger_for(self, model_name: str, headers: HostHeaders | None = None) -> InferenceLogger | None:
        """The entry component's logger of the service serving ``model_name`` (the gateway logs it).

        Of several namespaces serving it, the one the request's ``headers`` pick (none if they pick none).
        """
        records = [record for record in self._services.values() if record.model.name == model_name]
        if len(records) > 1:
            services = {record.service.namespace: record.service.name for record in records}
            namespace = requested_namespace(headers if headers is not None else REQUEST_HEADERS.get(), services)
            records = [record for record in records if record.service.namespace == namespace]
        return records[0].logger if records else None

    def apply(self, service: InferenceService) -> dict[str, Any]:
        """Create or update a service: new revisions for changed components, traffic as KServe splits it.

        Reconciles until nothing is left to deploy (at most twice: before and after the deploy), then
        carries out the rest: the routing table and the record are swapped in before retired revisions
        are deleted, so a request is always routed to revisions that run.
        """
        with self._lock:
            key = (service.namespace, service.name)
            desired = Desired(service, self.local_sink_url)
            observed = self._observe(key)
            actions = reconcile(desired, observed)
            while actions and isinstance(deploy := actions[0], Deploy):
                try:
                    results = self.runtime.deploy_many(list(deploy.items))
                except BaseException:  # nothing is published: what this deploy may have started goes
                    for unit, _ in deploy.items:
                        with contextlib.suppress(Exception):
                            self.runtime.delete(unit.name)
                    raise
                observed = replace(observed, deployed=results)
                actions = reconcile(desired, observed)
            for action in actions:
                self._carry_out(action)
            return self.status(self.get(service.name, service.namespace))

    def _observe(self, key: ServiceKey) -> Observed:
        namespace, name = key
        current = self._services.get(key)
        stored = self.store.states(name, namespace) if current is None and self.store is not None else {}
        kept = self.store.object_of(name, namespace) if current is None and self.store is not None else None
        peers = {
            record.model.name: other_name
            for (other_namespace, other_name), record in self._services.items()
            if other_namespace == namespace and other_name != name
        }
        return Observed(current, stored, peers, kept.created if kept is not None else now_iso())

    def _carry_out(self, action: Action) -> None:
        """One action of a reconcile, against the runtime, the repository or the store."""
        match action:
            case Publish(key=key, state=None):
                self._publish(key, None)
            case Publish(key=key, state=ServiceState() as state):
                namespace, name = key
                model = action.model
                if not isinstance(model, IsvcModel):
                    assert isinstance(model, NewModel)
                    model = IsvcModel(model.name, name, self.runtime.client, namespace)
                logger = action.logger.make() if isinstance(action.logger, NewLogger) else action.logger
                record = ServiceRecord.of(state, model, logger)
                model.set_routes(route_table(record))  # the request path's table first: it reads nothing else
                self._publish(key, record)
            case RetireLogger(logger=logger):
                self._retire(logger)
            case DeleteUnits(names=names):
                for name in names:
                    self.runtime.delete(name)
            case Save(key=(namespace, name), document=None) if self.store is not None:
                self.store.delete(name, namespace)
            case Save(key=(namespace, name), document=dict() as document, states=states) if self.store is not None:
                meta, created = self.objects.get(namespace, name), self._services[(namespace, name)].created
                stored = StoredObject(meta.uid, meta.generation, meta.resource_version, created)
                self.store.save(name, namespace, document, dict(states), stored)
            case Deploy():  # pragma: no cover - apply feeds deploys back to the reconcile
                raise AssertionError("a deploy is carried out by apply, which reconciles again with its outcome")
        if isinstance(action, Publish):
            for model_name in action.refresh_models:
                self._serve_model(model_name)

    def delete(self, name: str, timeout_s: float = DELETE_TIMEOUT_S, namespace: str | None = None) -> None:
        """Remove a service and return once Serve has deleted its applications.

        The service stops receiving requests at once (its record and model go first); then every Serve
        application holding one of its revisions is deleted and waited for, as ``serve.delete`` with
        ``_blocking=True`` waits (``ray/serve/_private/client.py``: ``delete_apps``), so an apply that
        follows, even of the same revision names, never meets an application still being deleted.
        """
        with self._lock:
            record = self.get(name, namespace)
            for action in reconcile_delete(record):
                self._carry_out(action)
            self._await_deleted(name, record, timeout_s)

    def _await_deleted(self, name: str, record: ServiceRecord, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        left = held_units(record, self.runtime.statuses())
        for app in left:
            if app not in record.ready_units:  # e.g. a failed revision an apply deleted without waiting
                self.runtime.delete(app)
        while left:
            if time.monotonic() > deadline:
                raise NotReadyError(
                    f"InferenceService {name!r} is deleted, but Serve still deletes {', '.join(left)} "
                    f"after {timeout_s:.0f}s; retry the apply later"
                )
            time.sleep(_DELETE_POLL_S)
            left = held_units(record, self.runtime.statuses())

    def rollout(
        self,
        name: str,
        action: str,
        component: str = "predictor",
        percent: int | None = None,
        namespace: str | None = None,
    ) -> None:
        """``isvc rollout canary|promote|rollback``: the spec change KServe's would be (``rollout_change``)."""
        self.apply(rollout_change(self.get(name, namespace), action, component, percent))

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
        """Reload, in place, the running units whose members' packages hold a changed file
        (``reconcile.units_to_reload``). Returns each reloaded unit's runtime status."""
        with self._lock:
            items = units_to_reload(self.services.values(), changed, self.local_sink_url)
            if not items:
                return {}
            return dict(self.runtime.reload(items))  # type: ignore[attr-defined]

    def logs(
        self, name: str, component: str | None, cursor: dict[str, int], namespace: str | None = None
    ) -> tuple[list[str], dict[str, int]]:
        """What the replicas of a service (or of one component) wrote since ``cursor``: `isvc logs`."""
        entry = self.get(name, namespace)
        if component is not None and component not in entry.plans:
            raise NotFoundError(f"InferenceService {name!r} has no {component}")
        apps = [
            unit.name
            for unit in entry.units
            if component is None or any(m.component == component for m in unit.members)
        ]
        return self.runtime.replica_logs(apps, cursor)  # type: ignore[attr-defined]

    def revisions(self, service: str | ServiceRecord, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every revision of a service as a Knative ``Revision`` object (what the cluster lists)."""
        store, record = self.store, self._record(service, namespace)
        ns = record.service.namespace
        return render_revisions(record, lambda revision: store.created(revision, ns) if store else None)

    def restore(self) -> list[str]:
        """Re-apply every service of the store (after `isvc up` again); returns them as ``namespace/name``."""
        if self.store is None:
            return []
        restored = []
        for namespace, name in self.store.services():
            document = self.store.spec(name, namespace)
            if document is not None and (namespace, name) not in self.services:
                kept = self.store.object_of(name, namespace)
                if kept is not None:  # the same object as before the restart: uid, generation
                    digest = spec_digest(document.get("spec"))
                    meta = ObjectMeta(kept.uid, kept.generation, kept.resource_version, digest)
                    self.objects.restore(namespace, name, meta)
                try:
                    self.apply(InferenceService.model_validate(document))
                except BaseException:
                    self.objects.forget(namespace, name)  # no record: no object either
                    raise
                restored.append(f"{namespace}/{name}")
        return restored

    def get(self, name: str, namespace: str | None = None) -> ServiceRecord:
        """The service ``name`` (of ``namespace``, else of the one namespace holding it); 404 if none."""
        entry = self.lookup(name, namespace)
        if entry is None:
            where = f" in namespace {namespace!r}" if namespace is not None else ""
            raise NotFoundError(f"InferenceService {name!r} not found{where}")
        return entry

    def live_statuses(self, interval_s: float = 1.0) -> dict[str, Any]:
        """The runtime's statuses as of at most ``interval_s`` ago, without a Ray call on the caller's thread.

        For readers on the gateway's event loop (the ``/metrics`` collector); see ``local.gateway.live``.
        """
        if self._live is None:
            self._live = LiveStatuses(self.runtime.statuses, interval_s)
        return self._live.snapshot()

    def _record(self, service: str | ServiceRecord, namespace: str | None = None) -> ServiceRecord:
        return self.get(service, namespace) if isinstance(service, str) else service

    def revision_replicas(self, service: str | ServiceRecord, live: dict[str, Any]) -> dict[str, int]:
        """Running replicas per revision of a service, from the runtime's statuses of its units."""
        record = self._record(service)
        by_unit = {unit.name: int(getattr(live.get(unit.name), "replicas", 0)) for unit in record.units}
        return replicas_per_revision(record.units, by_unit)

    def status(
        self, service: str | ServiceRecord, live: dict[str, Any] | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """``status`` of a service (a name, or a record already read: one record throughout)."""
        record = self._record(service, namespace)
        live = live if live is not None else self.runtime.statuses()
        return render_status(record, self.base_url, self.revision_replicas(record, live))

    def as_resource(
        self, service: str | ServiceRecord, live: dict[str, Any] | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """The InferenceService object with its status, all from one record."""
        record = self._record(service, namespace)
        resource = record.service.model_dump(mode="json", exclude_none=True)
        resource["metadata"]["creationTimestamp"] = record.created
        resource["status"] = self.status(record, live)
        meta = self.objects.get(record.service.namespace, record.service.name, resource.get("spec"))
        return with_object_meta(resource, meta)

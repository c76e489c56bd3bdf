"""Ray and Ray Serve for the local runtime: start, deploy revisions, read replica counts, stop.

Every component revision becomes its own Serve application named after the revision
(``iris-predictor-00001``) with one deployment, Ray Serve's own autoscaling (``min_replicas: 0``
included), ``max_ongoing_requests`` and ``max_queued_requests`` (``local.limits``); each unit's client
bounds a call by the entry revision's ``timeout``. No Ray HTTP proxy runs: the gateway calls the revisions
through handles, so a request that arrives at zero replicas is queued by the handle until Ray Serve
has started a replica, never dropped (and never stuck behind the proxy's slow first route lookup).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.placement import Unit
from local.ray_layer.environment import PRELOAD_ENV, apply_ray_environment
from local.settings import settings

logger = logging.getLogger(__name__)
DEPLOY_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class RevisionStatus:
    status: str  # RUNNING, DEPLOYING, DEPLOY_FAILED, UNHEALTHY, DELETING, NOT_FOUND ...
    replicas: int
    message: str = ""
    detail: str = ""  # Serve's whole message (a failed constructor's traceback), shown once in the terminal

    @property
    def ready(self) -> bool:
        return self.status == "RUNNING"

    @property
    def failed(self) -> bool:
        return self.status in {"DEPLOY_FAILED", "UNHEALTHY"}


class RayRuntime:
    """A local Ray instance with Serve started and no HTTP proxy."""

    def __init__(
        self,
        num_cpus: int | None = None,
        address: str | None = None,
        state_dir: Path | None = None,
        preload: Sequence[str] = (),
    ):
        """``address`` (or ``RAY_ADDRESS``): an existing Ray cluster; otherwise a local head is started.

        ``state_dir`` holds the Ray token (``ray-token``); default ``$ISVC_STATE_DIR`` or ``.isvc``.
        ``preload``: the entrypoint modules of the specs about to be applied, imported by idle workers
        ahead of their replicas (``local.ray_layer.preload``).
        """
        self.preload = tuple(dict.fromkeys(preload))
        self.num_cpus = num_cpus
        env = settings()
        self.address = address or env.ray_address
        self.state_dir = state_dir or env.state_dir
        self.head: Any = None  # the LocalHead this runtime started, if any
        self._owns_ray = False
        self._owns_serve = False
        self._apps_before: set[str] = set()
        self._clients: dict[str, Any] = {}
        self.code_version = 0  # bumped by reload(): the user_config that makes replicas re-import code
        self._gateway_loop: asyncio.AbstractEventLoop | None = None  # where the handles' routers run
        self._zero_units: set[str] = set()  # deployed units with min_replicas 0 (see standby)
        self._timeouts: dict[str, float] = {}  # per deployed unit: its entry revision's timeout
        self._last_statuses: tuple[float, dict[str, RevisionStatus]] | None = None
        self.standby: Any = None

    def start(self) -> None:
        """Token auth on; a local loopback head unless an address is given; then Serve without HTTP proxy."""
        apply_ray_environment()
        if self.preload:
            os.environ[PRELOAD_ENV] = ",".join(self.preload)
        from local.ray_layer.head import LocalHead, attach_to, ensure_token, use_token

        use_token(ensure_token(self.state_dir))
        import ray

        from local.ray_layer.pickling import guard_pickle_by_value

        guard_pickle_by_value()
        from ray import serve

        logging.getLogger("ray.serve").setLevel(logging.WARNING)  # no "Started Serve ..." banners
        if not ray.is_initialized():
            address = self.address
            if address is None:
                self.head = LocalHead(num_cpus=self.num_cpus)
                address = self.head.start()
            else:
                attach_to(address)
            # This process only (read from ray_constants when the core worker starts; the env var is
            # read at import): no "*** SIGTERM received" stack dump on Ctrl-C.
            import ray._private.ray_constants

            ray._private.ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, configure_logging=False)
            self._owns_ray = True
        try:
            from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

            ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
            self._apps_before = set(serve.status().applications)  # someone else's Serve: keep its apps
        except ValueError:
            self._owns_serve = True
        serve.start(proxy_location="Disabled")
        if self.head is not None:  # a head of our own: keep a warm worker while a unit is at zero
            from local.ray_layer.standby import WarmStandby

            self.standby = WarmStandby(
                lambda: self.statuses(max_age_s=1.0), lambda: set(self._zero_units), self.head.pids
            )
            self.standby.start()

    def deploy_many(
        self, items: Sequence[tuple[Unit, Mapping[str, dict[str, Any] | None]]], timeout_s: float = DEPLOY_TIMEOUT_S
    ) -> dict[str, RevisionStatus]:
        """Deploy (or update in place) units together; return once each is running or has failed.

        ``items`` pairs each unit with its members' logger configs (by revision name).
        """
        from ray import serve
        from ray.serve.api import RunTarget

        if not items:
            return {}
        # Configs may be built from several threads at once: local.ray_layer.pickling guards Ray's
        # pickle-by-value registration, where that race was (guard_pickle_by_value in start()).
        targets = [
            RunTarget(target=self._application(unit, loggers), name=unit.name, route_prefix=None)
            for unit, loggers in items
        ]
        serve.run_many(targets, wait_for_applications_running=False)
        names = {unit.name for unit, _ in items}
        self._zero_units |= {unit.name for unit, _ in items if unit.entry.autoscaling.min_replicas == 0}
        self._timeouts.update({unit.name: unit.entry.timeout_s for unit, _ in items})
        deadline = time.monotonic() + timeout_s
        while True:
            statuses = self.statuses()
            current = {name: statuses.get(name, RevisionStatus("NOT_FOUND", 0)) for name in names}
            if all(status.ready or status.failed for status in current.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for name, status in current.items():
            if not (status.ready or status.failed):
                current[name] = RevisionStatus("DEPLOY_FAILED", 0, f"not ready after {timeout_s:.0f}s")
            elif status.failed:
                logger.warning("%s failed to deploy:\n%s", name, status.detail or status.message)
        return current

    def _application(self, unit: Unit, loggers: Mapping[str, dict[str, Any] | None]) -> Any:
        from ray import serve
        from ray.serve.config import AutoscalingConfig

        from local.ray_layer.replica import DEPLOYMENT_NAME, UnitReplica

        entry = unit.entry
        deployment = serve.deployment(UnitReplica).options(  # type: ignore[attr-defined]
            name=DEPLOYMENT_NAME,
            autoscaling_config=AutoscalingConfig(**entry.autoscaling.as_ray_options()),
            max_ongoing_requests=entry.max_ongoing_requests,
            max_queued_requests=entry.max_queued_requests,  # beyond: BackPressureError, a 503
            ray_actor_options={"num_cpus": 0},
            health_check_period_s=1,  # a dead replica is noticed (and replaced) within 1 s
            # INFO: a print() in user code reaches the replica log (Serve logs it at INFO); no access log.
            logging_config={"log_level": "INFO", "enable_access_log": False},
            user_config={"code_version": self.code_version},
            max_surge_percent=100,  # a restarted replica serves until its replacement is ready
        )
        members = [
            {
                "module": member.entrypoint.module,
                "args": list(member.entrypoint.args),
                "revision": member.name,
                "component": member.component,
                "logger": loggers.get(member.name),
                "batching": asdict(member.batching) if member.batching else None,
                "timeout_s": member.timeout_s,
            }
            for member in unit.members
        ]
        # Serve's imperative API gives every deploy a random code version, so a redeploy restarts
        # every replica. A version that hashes what the replicas run makes a redeploy that changes only
        # ``user_config`` (the code_version of --reload) a ``reconfigure`` of the live replicas.
        # (``Deployment._version`` is private in Ray 2.60; ``options(version=...)`` raises.)
        digest = hashlib.sha256(json.dumps(members, sort_keys=True, default=str).encode()).hexdigest()[:16]
        deployment._version = f"{unit.name}-{digest}"
        return deployment.bind(members)

    def reload(self, items: Sequence[tuple[Unit, Mapping[str, dict[str, Any] | None]]]) -> dict[str, RevisionStatus]:
        """Reload the code of running units in place: a new ``code_version`` in their ``user_config``.

        Serve sees the same deployment with another ``user_config`` and calls ``reconfigure`` on the
        live replicas (no new process, no drain); see ``UnitReplica.reconfigure``.
        """

        self.code_version += 1
        statuses = self.deploy_many(items)
        for unit, _ in items:
            status = statuses.get(unit.name)
            if status is None or not status.ready or self._gateway_loop is None:
                continue
            client = self._clients.get(unit.name)
            if client is None:
                continue  # never called by the gateway yet: nothing to ask on its loop
            future = asyncio.run_coroutine_threadsafe(client.reload_status(), self._gateway_loop)
            _version, error = future.result(timeout=60)
            if error:
                statuses[unit.name] = RevisionStatus("RELOAD_FAILED", status.replicas, error)
        return statuses

    def replica_logs(self, apps: Sequence[str], cursor: dict[str, int]) -> tuple[list[str], dict[str, int]]:
        """Lines the replicas of ``apps`` wrote since ``cursor`` (see ``local.ray_layer.logs``)."""
        import ray._private.worker

        from local.errors import NotFoundError
        from local.ray_layer.logs import log_files, read_lines

        node = self.head._node if self.head is not None else getattr(ray._private.worker, "_global_node", None)
        logs_dir = Path(node.get_logs_dir_path()) if node is not None else None
        if logs_dir is None or not logs_dir.is_dir():
            raise NotFoundError("the replicas' logs are on the Ray cluster's nodes, not here (see `ray logs`)")
        return read_lines(log_files(logs_dir, apps), cursor)

    def delete(self, app_name: str) -> None:
        from ray import serve

        self._clients.pop(app_name, None)
        self._zero_units.discard(app_name)
        self._timeouts.pop(app_name, None)
        serve.delete(app_name, _blocking=False)

    def statuses(self, max_age_s: float = 0.0) -> dict[str, RevisionStatus]:
        """Every application's status and running replicas (one call to the Serve controller).

        ``max_age_s`` accepts the last answer if it is at most that old: the warm standby polls with
        1 s and so shares the call the gateway's status refresher made a moment before.
        """
        from ray import serve

        last = self._last_statuses
        if last is not None and time.monotonic() - last[0] <= max_age_s:
            return last[1]
        result = {}
        for name, app in serve.status().applications.items():
            replicas = 0
            messages = [app.message] if app.message else []
            for deployment in app.deployments.values():
                replicas += int(_count_running(deployment.replica_states))
                if deployment.message:
                    messages.append(deployment.message)
            text = "\n".join(messages)
            result[name] = RevisionStatus(str(app.status.value), replicas, _last_line(text), text)
        self._last_statuses = (time.monotonic(), result)
        return result

    def status(self, app_name: str) -> RevisionStatus:
        return self.statuses().get(app_name, RevisionStatus("NOT_FOUND", 0))

    def client(self, app_name: str) -> Any:
        """A ``RevisionClient`` for one revision (handles are cached: one per revision)."""
        from ray import serve

        from local.limits import DEFAULT_TIMEOUT_S
        from local.ray_layer.client import RevisionClient
        from local.ray_layer.replica import DEPLOYMENT_NAME

        with contextlib.suppress(RuntimeError):  # handles bind to the loop that first calls them
            self._gateway_loop = asyncio.get_running_loop()
        client = self._clients.get(app_name)
        if client is None:
            handle = serve.get_deployment_handle(DEPLOYMENT_NAME, app_name=app_name)
            client = RevisionClient(handle, app_name, self._timeouts.get(app_name, DEFAULT_TIMEOUT_S))
            self._clients[app_name] = client
        return client

    async def close_clients(self) -> None:
        """Close the handles made on the calling event loop (call before that loop ends)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        # Serve's client caches the same handles and would shut them down again, from a closed loop.
        with contextlib.suppress(Exception):
            from ray.serve.context import _get_global_client

            _get_global_client().handle_cache.clear()  # type: ignore[union-attr]

    def watch(self, on_lost: Callable[[str], None]) -> Any:
        """A started ``RayWatch`` (``local.ray_layer.watchdog``) calling ``on_lost(reason)`` if Ray goes away:
        this runtime's own head's GCS or raylet exits, or the cluster's GCS stops answering."""
        import ray

        from local.ray_layer.watchdog import RayWatch, gcs_reachable

        if self.head is not None:
            return RayWatch(self.head.lost, on_lost).start()
        address = self.address if self.address and ":" in self.address else ray.get_runtime_context().gcs_address
        return RayWatch(gcs_reachable(address), on_lost, interval_s=1.0).start()

    def shutdown(self, timeout_s: float = 20.0, ray_gone: bool = False) -> None:
        """Stop what this runtime started, each step bounded: Serve (or only its own applications on
        a cluster it did not start), the Ray connection, the local head's processes.

        ``ray_gone``: the cluster is dead already; nothing is asked of Serve, the disconnect gets 2 s.
        """
        import ray
        from ray import serve

        from local.ray_layer.head import run_bounded

        if self.standby is not None:
            self.standby.stop()
            self.standby = None
        try:
            if ray_gone:
                logging.getLogger("ray").setLevel(logging.CRITICAL)  # its reconnect complaints, now moot
                if self._owns_ray and ray.is_initialized():
                    run_bounded(ray.shutdown, 2.0, "Ray disconnect")
            elif ray.is_initialized():
                # Handles of the finished gateway loop complain while Serve stops; they are gone anyway.
                logging.getLogger("ray.serve").setLevel(logging.CRITICAL)
                # So does the raylet ("ServeController.graceful_shutdown failed ... killed by ray.kill",
                # printed by the driver's error listener): expected while Serve stops.
                import ray._private.worker

                ray._private.worker.print_to_stdstream = lambda *args, **kwargs: None
                if self._owns_serve:
                    run_bounded(serve.shutdown, timeout_s, "Serve shutdown")
                else:
                    mine = set(self.statuses()) - self._apps_before
                    run_bounded(lambda: [serve.delete(name) for name in sorted(mine)], timeout_s, "Serve delete")
                if self._owns_ray:
                    run_bounded(ray.shutdown, timeout_s, "Ray disconnect")
        finally:
            if self.head is not None:
                self.head.stop()
                self.head = None


def _count_running(replica_states: Mapping[Any, int]) -> int:
    return sum(count for state, count in replica_states.items() if str(getattr(state, "value", state)) == "RUNNING")


def _last_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:limit]

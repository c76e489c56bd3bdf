"""A warm standby worker: scale from zero without paying a Python start and the imports.

At zero replicas a component revision has no process; the request that wakes it waits for Ray Serve
to start a replica. Most of that wait (6-9 s here) is not Serve: the raylet has no idle worker left (it
prestarts ``num_cpus`` workers once, for the first driver, and never refills its pool), so it forks a
Python process that imports ``RAY_preload_python_modules`` (Serve, KServe, scikit-learn, the kit's
components) before it can host the replica.

``WarmStandby`` keeps one such worker idle and ready *while some unit may scale to zero*: it asks the
raylet for one (``prestart_worker``), which then waits in the raylet's idle pool, already imported,
and is the one the next replica actor is leased (same job, same runtime environment: the Serve
controller's actors belong to the job of the driver that started Serve). The standby is a plain idle
Ray worker: it is no replica, so ``isvc get`` shows 0 replicas and nothing is counted against the
service, as Knative counts nothing while a revision is at zero. It is kept whether the unit is at zero
or not: a worker takes 2-3 s here to start and import, so one asked for only once a unit reached zero
was still starting when a request came right after (a 2.4 s cold start measured, against 0.55-0.58 s
with a warm one), and a replica added by a scale-up or replacing a dead one takes it too. When no unit
may scale to zero, no standby is made.

Only for a head this runtime owns; a cluster given with ``--ray-address`` is left alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)
IDLE_TITLE = "ray::IDLE"
STARTING_GRACE_S = 30.0  # a worker asked for and not idle yet is still importing: do not ask again


def idle_workers(pids: Iterable[int]) -> list[int]:
    """The idle Ray workers among ``pids`` (their process title is ``ray::IDLE``)."""
    import psutil

    idle = []
    for pid in pids:
        try:
            command = psutil.Process(pid).cmdline()
        except (psutil.Error, OSError):
            continue
        if command and command[0].startswith(IDLE_TITLE):
            idle.append(pid)
    return idle


class WarmStandby:
    """A thread that keeps one idle, preloaded worker while a unit that can scale to zero is deployed."""

    def __init__(
        self,
        statuses: Callable[[], dict[str, Any]],
        scalable_to_zero: Callable[[], set[str]],
        head_pids: Callable[[], list[int]],
        interval_s: float = 1.0,
    ):
        self._statuses = statuses
        self._scalable_to_zero = scalable_to_zero
        self._head_pids = head_pids
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = 0
        self._requested_at: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="isvc-warm-standby", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def needed(self) -> bool:
        """A unit that may scale to zero is deployed (at zero or not: see the module's docstring)."""
        names = self._scalable_to_zero()
        return bool(names) and any(name in self._statuses() for name in names)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.tick()
            except Exception as exc:  # a standby is an optimisation: never let it stop anything
                log.debug("warm standby: %s", exc)

    def tick(self) -> None:
        import time

        if not self.needed():
            return
        if idle_workers(self._head_pids()):
            self._requested_at = None
            return
        if self._requested_at is not None and time.monotonic() - self._requested_at < STARTING_GRACE_S:
            return  # the one asked for is still starting (not titled ray::IDLE yet)
        prestart_worker()
        self._requested_at = time.monotonic()
        self.started += 1


def prestart_worker(keep_alive_s: int = 3600) -> None:
    """Ask the raylet to start one idle worker for this job (``NodeManagerService/PrestartWorkers``).

    The same call Ray's core worker makes for its backlog (``CoreWorker::PrestartWorkers``), and the
    kind of worker the raylet prestarts for the first driver: assigned to no task yet, so Serve's
    controller can lease it for the next replica. (A worker that ran a task of this driver could not
    host a replica: it is tied to the driver's lineage, and replicas belong to the controller's.)
    ``keep_alive_s`` keeps the raylet from reaping it as a surplus idle worker.
    """
    import grpc
    import ray
    from ray._private.authentication.grpc_authentication_client_interceptor import (
        _get_authentication_metadata_tuple,
    )
    from ray.core.generated import node_manager_pb2, node_manager_pb2_grpc

    node = next(n for n in ray.nodes() if n.get("Alive"))
    address = f"{node['NodeManagerAddress']}:{node['NodeManagerPort']}"
    request_type: Any = getattr(node_manager_pb2, "PrestartWorkersRequest")  # noqa: B009 (generated, no stubs)
    python = request_type.DESCRIPTOR.fields_by_name["language"].enum_type.values_by_name["PYTHON"].number
    request = request_type(
        language=python,
        job_id=bytes.fromhex(ray.get_runtime_context().get_job_id()),
        keep_alive_duration_secs=keep_alive_s,
        num_workers=1,
    )
    request.runtime_env_info.serialized_runtime_env = "{}"
    with grpc.insecure_channel(address) as channel:
        stub = node_manager_pb2_grpc.NodeManagerServiceStub(channel)
        stub.PrestartWorkers(request, timeout=10, metadata=_get_authentication_metadata_tuple())

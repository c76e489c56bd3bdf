"""The Ray head of ``isvc up``: only what the kit uses, closed to the network, stopped by its own pids.

``ray.init()`` starting a local instance also starts the dashboard head, the log monitor and the
autoscaler monitor, and binds the node's reachable address. ``LocalHead`` starts the same node as
``ray start --head`` does (``ray._private.node.Node``, as ``ray/scripts/scripts.py`` builds it) with:

* ``RAY_AUTH_MODE=token`` and the kit's token (``.isvc/ray-token``, mode 0600, made once). Ray 2.60
  reads the token from ``RAY_AUTH_TOKEN``, else the file named by ``RAY_AUTH_TOKEN_PATH``, else
  ``~/.ray/auth_token`` (the C++ ``AuthenticationTokenLoader``; ``ray/_private/authentication``). Every
  gRPC server Ray builds through ``create_grpc_server_with_interceptors`` (a Serve replica's
  inter-deployment server on ``[::]:0`` included) then refuses a call without the token.
* node IP 127.0.0.1: Ray's C++ gRPC servers listen on 127.0.0.1 only when the node IP is 127.0.0.1
  (``GrpcServer(..., listen_to_localhost_only)``), the agents bind the node IP. ``ray start`` turns a
  loopback ``--node-ip-address`` into the reachable IP unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
  (``services.resolve_ip_for_localhost`` / ``get_node_ip_address``): set for the head's processes.
* no dashboard head (``start_api_server`` skipped: the kit uses no job or state API), no log monitor
  (``log_to_driver`` is off anyway), no autoscaler monitor, no Ray client server.

Its processes are children of the calling process, started with ``PR_SET_PDEATHSIG`` (Ray's
``kernel_fate_share``): they die with it even after a SIGKILL. ``stop`` ends that process tree only,
never another Ray on the machine. ``runtime_pss`` measures a process tree's memory for the benchmark.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
TOKEN_FILE = "ray-token"

# Read by Ray when the head's processes start (they inherit the environment).
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def ensure_token(directory: Path) -> Path:
    """The kit's Ray token file in ``directory``: created once (256 random bits), always mode 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if not path.read_text().strip():
            path.write_text(secrets.token_hex(32))
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))  # as `ray get-auth-token --generate` makes one
    path.chmod(0o600)
    return path.resolve()


def use_token(token_file: Path) -> None:
    """Token authentication on for this process and the processes it starts, with ``token_file``.

    A token the user set already (``RAY_AUTH_TOKEN`` / ``RAY_AUTH_TOKEN_PATH``) wins. If Ray was
    imported before, its cached config and token are refreshed (as ``ray._private.authentication_test_utils``
    does), so the next Ray call sees them.
    """
    os.environ["RAY_AUTH_MODE"] = "token"
    if "RAY_AUTH_TOKEN" not in os.environ:
        os.environ.setdefault("RAY_AUTH_TOKEN_PATH", str(token_file))
    import sys

    if "ray._raylet" in sys.modules:
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


def loopback_only() -> None:
    """Node IP 127.0.0.1 in this process and the ones it starts (``ENABLE_RAY_CLUSTER`` is read once,
    when ``ray._private.ray_constants`` is imported: set it too if that happened already)."""
    import sys

    os.environ.update(LOOPBACK_ENV)
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[attr-defined]


def attach_to(address: str, timeout_s: float = 5.0) -> None:
    """Before ``ray.init(address=...)``, which retries an unreachable GCS forever: fail if it cannot be
    reached. A loopback address is a cluster on this machine with a loopback node: keep 127.0.0.1 (Ray
    would rewrite it to the machine's reachable IP)."""
    import socket

    from local.errors import RuntimeNotRunningError

    host, _, port = address.removeprefix("ray://").rpartition(":")
    host = host.strip("[]") or LOOPBACK
    if host in {"localhost", "::1"} or host.startswith("127."):
        loopback_only()
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise RuntimeNotRunningError(f"cannot reach the Ray cluster at {address} ({exc})") from exc


class LocalHead:
    """A single-node Ray cluster owned by this process (``start``, ``address``, ``pids``, ``stop``)."""

    def __init__(self, num_cpus: int | None = None, temp_dir: str | None = None):
        self.num_cpus = num_cpus
        self.temp_dir = temp_dir
        self._node: Any = None
        self._pids: set[int] = set()

    @property
    def address(self) -> str:
        if self._node is None:
            raise RuntimeError("the Ray head is not started")
        return str(self._node.address)

    def start(self) -> str:
        """Start GCS, raylet and the raylet's agents on loopback; return the GCS address.

        Call from the main thread: Ray's processes die with the thread that started them.
        """
        loopback_only()
        import ray._private.node
        import ray._private.parameter

        from local.processes import free_port

        class _Head(ray._private.node.Node):
            def start_api_server(self, **_: Any) -> None:
                """No dashboard head: the kit uses no job, state or dashboard API."""

        params = ray._private.parameter.RayParams(
            node_ip_address=LOOPBACK,
            num_cpus=self.num_cpus,
            include_dashboard=False,
            dashboard_host=LOOPBACK,
            dashboard_agent_listen_port=free_port(),  # 52365 by default: a second head would clash
            include_log_monitor=False,  # type: ignore[arg-type]
            no_monitor=True,
            temp_dir=self.temp_dir,
        )
        with _quiet("ray"), _minimal_agent():
            self._node = _Head(params, head=True, shutdown_at_exit=False, spawn_reaper=True)
        self._pids = set(self.pids())
        return self.address

    def lost(self) -> str | None:
        """Why the head cannot serve any more (its GCS or raylet exited), or None while both run."""
        if self._node is None:
            return None
        for kind in ("gcs_server", "raylet"):
            for info in self._node.all_processes.get(kind, ()):
                code = info.process.poll()  # they are our children: this also reaps them
                if code is not None:
                    return f"the Ray head's {kind} (pid {info.process.pid}) exited with code {code}"
        return None

    def pids(self) -> list[int]:
        """The head's processes (GCS, raylet) and all their descendants (agents, workers, replicas)."""
        import psutil

        if self._node is None:
            return []
        roots = [info.process.pid for infos in self._node.all_processes.values() for info in infos]
        found: set[int] = set()
        for pid in roots:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                found.add(pid)
                found.update(child.pid for child in process.children(recursive=True))
        return sorted(found)

    def stop(self, timeout_s: float = 1.0) -> None:
        """SIGTERM every process of this head, SIGKILL what is left after ``timeout_s``; wait for all.

        As Ray's own ``Node.kill_all_processes`` (1 s grace): by now Serve has stopped its replicas,
        and the GCS can take more than 10 s to act on a SIGTERM.
        """
        import psutil

        processes = []
        for pid in set(self.pids()) | self._pids:
            with contextlib.suppress(psutil.Error):
                processes.append(psutil.Process(pid))
        for process in processes:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _, alive = psutil.wait_procs(processes, timeout=timeout_s)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(alive, timeout=5)
        self._node = None
        self._pids = set()

    def kill(self) -> None:
        """SIGKILL every process of this head now (a second Ctrl-C); no waiting."""
        for pid in set(self.pids()) | self._pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def run_bounded(action: Callable[[], object], timeout_s: float, what: str) -> bool:
    """Run ``action`` in a daemon thread; give up waiting after ``timeout_s`` (False), log its error."""
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=what, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        logger.warning("%s did not finish within %.0fs: going on", what, timeout_s)
        return False
    if errors:
        logger.warning("%s failed: %s", what, errors[0])
    return not errors


@contextlib.contextmanager
def _minimal_agent() -> Any:
    """Start the raylet's dashboard agent as ``--minimal``, as Ray does when the dashboard's packages are
    missing (``services.start_raylet``): no gRPC server (Ray's metrics agent) and no HTTP server (the job,
    log and state APIs), none of which the kit uses: two listening ports fewer, ~10 MiB less."""
    import ray._private.utils

    original = ray._private.utils.get_dashboard_dependency_error
    ray._private.utils.get_dashboard_dependency_error = lambda: ImportError("isvc-kit: minimal agent")
    try:
        yield
    finally:
        ray._private.utils.get_dashboard_dependency_error = original


@contextlib.contextmanager
def _quiet(name: str) -> Any:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    name: str  # Ray's process title (``ray::ServeReplica:iris-predictor-00001``) or the command line
    pss_mib: float


def runtime_pss(root_pids: Iterable[int]) -> list[ProcessMemory]:
    """PSS (shared pages counted once over all processes) of each process in the trees under ``root_pids``.

    For ``isvc up`` pass its pid: the Ray head, its workers and replicas and the sink are its
    descendants. Biggest first; processes that end while being read are skipped. The total is
    ``sum(p.pss_mib for p in runtime_pss([pid]))``. Needs read access to ``/proc/PID/smaps_rollup``.
    """
    import psutil

    seen: dict[int, psutil.Process] = {}
    for pid in root_pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            seen[pid] = root
            seen.update((child.pid, child) for child in root.children(recursive=True))
    rows = []
    for pid, process in seen.items():
        with contextlib.suppress(psutil.Error):
            pss = process.memory_full_info().pss / 2**20
            rows.append(ProcessMemory(pid, " ".join(process.cmdline())[:120] or process.name(), round(pss, 1)))
    return sorted(rows, key=lambda row: row.pss_mib, reverse=True)

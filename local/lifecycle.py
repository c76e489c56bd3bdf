"""The process lifecycle of ``isvc up``: one instance per state directory, free ports, signals, bounded stop.

* ``InstanceLock``: ``up.pid`` in the state directory, held with ``flock`` while ``isvc up`` runs and
  naming its pid and ports. A second ``isvc up`` there fails, saying which one runs; a file left by
  a process that died is stale (its lock went with it) and is taken over.
* ``check_port``: a port that is taken is an error before anything starts, naming the process that
  listens on it (psutil's connection table).
* ``Stopper``: the first SIGINT/SIGTERM asks for a clean stop (the HTTP server winds down, then Serve,
  Ray and the sink stop); a second one, or any signal while stopping, kills the sink and the Ray
  head at once and exits 1. ``lost(reason)`` (Ray died under it) says so, stops serving, and exits 1
  within ``LOST_EXIT_S`` whatever the stop waits on.
* ``run_loop``: ``asyncio.run`` without its unbounded wait for cancelled tasks.

Imports neither ``ray`` nor the gateway: usable before either starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any

from local.errors import ConflictError

PID_FILE = "up.pid"
CANCEL_TIMEOUT_S = 5.0
LOST_EXIT_S = 10.0  # after Ray died: the orderly stop gets this long, then everything is killed


class InstanceLock:
    """``DIR/up.pid``: held (``flock``) by the running ``isvc up`` of that state directory."""

    def __init__(self, directory: Path):
        self.path = directory / PID_FILE
        self._file: IO[str] | None = None

    def acquire(self, **details: Any) -> None:
        """Take the lock and record this pid with ``details`` (host, ports); fail if another holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            raise ConflictError(f"isvc up is already running in {self.path.parent}: {_describe(text)}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": time.time(), **details}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._file.close()
        self._file = None


def _describe(text: str) -> str:
    try:
        record = json.loads(text)
    except ValueError:
        return "its pid file cannot be read"
    url = f"http://{record.get('host', '127.0.0.1')}:{record.get('port')}"
    return f"pid {record.get('pid')}, {url}; stop it first (Ctrl-C in its terminal, or kill {record.get('pid')})"


def port_holder(port: int) -> str | None:
    """``pid N (command)`` of the process listening on TCP ``port``, if it can be seen."""
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                try:
                    command = " ".join(psutil.Process(conn.pid).cmdline()) or psutil.Process(conn.pid).name()
                except psutil.Error:
                    command = "?"
                return f"pid {conn.pid} ({command[:100]})"
    return None


def check_port(host: str, port: int, what: str, option: str) -> None:
    """Fail now if ``host:port`` cannot be bound, naming the process that holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            holder = port_holder(port)
            by = f" by {holder}" if holder else ""
            raise ConflictError(
                f"{host}:{port} is already in use{by} ({what}: {exc.strerror}). "
                f"Stop it, or pick another port with {option}"
            ) from exc


class Stopper:
    """SIGINT/SIGTERM handling of ``isvc up``: a clean stop first, an immediate one on the next signal.

    Python runs signal handlers in the main thread only between bytecodes, so a main thread blocked
    in Ray's C++ code (connecting to a GCS, say) would never see them. The signals are also written
    to a wakeup fd (``signal.set_wakeup_fd``, from the C-level handler) that a watcher thread reads:
    it counts them, stops the HTTP server, and on the second signal kills the sink and the Ray head
    and exits 1 even while the main thread is stuck.
    """

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.server: Any = None  # the uvicorn server while serving: a signal sets its should_exit
        self.stopping = False  # set when the clean stop begins: any signal from then on is the second
        self.requested = False  # a stop was asked for (exit code 0)
        self.force_actions: list[Callable[[], None]] = []  # kill the sink, kill the Ray head, ...
        self.lost_reason: str | None = None  # set when Ray died under us (exit code 1)
        self._signals = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        """Call from the main thread."""
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._sockets = (reader, writer)
        self.reclaim()
        threading.Thread(target=self._watch, args=(reader,), name="isvc-up-signals", daemon=True).start()

    def reclaim(self) -> None:
        """(Re)install the Python-level handlers: ``ray.init`` replaces SIGTERM's with ``sys.exit(15)``."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)

    def _watch(self, reader: socket.socket) -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for _ in data:
                self.signalled()

    def signalled(self) -> None:
        """One SIGINT/SIGTERM (from the watcher thread)."""
        with self._lock:
            self._signals += 1
            count = self._signals
        if count > 1 or self.stopping:
            self.force()
        self.requested = True
        if self.server is not None:
            self.server.should_exit = True  # uvicorn stops accepting, finishes requests, returns

    def on_signal(self, signum: int, frame: Any) -> None:
        """The Python-level handler (main thread): interrupts start-up; serving stops via the watcher."""
        self.requested = True
        if self.server is None and not self.stopping:
            raise KeyboardInterrupt

    def lost(self, reason: str, exit_within_s: float = LOST_EXIT_S) -> None:
        """Ray died under a running ``isvc up`` (from the watch thread): say so and stop, exit code 1.

        The HTTP server stops as on a signal and the stop skips Serve; if anything still hangs (a Ray
        call from the main thread never returns without its GCS), ``force`` ends it after ``exit_within_s``.
        """
        if self.stopping or self.requested:
            return  # a stop already under way ends Ray on purpose
        self.lost_reason = reason
        with contextlib.suppress(Exception):
            self.log(f"Ray is gone: {reason}. Nothing can be served without it: stopping (exit code 1)")
        if self.server is not None:
            self.server.should_exit = True
        timer = threading.Timer(exit_within_s, self.force, kwargs={"why": "Ray is gone: stopping the sink and Ray now"})
        timer.daemon = True
        timer.start()

    def exit_if_lost(self) -> None:
        """Once the stop that followed ``lost`` is done: exit 1 at once. Threads still blocked in calls
        to the dead Ray (executor threads Python joins at exit) would otherwise hold the exit."""
        if self.lost_reason is None:
            return
        with contextlib.suppress(Exception):
            self.log("stopped (Ray was gone)")
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(1)

    def force(self, why: str = "second signal: stopping the sink and Ray now") -> None:
        """Stop everything this process started, now, and exit 1 (no cleanup that could hang)."""
        with contextlib.suppress(Exception):
            self.log(why)
        for action in self.force_actions:
            with contextlib.suppress(Exception):
                action()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(1)


def run_loop(main: Coroutine[Any, Any, Any], cancel_timeout_s: float = CANCEL_TIMEOUT_S) -> Any:
    """Run ``main`` on a new event loop; then cancel what is left and wait at most ``cancel_timeout_s``.

    ``asyncio.run`` waits for cancelled tasks without a bound: a task that ignores cancellation (or
    waits on a thread) kept ``isvc up`` from exiting.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=cancel_timeout_s))
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), cancel_timeout_s))
        finally:
            loop.close()

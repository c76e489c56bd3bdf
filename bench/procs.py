"""Start, probe and stop the runtimes the bench compares; every process started here is stopped.

* ``IsvcUp``: ``isvc up -f FILE... --port P --grpc-port 0 [--sink] [--reload]`` in a session of its own,
  driven through its HTTP API (the one ``isvc get/apply/delete`` use); ``stop`` sends SIGINT to the
  group (isvc up stops Serve, Ray and its sink), then SIGKILL to the group and to every process left in
  its session (Ray workers run in process groups of their own).
* the pod side is ``local.processes`` (``start_chain``, ``ComponentProcess``): one process per component,
  each in its own process group.
* ``wait_200``: the one readiness criterion for both sides, the first 200 on the benchmark's request.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
API = "/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices"
SINK_PORT = 8099  # where `isvc up --sink` starts the sink (local.logger.DEFAULT_SINK_URL)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def post(url: str, body: str, timeout: float = 5.0) -> httpx.Response | None:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=timeout)
    return None


def wait_200(url: str, body: str, deadline_s: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Send ``body`` to ``url`` until it answers 200; seconds waited. Raises if ``proc`` exits first."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before the first 200")
        response = post(url, body, timeout=min(10.0, deadline_s))
        if response is not None and response.status_code == 200:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"no 200 from {url} within {deadline_s:.0f}s")


def session_processes(pids: Sequence[int]) -> list[psutil.Process]:
    """The processes, their descendants and every member of their sessions (Ray workers included)."""
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                found[proc.pid] = proc
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getsid(proc.pid) in pids:
                found[proc.pid] = proc
    return list(found.values())


def cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def isvc_help(subcommand: str) -> str:
    out = subprocess.run([str(BIN / "isvc"), subcommand, "--help"], capture_output=True, text=True, cwd=REPO)
    return out.stdout + out.stderr


class IsvcUp:
    """One ``isvc up`` session on a free port, with its own state and events databases in ``workdir``."""

    def __init__(
        self,
        files: Sequence[Path],
        workdir: Path,
        port: int,
        sink: bool = False,
        reload: bool = False,
        sink_port: int | None = None,
    ):
        self.files, self.workdir, self.port, self.sink, self.reload = list(files), workdir, port, sink, reload
        self.sink_port = sink_port  # None: isvc up's default (SINK_PORT)
        self.log_path = workdir / f"isvc-up-{port}.log"
        self.events_db = workdir / f"events-{port}.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(base_url=self.url, timeout=300.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def infer_url(self, name: str) -> str:
        return f"{self.url}/v2/models/{name}/infer"

    def start(self, env: dict[str, str] | None = None) -> None:
        cmd = [str(BIN / "isvc"), "up", *(a for f in self.files for a in ("-f", str(f)))]
        cmd += ["--port", str(self.port), "--grpc-port", "0", "--state", str(self.workdir / f"state-{self.port}.db")]
        cmd += ["--sink"] if self.sink else []
        cmd += ["--sink-port", str(self.sink_port)] if self.sink and self.sink_port is not None else []
        cmd += ["--reload"] if self.reload else []
        environ = os.environ | {"ISVC_SINK_DB": f"sqlite:///{self.events_db}"} | (env or {})
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environ
            )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def processes(self) -> list[psutil.Process]:
        return session_processes([self.proc.pid]) if self.proc is not None else []

    def get(self, name: str) -> dict[str, Any] | None:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            response = self._http.get(f"{API}/{name}", timeout=10.0)
            if response.status_code == 200:
                document: dict[str, Any] = response.json()
                return document
        return None

    def local_status(self, name: str) -> dict[str, Any]:
        document = self.get(name) or {}
        local: dict[str, Any] = document.get("status", {}).get("localRuntime", {})
        return local

    def apply(self, path: Path) -> tuple[bool, str]:
        """``isvc apply -f path``; (ready, output)."""
        cmd = [str(BIN / "isvc"), "apply", "-f", str(path), "--server", self.url]
        try:
            out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return False, f"isvc apply -f {path.name}: no answer within 300 s"
        return out.returncode == 0, (out.stdout + out.stderr).strip()

    def delete(self, name: str) -> None:
        cmd = [str(BIN / "isvc"), "delete", name, "--server", self.url]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)

    def metrics(self) -> str:
        with contextlib.suppress(httpx.HTTPError):
            return self._http.get("/metrics", timeout=10.0).text
        return ""

    def stop(self, grace_s: float = 30.0) -> float:
        """Stop the session (SIGINT, then SIGKILL for whatever is left); seconds it took. Idempotent."""
        started = time.monotonic()
        # a Ctrl-C or SIGTERM from here on must not cut the cleanup short
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._http.close()
            if self.proc is not None:
                _stop_session(self.proc, grace_s)
                self.proc = None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return time.monotonic() - started


def _stop_session(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    stragglers = session_processes([proc.pid])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for straggler in [*stragglers, *session_processes([proc.pid])]:  # Ray workers: own groups, same session
        with contextlib.suppress(psutil.Error):
            straggler.kill()


def stored_events(db: Path, service: str) -> int | None:
    """Events the sink stored for ``service`` (None when the database is absent or unreadable)."""
    import sqlite3

    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            row = conn.execute("SELECT COUNT(*) FROM events WHERE inferenceservicename = ?", (service,)).fetchone()
    except sqlite3.Error:
        return None
    return int(row[0])


def stored_events_cli(db: Path, service: str) -> int | None:
    """The same count through ``isvc events NAME -o json`` (request/response pairs, each half one event)."""
    cmd = [str(BIN / "isvc"), "events", service, "-o", "json", "--limit", "1000000", "--db", f"sqlite:///{db}"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    with contextlib.suppress(ValueError):
        items = json.loads(out.stdout)
        return sum((pair.get("request") is not None) + (pair.get("response") is not None) for pair in items)
    return None


def sample_failure(url: str, body: str, conns: int, attempts: int = 4) -> str | None:
    """After a round with errors: ``conns`` concurrent requests, a few times; the first failure's status and body."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, conns)) as pool:
        for _ in range(attempts):
            for response in pool.map(lambda _: post(url, body, timeout=10.0), range(max(1, conns))):
                if response is None:
                    return "connection error"
                if response.status_code >= 300:
                    return f"HTTP {response.status_code}: {response.text[:200]}"
    return None

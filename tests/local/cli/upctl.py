"""Run ``isvc up`` as a real process for the tests: free ports, its own state directory, first 200."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from local.processes import free_port
from tests.conftest import REPO_ROOT, SETOSA

LOOPBACK_IPS = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@dataclass
class Up:
    """One ``isvc up`` process (``start``), its ports and log."""

    state_dir: Path
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    sink_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"up-{self.port}.log"

    def command(self) -> list[str]:
        ports = ["--port", str(self.port), "--grpc-port", str(self.grpc_port), "--sink-port", str(self.sink_port)]
        return [sys.executable, "-m", "local.cli.main", "up", *ports, *self.args]

    def env(self) -> dict[str, str]:
        return env_for(self.state_dir)

    def start(self) -> Up:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_first_200(self, timeout_s: float = 240.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"isvc up exited with {self.process.returncode}:\n{self.log()}"
                with contextlib.suppress(httpx.HTTPError):
                    response = client.post(f"{self.url}/v1/models/iris:predict", json={"instances": [SETOSA]})
                    if response.status_code == 200:
                        return
                time.sleep(0.2)
        raise AssertionError(f"no 200 within {timeout_s:.0f}s:\n{self.log()}")

    def tree(self) -> list[psutil.Process]:
        """``isvc up`` and all its descendants (the Ray head's processes, workers, the sink)."""
        assert self.process is not None
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def stop(self, timeout_s: float = 60.0, signum: int = signal.SIGINT) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        pids = [process.pid for process in self.tree()]
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_all(pids)
            self.process.wait()
            raise AssertionError(f"isvc up did not stop within {timeout_s:.0f}s:\n{self.log()}") from None


def env_for(state_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env.update(
        ISVC_STATE_DIR=str(state_dir),
        ISVC_SINK_DB=f"sqlite:///{state_dir}/events.db",
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_up(state_dir: Path, *args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``isvc up ARGS`` to completion (for the cases that must fail before Ray starts)."""
    return subprocess.run(
        [sys.executable, "-m", "local.cli.main", "up", *args],
        cwd=REPO_ROOT,
        env=env_for(state_dir),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def alive(pids: list[int]) -> list[str]:
    """The processes among ``pids`` still running (zombies excluded), described."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{pid} {' '.join(process.cmdline())[:80]}")
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def listeners(processes: list[psutil.Process]) -> list[tuple[str, int, int, str]]:
    """(ip, port, pid, process name) of every listening TCP socket of ``processes``."""
    pids = {process.pid: process for process in processes}
    rows = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            with contextlib.suppress(psutil.Error):
                rows.append((conn.laddr.ip, conn.laddr.port, conn.pid, pids[conn.pid].name()))
    return rows

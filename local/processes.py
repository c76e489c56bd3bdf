"""Pod-equivalent processes: each component started exactly as its container would start it.

A ``ComponentProcess`` runs ``python -m <module> <args>`` (the container command of the kit's images)
on free loopback ports and waits until KServe's ``/v2/health/ready`` answers. ``start_chain`` starts
a predictor, then a transformer pointed at it over V2 HTTP (``--predictor_host``,
``--predictor_protocol v2``), as KServe wires them in a cluster. Processes run in their own process
group and are always stopped, even when start-up fails.

This is the third runtime of the kit: a test oracle for the cluster path and a baseline for the
benchmark. It imports neither ``ray`` nor the Ray layer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT_S = 60.0
REPO_ROOT = Path(__file__).resolve().parent.parent


class ProcessStartError(RuntimeError):
    """A component process exited or never became ready; the message carries its log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class ComponentProcess:
    """One ``python -m module args`` process serving KServe's protocol on ``http_port``."""

    module: str
    args: Sequence[str]
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            self.module,
            *self.args,
            f"--http_port={self.http_port}",
            f"--grpc_port={self.grpc_port}",
            f"--bind_host={self.host}",
        ]

    def start(self) -> None:
        if self.log_path is None:
            self.log_path = Path(tempfile.gettempdir()) / f"isvc-{self.module}-{self.http_port}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise ProcessStartError(f"{self.module} exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/v2/health/ready").status_code == 200:
                        return
                time.sleep(0.1)
        raise ProcessStartError(f"{self.module} not ready after {timeout_s:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Chain:
    """A started predictor and, optionally, the transformer in front of it."""

    predictor: ComponentProcess
    transformer: ComponentProcess | None = None

    @property
    def entry(self) -> ComponentProcess:
        return self.transformer or self.predictor

    @property
    def url(self) -> str:
        return self.entry.url


@contextlib.contextmanager
def start_chain(
    predictor_module: str,
    predictor_args: Sequence[str],
    transformer_module: str | None = None,
    transformer_args: Sequence[str] = (),
    transformer_port: int | None = None,
    predictor_port: int | None = None,
) -> Iterator[Chain]:
    """Start predictor (and transformer) processes, yield them ready, always stop them."""
    predictor = ComponentProcess(predictor_module, predictor_args)
    if predictor_port is not None:
        predictor.http_port = predictor_port
    transformer = None
    if transformer_module is not None:
        transformer = ComponentProcess(
            transformer_module,
            [*transformer_args, f"--predictor_host=127.0.0.1:{predictor.http_port}", "--predictor_protocol=v2"],
        )
        if transformer_port is not None:
            transformer.http_port = transformer_port
    started = [component for component in (predictor, transformer) if component is not None]
    try:
        for component in started:
            component.start()
        for component in started:
            component.wait_ready()
        yield Chain(predictor, transformer)
    finally:
        for component in reversed(started):
            component.stop()

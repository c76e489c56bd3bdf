"""``isvc up --ray-address``: the same services on a Ray cluster the kit did not start, left running after.

The cluster is a second local head started here the way a user would (``ray start --head`` on
loopback, token auth with the kit's token). It is stopped by its own pids, not ``ray stop``:
``ray stop`` ends every Ray process of the user on the machine, other sessions' included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from local.processes import free_port
from local.ray_layer.environment import RAY_ENV_DEFAULTS
from local.ray_layer.head import LOOPBACK_ENV, ensure_token
from tests.conftest import REPO_ROOT
from tests.local.cli.upctl import Up, alive, env_for, kill_all

pytestmark = pytest.mark.ray


class Cluster:
    def __init__(self, temp_dir: str, gcs_port: int):
        self.temp_dir = temp_dir
        self.address = f"127.0.0.1:{gcs_port}"

    def processes(self) -> list[psutil.Process]:
        """The head's processes (found by its temp dir or GCS address) and their descendants."""
        found: dict[int, psutil.Process] = {}
        for process in psutil.process_iter(["cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            if self.temp_dir in command or f"--address={self.address}" in command:
                found[process.pid] = process
                with contextlib.suppress(psutil.Error):
                    found.update((child.pid, child) for child in process.children(recursive=True))
        return list(found.values())

    def names(self) -> list[str]:
        names = []
        for process in self.processes():
            with contextlib.suppress(psutil.Error):
                names.append(process.name())
        return names


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Path]]:
    state_dir = tmp_path_factory.mktemp("state")
    token = ensure_token(state_dir)
    temp_dir = tempfile.mkdtemp(prefix="isvc-ray-", dir="/tmp")  # Ray's socket paths must stay short
    gcs_port = free_port()
    env = {
        **env_for(state_dir),
        **RAY_ENV_DEFAULTS,
        **LOOPBACK_ENV,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
    }
    command = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={gcs_port}",
        "--num-cpus=1",
        "--include-dashboard=false",
        "--include-log-monitor=false",
        "--no-monitor",
        "--disable-usage-stats",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--ray-client-server-port={free_port()}",
        f"--temp-dir={temp_dir}",
    ]
    head = Cluster(temp_dir, gcs_port)
    try:
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=180)
        yield head, state_dir
    finally:
        pids = [process.pid for process in head.processes()]
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, 15)
        time.sleep(2)
        kill_all(pids)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_up_serves_on_an_existing_cluster_and_leaves_it_running(cluster: tuple[Cluster, Path]) -> None:
    head, state_dir = cluster
    up = Up(state_dir, ["--ray-address", head.address, "-f", str(REPO_ROOT / "manifests" / "iris.yaml")])
    up.start()
    try:
        up.wait_first_200()
        own = [" ".join(process.cmdline()) for process in up.tree()[1:]]
        assert not any("gcs_server" in command or "raylet" in command for command in own), own  # no head of its own
        assert any(name.startswith("ray::ServeRepl") for name in head.names())  # the replicas run on the cluster
        assert f"cluster {head.address}" in up.log()
    finally:
        code = up.stop(signum=signal.SIGTERM)  # `kill`: as clean as Ctrl-C (Ray's own handler would exit 15)
    assert code == 0, up.log()
    gcs = [process for process in head.processes() if process.name() == "gcs_server"]
    assert gcs and alive([process.pid for process in gcs])  # the cluster is still up
    deadline = time.monotonic() + 30
    while any(name.startswith(("ray::ServeRepl", "ray::ServeContr")) for name in head.names()):
        assert time.monotonic() < deadline, f"Serve left on the cluster: {head.names()}"
        time.sleep(0.5)

"""The Ray token, the instance lock, port checks, signal handling and the bounded loop: no Ray started."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from local.cli.up import exposure_warning
from local.errors import ConflictError
from local.lifecycle import InstanceLock, Stopper, check_port, port_holder, run_loop
from local.ray_layer.head import TOKEN_FILE, ensure_token, runtime_pss, use_token


def test_token_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = ensure_token(tmp_path / "state")
    assert path.name == TOKEN_FILE
    token = path.read_text()
    assert len(token) == 64 and int(token, 16) >= 0  # 256 bits, hex, as `ray get-auth-token --generate`
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert ensure_token(tmp_path / "state").read_text() == token  # kept, not regenerated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # and closed again


def test_use_token_turns_token_auth_on_and_keeps_a_token_the_user_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = ensure_token(tmp_path)
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delitem(sys.modules, "ray._raylet", raising=False)  # not imported: nothing to refresh
    use_token(token)
    assert os.environ["RAY_AUTH_MODE"] == "token"
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == str(token)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", "/elsewhere/token")
    use_token(token)
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == "/elsewhere/token"


def test_runtime_pss_lists_the_process_tree(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rows = runtime_pss([os.getpid()])
    finally:
        child.kill()
        child.wait()
    pids = {row.pid for row in rows}
    assert {os.getpid(), child.pid} <= pids
    assert all(row.pss_mib > 0 for row in rows)
    assert rows == sorted(rows, key=lambda row: row.pss_mib, reverse=True)


def test_a_second_lock_in_the_same_directory_names_the_first(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path)
    first.acquire(host="127.0.0.1", port=18080, grpc_port=18081)
    try:
        record = json.loads((tmp_path / "up.pid").read_text())
        assert record["pid"] == os.getpid() and record["port"] == 18080
        # Another process (flock locks are per open file: a child tries it for real).
        code = (
            "import sys; from pathlib import Path; from local.lifecycle import InstanceLock\n"
            f"InstanceLock(Path({str(tmp_path)!r})).acquire(port=1)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path.cwd())
        assert result.returncode == 1
        assert f"isvc up is already running in {tmp_path}: pid {os.getpid()}, http://127.0.0.1:18080" in result.stderr
    finally:
        first.release()
    assert not (tmp_path / "up.pid").exists()


def test_a_stale_pid_file_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / "up.pid").write_text(json.dumps({"pid": 999999, "port": 1}))  # its process is gone
    lock = InstanceLock(tmp_path)
    lock.acquire(port=2)
    try:
        assert json.loads((tmp_path / "up.pid").read_text())["pid"] == os.getpid()
    finally:
        lock.release()


def test_a_taken_port_names_the_process_holding_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert (port_holder(port) or "").startswith(f"pid {os.getpid()} (")
        with pytest.raises(ConflictError) as error:
            check_port("127.0.0.1", port, "event sink", "--sink-port")
    message = str(error.value)
    assert f"127.0.0.1:{port} is already in use by pid {os.getpid()}" in message
    assert "event sink" in message and "--sink-port" in message
    check_port("127.0.0.1", port, "event sink", "--sink-port")  # free again


def test_host_beyond_loopback_warns_what_it_exposes() -> None:
    assert exposure_warning("127.0.0.1", 8080, 8081) is None
    warning = exposure_warning("0.0.0.0", 8080, 8081)
    assert warning is not None
    assert "HTTP (port 8080)" in warning and "gRPC (port 8081)" in warning and "without authentication" in warning


class _Server:
    should_exit = False


def test_first_signal_stops_the_server_second_forces(monkeypatch: pytest.MonkeyPatch) -> None:
    stopper = Stopper(log=lambda line: None)
    forced: list[str] = []
    monkeypatch.setattr(stopper, "force", lambda: forced.append("forced"))
    server = _Server()
    stopper.server = server
    stopper.signalled()
    assert server.should_exit and stopper.requested and not forced
    stopper.signalled()
    assert forced == ["forced"]


def test_a_signal_while_stopping_forces_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    stopper = Stopper(log=lambda line: None)
    forced: list[str] = []
    monkeypatch.setattr(stopper, "force", lambda: forced.append("forced"))
    stopper.stopping = True
    stopper.signalled()
    assert forced == ["forced"]
    stopper.on_signal(2, None)  # the Python-level handler does not interrupt the clean stop


def test_the_python_handler_interrupts_start_up() -> None:
    stopper = Stopper(log=lambda line: None)
    with pytest.raises(KeyboardInterrupt):
        stopper.on_signal(2, None)
    assert stopper.requested


def test_run_loop_returns_although_a_task_ignores_cancellation() -> None:
    stubborn_cancelled = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                stubborn_cancelled.append(True)  # and keeps going, as a task stuck in cleanup does

    async def main() -> str:
        asyncio.get_running_loop().create_task(stubborn())
        await asyncio.sleep(0)
        return "done"

    assert run_loop(main(), cancel_timeout_s=0.2) == "done"
    assert stubborn_cancelled == [True]

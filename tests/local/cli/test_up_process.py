"""``isvc up`` as a user runs it: closed to the network, one per state directory, ports, double signal.

One ``isvc up --sink -f manifests/iris.yaml`` (free ports, its own state directory) serves the whole
module; the last test stops it with SIGINT then SIGTERM.
"""

from __future__ import annotations

import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from local.lifecycle import InstanceLock
from local.ray_layer.environment import RAY_ENV_DEFAULTS
from local.ray_layer.head import TOKEN_FILE
from tests.conftest import REPO_ROOT
from tests.local.cli.upctl import LOOPBACK_IPS, Up, alive, listeners, run_up

pytestmark = pytest.mark.ray

# A Serve replica's inter-deployment gRPC method (ray/serve/_private/replica.py, ASGIService).
REPLICA_METHOD = "/ray.serve.ASGIService/HandleRequest"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    instance = Up(tmp_path_factory.mktemp("up"), ["--sink", "-f", str(REPO_ROOT / "manifests" / "iris.yaml")])
    instance.start()
    try:
        instance.wait_first_200()
        yield instance
    finally:
        if instance.process is not None and instance.process.poll() is None:
            instance.stop()


def _call_without_and_with_token(port: int, token: str) -> tuple[grpc.StatusCode, grpc.StatusCode]:
    codes = []
    for metadata in ((), (("authorization", f"Bearer {token}"),)):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(REPLICA_METHOD, request_serializer=bytes, response_deserializer=bytes)
            try:
                call(b"", timeout=10, metadata=metadata)
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
    return codes[0], codes[1]


def test_nothing_listens_beyond_loopback_but_token_guarded_replicas(up: Up) -> None:
    token_file = up.state_dir / TOKEN_FILE
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    sockets = listeners(up.tree())
    assert ("127.0.0.1", up.port) in {(ip, port) for ip, port, _, _ in sockets}, sockets
    assert {name for _, _, _, name in sockets} >= {"gcs_server", "raylet"}  # Ray's own, seen and on loopback
    open_beyond = [row for row in sockets if row[0] not in LOOPBACK_IPS]
    for ip, port, pid, name in open_beyond:
        # Serve binds each replica's inter-deployment server on [::]:0, with Ray's token interceptor.
        assert name.startswith("ray::ServeRepl"), f"{name} (pid {pid}) listens on {ip}:{port}"
        without, with_token = _call_without_and_with_token(port, token)
        assert without == grpc.StatusCode.UNAUTHENTICATED, (name, port, without)
        assert with_token != grpc.StatusCode.UNAUTHENTICATED, (name, port, with_token)


def test_the_head_runs_only_what_the_kit_uses_and_workers_inherit_its_settings(up: Up) -> None:
    commands = [" ".join(process.cmdline()) for process in up.tree()]
    for unused in ("dashboard/dashboard.py", "log_monitor.py", "autoscaler/_private/monitor.py", "ray.util.client"):
        assert not any(unused in command for command in commands), unused
    replicas = [process for process in up.tree() if process.name().startswith("ray::ServeRepl")]
    assert replicas
    for replica in replicas:
        environ = replica.environ()
        assert environ.get("RAY_AUTH_MODE") == "token"
        for key in ("RAY_SERVE_THROUGHPUT_OPTIMIZED", "RAY_preload_python_modules", "RAY_worker_niceness"):
            assert environ.get(key) == RAY_ENV_DEFAULTS[key], key


def test_a_second_up_in_the_same_state_directory_is_refused(up: Up) -> None:
    assert up.process is not None
    result = run_up(up.state_dir, "--port", "0", "--grpc-port", "0")
    assert result.returncode == 1
    assert f"isvc up is already running in {up.state_dir}: pid {up.process.pid}, {up.url}" in result.stderr


def test_taken_ports_name_their_holder_and_spec_errors_fail_before_ray(up: Up, tmp_path: Path) -> None:
    assert up.process is not None
    sink = next(p for p in up.tree() if "sink" in " ".join(p.cmdline()) and p.pid != up.process.pid)
    result = run_up(tmp_path / "a", "--sink", "--sink-port", str(up.sink_port), "--port", "0", "--grpc-port", "0")
    assert result.returncode == 1
    assert f"127.0.0.1:{up.sink_port} is already in use by pid {sink.pid}" in result.stderr
    assert "--sink-port" in result.stderr
    result = run_up(tmp_path / "b", "--port", str(up.port), "--grpc-port", "0")
    assert result.returncode == 1
    assert f"127.0.0.1:{up.port} is already in use by pid {up.process.pid}" in result.stderr

    bad = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    bad["spec"]["predictor"]["minReplicas"] = -1
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    result = run_up(tmp_path / "c", "-f", str(tmp_path / "bad.yaml"), "--port", "0")
    assert result.returncode == 1
    assert "spec.predictor.minReplicas" in result.stderr
    assert "Ray and Serve" not in result.stdout  # failed before Ray started
    assert not (tmp_path / "c" / TOKEN_FILE).exists()

    unserved = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "flowers"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "tensorflow"}, "storageUri": "gs://b/flowers"}}},
    }
    (tmp_path / "tf.yaml").write_text(yaml.safe_dump(unserved))
    result = run_up(tmp_path / "d", "-f", str(tmp_path / "tf.yaml"), "--port", "0")
    assert result.returncode == 1  # planned before Ray starts: a format with no local runtime fails at once
    assert "InferenceService/flowers: spec.predictor.model.modelFormat.name: 'tensorflow' has no local" in (
        result.stderr
    )
    assert "Ray and Serve" not in result.stdout


def test_sigint_then_sigterm_stops_everything(up: Up) -> None:
    assert up.process is not None
    pids = [process.pid for process in up.tree()]
    assert len(pids) >= 6  # isvc up, sink, GCS, raylet, agents, controller, replicas
    up.process.send_signal(signal.SIGINT)
    time.sleep(1)
    if up.process.poll() is None:
        up.process.send_signal(signal.SIGTERM)
    code = up.process.wait(timeout=60)
    assert code in (0, 1), up.log()
    deadline = time.monotonic() + 10
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(pids) == [], up.log()
    # The next isvc up here is not refused by what the stopped one left.
    lock = InstanceLock(up.state_dir)
    lock.acquire(port=1)
    lock.release()

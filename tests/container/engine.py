"""The Docker CLI as the container tier uses it: reachability, image builds, pod-like runs, clean-up.

A container is run as its pod runs it in manifests/: the manifest container's command and args, and its
``securityContext`` turned into the equivalent ``docker run`` flags (:func:`security_flags`). Ports are
published on 127.0.0.1 only; containers talk to each other over a user-defined network by name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HUB_PYTHON = "python:3.11.14-slim-bookworm"
LOCAL_PYTHON = "isvc-kit/python-local:3.11-bookworm"
LOCAL_POSTGRES = "isvc-kit/postgres-local:15-bookworm"
TEST_TAG = "test"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} ...: exit {result.returncode}\n{result.stderr[-3000:]}")
    return result


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        result = docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    return None if result.returncode == 0 else f"no Docker engine reachable: {result.stderr.strip()[:200]}"


def image_present(name: str) -> bool:
    return docker("image", "inspect", name, check=False).returncode == 0


def python_base() -> str:
    """The base the Dockerfiles build on: $PYTHON_IMAGE, else Docker Hub's slim Python if present or
    pullable, else the local Debian base (built by docker/base/build.sh when missing, as root)."""
    chosen = os.environ.get("PYTHON_IMAGE")
    if chosen:
        return chosen
    for name in (HUB_PYTHON, LOCAL_PYTHON):
        if image_present(name):
            return name
    if docker("pull", "--quiet", HUB_PYTHON, timeout=180, check=False).returncode == 0:
        return HUB_PYTHON
    subprocess.run([str(REPO_ROOT / "docker" / "base" / "build.sh"), LOCAL_PYTHON], check=True, timeout=900)
    return LOCAL_PYTHON


def build(dockerfile: str, tag: str, build_args: dict[str, str], context: Path = REPO_ROOT) -> float:
    """``docker build`` (host network: builds must reach the package registries); seconds it took."""
    args = [f"--build-arg={key}={value}" for key, value in build_args.items()]
    start = time.monotonic()
    docker("build", "--quiet", "--network=host", *args, "-f", dockerfile, "-t", tag, str(context), timeout=900)
    return time.monotonic() - start


def image_facts(tag: str) -> dict[str, Any]:
    info = json.loads(docker("image", "inspect", tag).stdout)[0]
    return {"size": info["Size"], "layers": len(info["RootFS"]["Layers"]), "config": info["Config"]}


def manifest_container(component: str, manifest: str = "iris.yaml") -> dict[str, Any]:
    """The first container of a component of manifests/<manifest> (an InferenceService or a ksvc)."""
    document = yaml.safe_load((REPO_ROOT / "manifests" / manifest).read_text())
    spec = document["spec"]
    if component in spec:
        return dict(spec[component]["containers"][0])
    return dict(spec["template"]["spec"]["containers"][0])


def security_flags(container: dict[str, Any]) -> list[str]:
    """A pod container's securityContext as ``docker run`` flags (what the kubelet asks of the runtime)."""
    context = container.get("securityContext", {})
    flags = []
    if "runAsUser" in context:
        flags.append(f"--user={context['runAsUser']}:{context.get('runAsGroup', context['runAsUser'])}")
    if context.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    for capability in context.get("capabilities", {}).get("drop", []):
        flags.append(f"--cap-drop={capability}")
    if context.get("allowPrivilegeEscalation") is False:
        flags.append("--security-opt=no-new-privileges")
    return flags


@dataclass
class Container:
    name: str
    url: str  # http://127.0.0.1:<published port>
    http_port: int
    module: str

    def logs(self) -> str:
        result = docker("logs", self.name, check=False)
        return result.stdout + result.stderr

    def inspect(self) -> dict[str, Any]:
        return dict(json.loads(docker("inspect", self.name).stdout)[0])


def run_pod_container(
    image: str, container: dict[str, Any], network: str, alias: str, extra_args: tuple[str, ...] = ()
) -> Container:
    """Start ``image`` detached as the manifest's container runs, port 8080 published on 127.0.0.1."""
    name = f"isvc-test-{alias}-{uuid.uuid4().hex[:8]}"
    argv = [*container["command"], *container.get("args", []), *extra_args]
    docker(
        "run",
        "--detach",
        f"--name={name}",
        f"--network={network}",
        f"--network-alias={alias}",
        "--publish=127.0.0.1::8080",
        "--label=isvc-kit.test=1",
        *security_flags(container),
        image,
        *argv,
    )
    port = int(docker("port", name, "8080/tcp").stdout.split()[0].rsplit(":", 1)[1])
    module = argv[2] if argv[:2] == ["python", "-m"] else argv[0]
    return Container(name, f"http://127.0.0.1:{port}", port, module)


def wait_ready(container: Container, path: str = "/v2/health/ready", timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container.inspect()["State"]
        if not state["Running"]:
            raise RuntimeError(f"{container.name} exited {state['ExitCode']}:\n{container.logs()[-3000:]}")
        try:
            if httpx.get(container.url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{container.name} not ready after {timeout} s:\n{container.logs()[-3000:]}")


def remove(*names: str) -> None:
    for name in names:
        docker("rm", "--force", "--volumes", name, check=False)


def network(prefix: str = "isvc-test") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--label=isvc-kit.test=1", name)
    return name

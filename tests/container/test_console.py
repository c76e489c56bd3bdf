"""The console image (Dockerfile.console), run as the Deployment in manifests/console.yaml runs it.

The Deployment's container is read from the manifest: its command and args, its env, its securityContext
as ``docker run`` flags (``engine.security_flags``), its emptyDir on /tmp as a tmpfs, its port published
on 127.0.0.1 only. What the kubelet adds to a pod with ``automountServiceAccountToken: true`` is added
too: ``KUBERNETES_SERVICE_HOST``/``_PORT`` and a ServiceAccount directory (token, ca.crt, namespace)
mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount. There is no cluster here, so the
service address is the container's own loopback, where nothing listens: the console starts, answers
/healthz, and its pages say that the cluster is unreachable (HTTP 500, the error in the page).
"""

from __future__ import annotations

import html
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
import yaml
from packaging.utils import canonicalize_name

from tests.container import engine
from tests.container.test_images import EXPORT, in_image

pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The console's own imports, and the modules uvicorn loads to serve (asyncio loop, h11, lifespan).
CONSOLE_IMPORTS = (
    "import local.console.__main__, local.console.cluster, local.console.routes, kubernetes.config, "
    "uvicorn.loops.asyncio, uvicorn.protocols.http.h11_impl, uvicorn.lifespan.on"
)
# Never imported by the console: KServe's tree, the sink's database drivers, Ray, the Kubernetes client's
# asyncio dependencies, Google auth (an optional import of kubernetes.config), pip.
ABSENT_MODULES = [
    "kserve",
    "numpy",
    "sklearn",
    "sqlalchemy",
    "psycopg",
    "ray",
    "aiohttp",
    "aiohttp_retry",
    "google",
    "pip",
]


def deployment() -> tuple[dict[str, Any], dict[str, Any]]:
    """The pod spec and the container of the Deployment in manifests/console.yaml (a multi-document file)."""
    documents = yaml.safe_load_all((engine.REPO_ROOT / "manifests" / "console.yaml").read_text())
    found = next(d for d in documents if d and d.get("kind") == "Deployment")
    pod = found["spec"]["template"]["spec"]
    return pod, dict(pod["containers"][0])


def _size(limit: str) -> str:
    """An emptyDir sizeLimit (``16Mi``) as a tmpfs size (``16m``)."""
    return limit.removesuffix("i").lower()


def pod_flags(pod: dict[str, Any], container: dict[str, Any], service_account: Path | None) -> list[str]:
    """The docker run flags of the manifest's container, and what the kubelet adds for the ServiceAccount."""
    flags = engine.security_flags(container)
    flags += [f"--env={e['name']}={e['value']}" for e in container.get("env", [])]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        empty_dir = volumes[mount["name"]]["emptyDir"]
        size = f":size={_size(empty_dir['sizeLimit'])}" if "sizeLimit" in empty_dir else ""
        flags.append(f"--tmpfs={mount['mountPath']}{size}")
    if service_account is not None and pod.get("automountServiceAccountToken", True):
        flags += [
            "--env=KUBERNETES_SERVICE_HOST=127.0.0.1",  # no API server: nothing listens there
            "--env=KUBERNETES_SERVICE_PORT=443",
            f"--volume={service_account}:{SERVICE_ACCOUNT_DIR}:ro",
        ]
    return flags


def fake_service_account(directory: Path) -> Path:
    """What the kubelet projects into the pod: a token, the cluster's CA bundle, the namespace."""
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)  # readable by uid 10001 whatever the umask
    (directory / "token").write_text("not-a-real-token")
    (directory / "ca.crt").write_bytes(Path(certifi.where()).read_bytes())  # any valid PEM bundle
    (directory / "namespace").write_text("isvc-kit")
    for entry in directory.iterdir():
        entry.chmod(0o644)
    return directory


def start_console(image: str, network: str, service_account: Path | None) -> engine.Container:
    pod, container = deployment()
    name = f"isvc-test-console-{uuid.uuid4().hex[:8]}"
    port = container["ports"][0]["containerPort"]
    engine.docker(
        "run",
        "--detach",
        f"--name={name}",
        f"--network={network}",
        "--network-alias=isvc-console",
        f"--publish=127.0.0.1::{port}",
        "--label=isvc-kit.test=1",
        *pod_flags(pod, container, service_account),
        image,
        *container["command"],
        *container.get("args", []),
    )
    published = int(engine.docker("port", name, f"{port}/tcp").stdout.split()[0].rsplit(":", 1)[1])
    return engine.Container(name, f"http://127.0.0.1:{published}", published, "local.console")


@pytest.fixture(scope="module")
def console_image(image_builder: Any) -> str:
    tag: str = image_builder("console")
    return tag


@pytest.fixture(scope="module")
def console_pod(console_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[engine.Container]:
    service_account = fake_service_account(tmp_path_factory.mktemp("console") / "serviceaccount")
    network = engine.network()
    container = None
    try:
        started = time.monotonic()
        container = start_console(console_image, network, service_account)
        engine.wait_ready(container, "/healthz", timeout=120)
        print(f"\n{console_image}: /healthz answered {time.monotonic() - started:.1f} s after docker run")
        yield container
    finally:
        if container is not None:
            engine.remove(container.name)
        engine.docker("network", "rm", network, check=False)


def test_console_image_carries_only_what_the_console_imports(console_image: str) -> None:
    facts = engine.image_facts(console_image)
    print(f"\n{console_image}: {facts['size'] / 1e6:.0f} MB, {facts['layers']} layers")
    config = facts["config"]
    _, container = deployment()
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][0] == "CMD" and "/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert set(config["ExposedPorts"]) == {f"{p['containerPort']}/tcp" for p in container["ports"]}
    assert "ISVC_BIND_HOST=0.0.0.0" in config["Env"]
    in_image(console_image, "python", "-c", CONSOLE_IMPORTS)
    probe = (
        "import importlib.util; "
        f"present = [m for m in {ABSENT_MODULES!r} if importlib.util.find_spec(m)]; "
        "print(' '.join(present) or 'none')"
    )
    assert in_image(console_image, "python", "-c", probe).strip() == "none"
    listing = in_image(console_image, "sh", "-c", "find /opt/venv -type d -name tests -o -path '*/kubernetes/aio'")
    assert [line for line in listing.splitlines() if line.strip()] == [], listing
    installed = in_image(console_image, "sh", "-c", "ls /opt/venv/lib/python3*/site-packages | grep dist-info")
    names = {canonicalize_name(entry.removesuffix(".dist-info").rsplit("-", 1)[0]) for entry in installed.split()}
    lock = EXPORT.Lock((engine.REPO_ROOT / "uv.lock").read_text())
    assert names == set(EXPORT.image_packages("console", lock)), "exactly docker/requirements-console.txt"
    # the Kubernetes client is compiled in the image: nothing can be cached on the read-only root at run time
    cached = in_image(console_image, "python", "-c", "import kubernetes.config as k; print(k.__cached__)")
    assert in_image(console_image, "sh", "-c", f"ls {cached.strip()}").strip().endswith(".pyc")


def test_console_runs_as_its_pod_runs_it(console_pod: engine.Container) -> None:
    _, container = deployment()
    info = console_pod.inspect()
    assert [info["Path"], *info["Args"]] == [*container["command"], *container["args"]]
    host = info["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert info["Config"]["User"] == "10001:10001"
    status = engine.docker("exec", console_pod.name, "cat", "/proc/1/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split()[:2] == ["10001", "10001"] and fields["Gid"].split()[:2] == ["10001", "10001"]
    assert fields["CapEff"].strip() == "0000000000000000"
    write = engine.docker("exec", console_pod.name, "touch", "/app/x", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    bindings = info["NetworkSettings"]["Ports"]
    published = [b for entries in bindings.values() if entries for b in entries]
    assert published and all(b["HostIp"] == "127.0.0.1" for b in published), bindings
    assert "console on http://0.0.0.0:8080/console for namespace isvc-kit" in console_pod.logs()


def test_console_answers_and_says_the_cluster_is_unreachable(console_pod: engine.Container) -> None:
    with httpx.Client(base_url=console_pod.url, timeout=30.0) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        root = client.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/console"
        index = client.get("/console")
        assert index.status_code == 500, index.text  # IsvcError's status: the list could not be read
        assert index.headers["content-type"].startswith("text/html")
        assert '<span class="mode">cluster</span>' in index.text
        assert "cannot list InferenceServices: the cluster is unreachable" in index.text
        assert "/apis/serving.kserve.io/v1beta1/namespaces/isvc-kit/inferenceservices" in index.text
        assert "Connection refused" in index.text
        page = client.get("/console/services/iris")
        assert page.status_code == 500
        assert html.escape("cannot get InferenceService 'iris': the cluster is unreachable") in page.text
        script = client.get("/console/static/htmx.min.js")
        assert script.status_code == 200
        assert script.content == (engine.REPO_ROOT / "local/console/static/htmx.min.js").read_bytes()
    # the errors did not stop it: it still answers its probe
    assert httpx.get(console_pod.url + "/healthz", timeout=5).status_code == 200


def test_console_healthcheck_reports_healthy(console_pod: engine.Container) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = console_pod.inspect()["State"]["Health"]
        if health["Status"] == "healthy":
            break
        time.sleep(1)
    assert health["Status"] == "healthy", health["Log"][-3:]


def test_console_stops_on_sigterm(console_image: str, tmp_path: Path) -> None:
    """What the kubelet sends at a rollout or scale-down: uvicorn exits by itself within the grace period."""
    pod, _ = deployment()
    grace = pod.get("terminationGracePeriodSeconds", 30)
    network = engine.network()
    container = None
    try:
        container = start_console(console_image, network, fake_service_account(tmp_path / "serviceaccount"))
        engine.wait_ready(container, "/healthz", timeout=120)
        started = time.monotonic()
        engine.docker("stop", f"--time={grace}", container.name, timeout=grace + 30)
        seconds = time.monotonic() - started
        state = container.inspect()["State"]
        assert state["Running"] is False and state["ExitCode"] == 0, state
        assert seconds < grace, f"stopped after {seconds:.1f} s: killed, not stopped by SIGTERM"
    finally:
        if container is not None:
            engine.remove(container.name)
        engine.docker("network", "rm", network, check=False)


def test_console_outside_a_pod_exits_with_the_reason(console_image: str) -> None:
    """Without a ServiceAccount (no KUBERNETES_SERVICE_HOST) it looks for a kubeconfig, finds none, exits 1."""
    pod, container = deployment()
    result = engine.docker(
        "run",
        "--rm",
        "--label=isvc-kit.test=1",
        "--network=none",
        *pod_flags(pod, container, None),
        console_image,
        *container["command"],
        *container["args"],
        check=False,
    )
    assert result.returncode == 1
    assert "python -m local.console: no kubeconfig" in result.stderr
    assert "Traceback" not in result.stderr

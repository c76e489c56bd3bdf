"""Every Dockerfile follows the kit's image practices, and runs exactly the pod-equivalent entrypoint.

Without a Docker engine: the Dockerfiles and compose.yaml are parsed and checked as text, and each
image's command is parsed by the very argument parser its module uses, then compared with the container
of manifests/iris.yaml (what KServe runs) and the module path the process tier starts. The images
themselves are built and run by the container tier (tests/container).
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import importlib.util
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = {
    "predictor": REPO_ROOT / "Dockerfile.predictor",
    "transformer": REPO_ROOT / "Dockerfile.transformer",
    "sink": REPO_ROOT / "Dockerfile.sink",
    "console": REPO_ROOT / "Dockerfile.console",
}
EXPECTED_MODULE = {
    "predictor": "predictors.sklearn",
    "transformer": "transformers.iris",
    "sink": "local.sink",
    "console": "local.console",
}
EXPECTED_PORTS = {"predictor": {"8080", "8081"}, "transformer": {"8080", "8081"}, "sink": {"8080"}, "console": {"8080"}}
# kubernetes is not here: `import kserve` imports its KServeClient, hence the Kubernetes client.
SERVING_ONLY_FORBIDDEN = {
    "ray",
    "sqlalchemy",
    "psycopg",
    "kubernetes-validate",
    "pillow",
    "grpcio-tools",
    "pytest",
    "ruff",
    "mypy",
    "jupyter",
    "matplotlib",
}
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake)\b")
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-[a-z]+$")


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """ARG defaults before the first FROM, and the stages with their (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            words = rest.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, words[0]))
        elif not stages and instruction == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            stages[-1].instructions.append((instruction, rest))
    return args, stages


def final(path: Path) -> Stage:
    return parse(path)[1][-1]


def command(path: Path) -> list[str]:
    cmds = [rest for instruction, rest in final(path).instructions if instruction == "CMD"]
    assert len(cmds) == 1, "exactly one CMD"
    value = json.loads(cmds[0])  # exec form, no shell in between
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


@pytest.mark.parametrize("image", DOCKERFILES)
def test_base_is_a_pinned_slim_python_and_the_build_is_multi_stage(image: str) -> None:
    args, stages = parse(DOCKERFILES[image])
    assert len(stages) >= 2, "multi-stage build"
    stage_names = {s.name for s in stages}
    for stage in stages:
        base = args.get(stage.base.strip("${}"), stage.base)
        assert base in stage_names or PINNED_BASE.match(base), f"{stage.name}: base {base!r} is not pinned slim python"
    assert final(DOCKERFILES[image]).base.strip("${}") in args, "the final stage uses the same pinned base"


@pytest.mark.parametrize("image", DOCKERFILES)
def test_dependencies_are_a_layer_before_the_code(image: str) -> None:
    _, stages = parse(DOCKERFILES[image])
    deps = stages[0]
    copied: set[str] = set()
    installs = 0
    for instruction, rest in deps.instructions:
        if instruction == "COPY":
            assert all(s.startswith("docker/") for s in rest.split()[:-1]), "only docker/ files reach the deps stage"
            copied |= {Path(s).name for s in rest.split()[:-1]}
        if instruction == "RUN" and "pip install" in rest:
            for requirements in re.findall(r"-r /tmp/(\S+)", rest):
                assert requirements in copied, f"{requirements} is copied before it is installed"
                installs += 1
    assert installs >= 1
    runtime = final(DOCKERFILES[image]).instructions
    from_deps = [i for i, (ins, rest) in enumerate(runtime) if ins == "COPY" and rest.startswith(f"--from={deps.name}")]
    code = [i for i, (ins, rest) in enumerate(runtime) if ins == "COPY" and not rest.startswith("--from")]
    assert from_deps and code and max(from_deps) < min(code)


def test_predictor_and_transformer_share_the_kserve_layer() -> None:
    """The same instructions on the same base: one build of KServe's virtualenv serves both images."""
    first = {}
    for image in ("predictor", "transformer"):
        instructions = parse(DOCKERFILES[image])[1][0].instructions
        first[image] = instructions[: next(i for i, (ins, r) in enumerate(instructions) if "pip install" in r) + 1]
    assert first["predictor"] == first["transformer"]
    assert "requirements-serving.txt" in first["predictor"][-1][1]


@pytest.mark.parametrize("image", DOCKERFILES)
def test_final_image_has_no_compilers_or_caches_and_a_non_root_user(image: str) -> None:
    stage = final(DOCKERFILES[image])
    for instruction, rest in stage.instructions:
        if instruction == "RUN":
            assert "apt-get install" not in rest and "pip install" not in rest and not COMPILERS.search(rest)
    for stage_ in parse(DOCKERFILES[image])[1]:
        for instruction, rest in stage_.instructions:
            if instruction == "RUN" and "pip install" in rest:
                assert "--no-cache-dir" in rest
            assert not (instruction == "RUN" and COMPILERS.search(rest)), "no compilers in any stage"
    users = [(i, rest) for i, (ins, rest) in enumerate(stage.instructions) if ins == "USER"]
    assert users, "a USER instruction"
    index, user = users[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root uid (so runAsNonRoot can be verified)"
    assert int(uid) == 10001, "the uid manifests/ set in runAsUser"
    cmd_index = next(i for i, (ins, _) in enumerate(stage.instructions) if ins == "CMD")
    assert index < cmd_index
    env = " ".join(rest for ins, rest in stage.instructions if ins == "ENV")
    assert "ISVC_BIND_HOST=0.0.0.0" in env and "PYTHONDONTWRITEBYTECODE=1" in env


@pytest.mark.parametrize("image", DOCKERFILES)
def test_exposed_ports_match_kserve(image: str) -> None:
    exposed = {p for ins, rest in final(DOCKERFILES[image]).instructions if ins == "EXPOSE" for p in rest.split()}
    assert exposed == EXPECTED_PORTS[image]


def _copy_sources(path: Path) -> list[str]:
    sources = []
    for instruction, rest in (i for s in parse(path)[1] for i in s.instructions):
        if instruction == "COPY" and not rest.startswith("--from"):
            sources.extend(rest.split()[:-1])
    return sources


def _dockerignore_allows(source: str) -> bool:
    allowed = True
    for pattern in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(source.rstrip("/"), pattern) or source.startswith(pattern + "/"):
            allowed = negate
    return allowed


@pytest.mark.parametrize("image", DOCKERFILES)
def test_copied_files_exist_and_pass_dockerignore(image: str) -> None:
    for source in _copy_sources(DOCKERFILES[image]):
        if image == "sink" and not (REPO_ROOT / source).exists() and source.startswith("local/sink"):
            continue  # the sink package is being written in parallel; its module check below says so
        assert (REPO_ROOT / source).exists(), source
        assert _dockerignore_allows(source), f"{source} is excluded by .dockerignore"
    for excluded in (".venv", ".git", "tests", "models/train.py", "local/ray_layer", ".isvc"):
        assert not _dockerignore_allows(excluded), f".dockerignore lets {excluded} into the build context"


def _requirements_file(name: str) -> dict[str, str]:
    text = (REPO_ROOT / "docker" / f"requirements-{name}.txt").read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            package, _, rest = line.partition("==")
            pins[package.strip()] = rest.split()[0]
            assert "--hash=sha256:" in rest, f"{package}: pinned by hash"
    return pins


def _requirements(image: str) -> dict[str, str]:
    """Everything an image installs: the requirement files its Dockerfile installs, in order."""
    pins: dict[str, str] = {}
    for name in re.findall(r"-r /tmp/requirements-(\w+)\.txt", DOCKERFILES[image].read_text()):
        pins |= _requirements_file(name)
    return pins


def _export_module() -> Any:
    path = REPO_ROOT / "docker" / "export_requirements.py"
    spec = importlib.util.spec_from_file_location("export_requirements", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("image", ["predictor", "transformer"])
def test_serving_images_carry_only_serving_code_and_artifacts(image: str) -> None:
    sources = _copy_sources(DOCKERFILES[image])
    model_sources = [s for s in sources if s.startswith("models")]
    assert model_sources == ["models/iris/"], "the served artifacts, nothing else of models/"
    assert not any(s.startswith(("local", "tests")) for s in sources)
    names = set(_requirements(image))
    assert "kserve" in names and "numpy" in names
    assert not names & SERVING_ONLY_FORBIDDEN
    assert ("scikit-learn" in names) == (image == "predictor"), "only the predictor runs scikit-learn"


@pytest.mark.parametrize("image", DOCKERFILES)
def test_each_image_installs_its_own_exported_requirements(image: str) -> None:
    _, stages = parse(DOCKERFILES[image])
    export = _export_module()
    installs = [rest for ins, rest in stages[0].instructions if ins == "RUN" and "pip install" in rest]
    assert [f"/tmp/requirements-{name}.txt" for name in export.IMAGES[image]] == [
        re.search(r"-r (\S+)", rest).group(1)
        for rest in installs  # type: ignore[union-attr]
    ]
    for rest in installs:
        assert "--no-deps" in rest and "--require-hashes" in rest and "--only-binary=:all:" in rest


def test_requirements_are_exported_from_uv_lock() -> None:
    export = _export_module()
    lock = export.Lock((REPO_ROOT / "uv.lock").read_text())
    for name in export.FILES:
        assert (REPO_ROOT / "docker" / f"requirements-{name}.txt").read_text() == export.render(name, lock), (
            f"docker/requirements-{name}.txt is stale: run .venv/bin/python docker/export_requirements.py"
        )
    for image in DOCKERFILES:
        assert set(_requirements(image)) == set(export.image_packages(image, lock)), image
    versions = {(p["name"], p.get("version")) for p in tomllib.loads((REPO_ROOT / "uv.lock").read_text())["package"]}
    for image in DOCKERFILES:
        for name, version in _requirements(image).items():
            assert (name, version) in versions, f"{image}: {name}=={version} is not in uv.lock"
    sink = set(_requirements("sink"))
    assert {"sqlalchemy", "psycopg", "psycopg-binary", "cloudevents", "starlette"} <= sink
    assert not sink & {"kserve", "numpy", "ray", "kubernetes"}
    console = set(_requirements("console"))
    assert {"fastapi", "uvicorn", "httpx", "kubernetes", "prometheus-client"} <= console
    assert not console & {"kserve", "numpy", "ray", "sqlalchemy", "psycopg", "aiohttp", "aiohttp-retry", "google-auth"}


def test_excluded_packages_leave_their_whole_subtree_out() -> None:
    export = _export_module()
    lock = export.Lock((REPO_ROOT / "uv.lock").read_text())
    closure = lock.closure(export.Requirements(roots=("kserve",), excluded=("kubernetes",), why=""))
    assert "kserve" in closure and "kubernetes" not in closure
    assert "requests-oauthlib" not in closure, "only kubernetes pulls it in"
    assert "numpy" in closure, "still reached from kserve itself"


def _manifest_container(component: str) -> list[str]:
    isvc = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    container = isvc["spec"][component]["containers"][0]
    return [*container["command"], *container["args"]]


def _parse(module_name: str, argv: list[str]) -> argparse.Namespace:
    from predictors.serving import build_parser

    module = importlib.import_module(module_name)
    return module.add_model_arguments(build_parser()).parse_args(argv)


@pytest.mark.parametrize("image", ["predictor", "transformer"])
def test_command_is_the_pod_entrypoint(image: str) -> None:
    cmd = command(DOCKERFILES[image])
    assert cmd[:2] == ["python", "-m"]
    module = cmd[2]
    assert module == EXPECTED_MODULE[image]
    assert (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file(), f"{module} exists"
    assert callable(importlib.import_module(module).main)
    manifest = _manifest_container(image)
    assert manifest[:3] == cmd[:3], "the manifest runs the same module"
    # the image's arguments and the manifest's mean the same to the module's own parser
    assert vars(_parse(module, cmd[3:])) == vars(_parse(module, manifest[3:]))
    parsed = _parse(module, cmd[3:])
    assert parsed.model_name == "iris" and parsed.model_dir == "models/iris/v1"
    assert parsed.http_port == 8080 and parsed.grpc_port == 8081, "KServe's default ports"


def test_sink_command() -> None:
    cmd = command(DOCKERFILES["sink"])
    assert cmd == ["python", "-m", "local.sink"]
    sink = yaml.safe_load((REPO_ROOT / "manifests" / "sink.yaml").read_text())
    assert sink["spec"]["template"]["spec"]["containers"][0]["command"] == cmd


def test_sink_module_exists() -> None:
    main_file = REPO_ROOT / "local" / "sink" / "__main__.py"
    if not main_file.is_file():
        pytest.skip("local/sink/__main__.py is not written yet (the sink is built in parallel); command path checked")
    assert (REPO_ROOT / "local" / "sink" / "__init__.py").is_file()
    # the image copies only local/__init__.py and local/sink/: the sink must import nothing else of local
    for source in (REPO_ROOT / "local" / "sink").glob("*.py"):
        for line in source.read_text().splitlines():
            match = re.match(r"\s*(?:from|import)\s+(local\.[\w.]+)", line)
            assert match is None or match.group(1).startswith("local.sink"), f"{source.name}: {line.strip()}"


def _console_deployment() -> dict[str, Any]:
    documents = yaml.safe_load_all((REPO_ROOT / "manifests" / "console.yaml").read_text())
    deployment = next(d for d in documents if d and d.get("kind") == "Deployment")
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_console_command_port_and_healthcheck_are_the_deployments() -> None:
    cmd = command(DOCKERFILES["console"])
    container = _console_deployment()
    assert cmd == container["command"] == ["python", "-m", EXPECTED_MODULE["console"]]
    assert container["image"] == "isvc-kit/console:0.1.0"
    env = {e["name"]: e["value"] for e in container["env"]}
    ports = {str(p["containerPort"]) for p in container["ports"]}
    assert ports == {env["PORT"]} == EXPECTED_PORTS["console"], "EXPOSE, containerPort and $PORT agree"
    healthcheck = " ".join(rest for ins, rest in final(DOCKERFILES["console"]).instructions if ins == "HEALTHCHECK")
    probe = container["readinessProbe"]["httpGet"]["path"]
    assert f"http://127.0.0.1:{env['PORT']}{probe}" in healthcheck, "the HEALTHCHECK asks what the probes ask"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert not any(ins == "VOLUME" for ins, _ in final(DOCKERFILES["console"]).instructions)


# local.errors.status_code_of (the gateway's error mapping) imports kserve; the console never calls it.
CONSOLE_IMPORTS_NOT_RUN = {"kserve"}
DISTRIBUTION_OF = {"prometheus_client": "prometheus-client", "yaml": "pyyaml", "pydantic_settings": "pydantic-settings"}


def _imports(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _module_file(module: str) -> Path:
    base = REPO_ROOT / module.replace(".", "/")
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def test_console_image_copies_every_module_the_console_imports() -> None:
    """From local/console, every local module it reaches is copied, every other import is installed."""
    sources = _copy_sources(DOCKERFILES["console"])
    pending = sorted((REPO_ROOT / "local" / "console").glob("*.py"))
    seen: set[Path] = set()
    third_party: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        relative = path.relative_to(REPO_ROOT).as_posix()
        assert any(relative == s or (s.endswith("/") and relative.startswith(s)) for s in sources), relative
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "local":
                parts = name.split(".")
                pending += [_module_file(".".join(parts[:i])) for i in range(1, len(parts) + 1)]
            elif top not in sys.stdlib_module_names:
                third_party.add(top)
    assert {"local/errors.py", "local/samples.py", "local/cluster/client.py"} <= {
        p.relative_to(REPO_ROOT).as_posix() for p in seen
    }
    installed = set(_requirements("console"))
    missing = {DISTRIBUTION_OF.get(top, top) for top in third_party - CONSOLE_IMPORTS_NOT_RUN} - installed
    assert not missing, f"imported by the console, not in docker/requirements-console.txt: {missing}"


# -- compose.yaml: the same containers as the pods, health-gated, loopback only --------------------


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    return document


@pytest.mark.parametrize("component", ["predictor", "transformer"])
def test_compose_runs_the_manifest_containers(component: str) -> None:
    service = _compose()["services"][component]
    isvc = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    container = isvc["spec"][component]["containers"][0]
    expected = [*container["command"], *container["args"]]
    if component == "transformer":
        expected.append("--predictor_host=predictor:8080")  # what KServe adds: the predictor's service host
    assert service["command"] == expected
    context = container["securityContext"]
    assert service["user"] == f"{context['runAsUser']}:{context['runAsGroup']}"
    assert service["read_only"] is context["readOnlyRootFilesystem"] is True
    assert service["cap_drop"] == context["capabilities"]["drop"] == ["ALL"]
    assert "no-new-privileges" in service["security_opt"] and context["allowPrivilegeEscalation"] is False
    assert service["image"].startswith(container["image"].split(":")[0] + ":")
    assert service["build"]["dockerfile"] == f"Dockerfile.{component}"


def test_compose_sink_stores_into_postgres_and_waits_for_it() -> None:
    services = _compose()["services"]
    sink = services["sink"]
    sink_manifest = yaml.safe_load((REPO_ROOT / "manifests" / "sink.yaml").read_text())
    assert sink["command"] == sink_manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    assert sink["environment"]["ISVC_SINK_DB"].startswith("postgresql://")
    assert "@postgres:5432/" in sink["environment"]["ISVC_SINK_DB"]
    assert sink["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["transformer"]["depends_on"] == {"predictor": {"condition": "service_healthy"}}
    database = services["postgres"]
    volume = database["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in _compose()["volumes"], "a named volume"


def test_compose_services_are_health_checked_and_published_on_loopback_only() -> None:
    for name, service in _compose()["services"].items():
        assert service["healthcheck"]["test"][0] == "CMD", name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is published beyond loopback"
    assert "ports" not in _compose()["services"]["predictor"] and "ports" not in _compose()["services"]["postgres"]

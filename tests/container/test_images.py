"""The images themselves: what each carries, who runs it, and that a code change keeps the dependency layer.

Sizes and layer counts are printed (``pytest -s``) and by ``make images``; they are measured facts,
not asserted here. What is asserted is structure: the user, the healthcheck, no pip or test suites,
none of the packages docker/export_requirements.py leaves out, and each server's imports working.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.container import engine


def _requirements_module() -> Any:  # docker/ is not a package (and `docker` names the Docker SDK)
    spec = importlib.util.spec_from_file_location(
        "export_requirements", engine.REPO_ROOT / "docker" / "export_requirements.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


EXPORT = _requirements_module()

pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]
SERVER_IMPORTS = {
    "predictor": "import predictors.sklearn, kserve.model_server, sklearn.linear_model",
    "transformer": "import transformers.iris, kserve.model_server",
    "sink": "import local.sink.app, local.sink.store, sqlalchemy.dialects.postgresql.psycopg",
}
ABSENT_MODULES = {
    "predictor": ["PIL", "grpc_tools", "cryptography", "jwt", "aiohttp", "ray", "pip", "setuptools"],
    "transformer": ["sklearn", "scipy", "PIL", "grpc_tools", "cryptography", "ray", "pip"],
    "sink": ["kserve", "numpy", "fastapi", "ray", "pip"],
}


def in_image(image: str, *command: str, check: bool = True) -> str:
    result = engine.docker("run", "--rm", "--read-only", "--user=10001:10001", image, *command, check=check)
    return result.stdout + result.stderr


@pytest.mark.parametrize("name", ["predictor", "transformer", "sink"])
def test_image_runs_its_server_as_the_non_root_user(images: dict[str, str], name: str) -> None:
    facts = engine.image_facts(images[name])
    print(f"\n{images[name]}: {facts['size'] / 1e6:.0f} MB, {facts['layers']} layers")
    config = facts["config"]
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert "ISVC_BIND_HOST=0.0.0.0" in config["Env"]
    assert in_image(images[name], "id", "-u").strip() == "10001"
    in_image(images[name], "python", "-c", SERVER_IMPORTS[name])


@pytest.mark.parametrize("name", ["predictor", "transformer", "sink"])
def test_image_carries_nothing_the_server_does_not_import(images: dict[str, str], name: str) -> None:
    probe = (
        "import importlib.util, sys; "
        f"present = [m for m in {ABSENT_MODULES[name]!r} if importlib.util.find_spec(m)]; "
        "print(' '.join(present) or 'none')"
    )
    assert in_image(images[name], "python", "-c", probe).strip() == "none"
    listing = in_image(images[name], "sh", "-c", "find /opt/venv -type d -name tests -o -path '*/kubernetes/aio'")
    assert [line for line in listing.splitlines() if line.strip()] == [], listing
    installed = in_image(images[name], "sh", "-c", "ls /opt/venv/lib/python3*/site-packages | grep dist-info")
    names = {line.rsplit("-", 1)[0].lower().replace("_", "-") for line in installed.split()}
    excluded = {e.lower() for file in EXPORT.IMAGES[name] for e in EXPORT.FILES[file].excluded}
    assert not names & excluded


def test_modules_a_server_loads_at_start_are_precompiled(images: dict[str, str]) -> None:
    """The root filesystem is read-only: bytecode of kserve and its Kubernetes client must be in the image."""
    cached = in_image(
        images["predictor"], "python", "-c", "import kserve, sys; print(sys.modules['kserve'].__cached__)"
    )
    listing = in_image(images["predictor"], "sh", "-c", f"ls {cached.strip()}")
    assert listing.strip().endswith(".pyc")


def _context_copy(destination: Path) -> Path:
    """The files a build sees (the .dockerignore allow-list), copied so one can be changed."""
    root = engine.REPO_ROOT
    for relative in ("docker", "predictors", "transformers", "models/iris", "local/sink"):
        shutil.copytree(root / relative, destination / relative, ignore=shutil.ignore_patterns("__pycache__"))
    for relative in ("local/__init__.py", ".dockerignore", "Dockerfile.predictor"):
        shutil.copy(root / relative, destination / relative)
    return destination


def test_a_code_change_rebuilds_without_reinstalling_dependencies(
    images: dict[str, str], python_image: str, tmp_path: Path
) -> None:
    context = _context_copy(tmp_path)
    (context / "predictors" / "sklearn.py").write_text((context / "predictors" / "sklearn.py").read_text() + "\n# x\n")
    tag = f"isvc-kit/predictor:{engine.TEST_TAG}-code-change"
    try:
        seconds = engine.build("Dockerfile.predictor", tag, {"PYTHON_IMAGE": python_image}, context=context)
        print(f"\ncode-only rebuild of the predictor: {seconds:.1f} s")
        before = engine.image_facts(images["predictor"])
        after = engine.image_facts(tag)
        old = engine.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", images["predictor"]).stdout
        new = engine.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", tag).stdout
        old_layers, new_layers = json.loads(old), json.loads(new)
        assert before["layers"] == after["layers"]
        assert old_layers[:-1] == new_layers[:-1], "only the predictors/ layer differs (the virtualenv is reused)"
        assert old_layers[-1] != new_layers[-1]
    finally:
        engine.docker("image", "rm", tag, check=False)

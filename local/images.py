"""A component's container image, derived from its InferenceService: the Dockerfile ``isvc image`` writes.

The image runs exactly the spec's container command (``python -m MODULE ARGS``), so a pod runs what
``isvc up`` ran. Its content is read off the spec, not from a list of the kit's modules:

* the module's top-level package (``churn/`` for ``churn.predictor``), and ``predictors/`` too for
  the kit's own transformers (they use its helpers);
* every model directory the args name (``--model_dir``, ``--model-dir``, ``--storage_uri``) that is a
  relative path inside the build context;
* the locked dependencies of the kit's images (``docker/requirements-serving.txt`` and
  ``-predictor.txt``, hash-checked, as ``Dockerfile.predictor`` installs them), plus the package's own
  ``requirements.txt`` if it has one; ``write_image`` puts all of it in a build context of its own;
* the restricted runtime of the kit's images: uid 10001, no shell, KServe's ports 8080/8081.

A predictor that names a model format (``modelFormat``) needs no image: KServe serves it with its own
runtime; ``plan_image`` says so. Pure: reads the filesystem, starts nothing.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from local.errors import SpecError
from local.spec import ComponentSpec, InferenceService, entrypoint_of

MODEL_DIR_FLAGS = ("--model_dir", "--model-dir", "--storage_uri")
KIT_PACKAGES = {"transformers": ("predictors",)}  # the kit's packages that need another of its packages
REQUIREMENTS = ("requirements-serving.txt", "requirements-predictor.txt", "slim-venv.sh")  # as Dockerfile.predictor
KIT_DOCKER_DIR = Path(__file__).resolve().parent.parent / "docker"


@dataclass(frozen=True)
class ImagePlan:
    """What one component's image holds, relative to the build context."""

    service: str
    component: str
    tag: str
    command: tuple[str, ...]
    packages: tuple[str, ...]
    model_dirs: tuple[str, ...]
    extra_requirements: str | None


def _model_dirs(args: tuple[str, ...], context: Path) -> list[str]:
    found = []
    for index, arg in enumerate(args):
        for flag in MODEL_DIR_FLAGS:
            value = None
            if arg.startswith(flag + "="):
                value = arg.split("=", 1)[1]
            elif arg == flag and index + 1 < len(args):
                value = args[index + 1]
            if value and "://" not in value and not Path(value).is_absolute() and (context / value).is_dir():
                found.append(value.rstrip("/"))
    return found


def plan_image(service: InferenceService, component: str, context: Path, tag: str | None = None) -> ImagePlan:
    """The image of ``service``'s ``component`` (``predictor`` or ``transformer``), built from ``context``."""
    components = service.components()
    if component not in components:
        raise SpecError(f"{service.name} has no {component} (it has: {', '.join(components)})")
    spec: ComponentSpec = components[component]
    if not getattr(spec, "containers", None) or not any(c.command for c in spec.containers):
        raise SpecError(
            f"spec.{component} of {service.name} names a model format, not a container: KServe serves it with "
            "its own runtime image (no image to build)"
        )
    entry = entrypoint_of(spec, f"spec.{component}", service.name)
    top = entry.module.split(".", 1)[0]
    if not (context / top).is_dir():
        raise SpecError(f"module {entry.module}: no package directory {top}/ under {context}")
    packages = list(dict.fromkeys([*KIT_PACKAGES.get(top, ()), top]))
    missing = [p for p in packages if not (context / p).is_dir()]
    if missing:
        raise SpecError(f"no {', '.join(missing)}/ under {context}: build from the directory that holds them")
    requirements = context / top / "requirements.txt"
    container = next(c for c in spec.containers if c.command)
    return ImagePlan(
        service=service.name,
        component=component,
        tag=tag or container.image or f"{service.name}-{component}:latest",
        command=("python", "-m", entry.module, *entry.args),
        packages=tuple(packages),
        model_dirs=tuple(dict.fromkeys(_model_dirs(entry.args, context))),
        extra_requirements=f"{top}/requirements.txt" if requirements.is_file() else None,
    )


def write_image(plan: ImagePlan, context: Path, output: Path) -> Path:
    """A self-contained build context in ``output``: the Dockerfile, the locked requirements, and copies of
    the packages and model directories it copies (caches left out). ``docker build output`` builds it,
    whatever ``.dockerignore`` the project has."""
    import shutil

    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    for name in REQUIREMENTS:
        shutil.copyfile(KIT_DOCKER_DIR / name, output / name)
    if plan.extra_requirements:
        (output / plan.extra_requirements).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(context / plan.extra_requirements, output / plan.extra_requirements)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for path in (*plan.packages, *plan.model_dirs):
        shutil.copytree(context / path, output / path, ignore=ignore, dirs_exist_ok=True)
    dockerfile = output / "Dockerfile"
    dockerfile.write_text(render_dockerfile(plan))
    return dockerfile


def render_dockerfile(plan: ImagePlan) -> str:
    """A Dockerfile in the shape of the kit's own (``Dockerfile.predictor``), for ``plan``."""
    extra = ""
    if plan.extra_requirements:
        extra = (
            f"COPY {plan.extra_requirements} /tmp/extra-requirements.txt\n"
            "RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/extra-requirements.txt\n"
        )
    copies = "".join(f"COPY {path}/ {path}/\n" for path in (*plan.model_dirs, *plan.packages))
    return f"""\
# {plan.service}: the {plan.component}'s image, written by `isvc image` from the InferenceService.
# Runs the spec's command: {shlex.join(plan.command)}
# Its build context is this directory (isvc image wrote it): docker build -t {plan.tag} .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${{PYTHON_IMAGE}} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements-serving.txt /tmp/
RUN python -m venv /opt/venv \\
    && /opt/venv/bin/pip install --no-cache-dir --no-compile --no-deps --require-hashes --only-binary=:all: \\
       -r /tmp/requirements-serving.txt
COPY requirements-predictor.txt slim-venv.sh /tmp/
RUN /opt/venv/bin/pip install --no-cache-dir --no-compile --no-deps --require-hashes --only-binary=:all: \\
       -r /tmp/requirements-predictor.txt \\
    && sh /tmp/slim-venv.sh /opt/venv kserve.model_server sklearn.linear_model sklearn.pipeline joblib \\
       uvicorn.loops.uvloop uvicorn.protocols.http.httptools_impl uvicorn.lifespan.on
{extra}
FROM ${{PYTHON_IMAGE}} AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ISVC_BIND_HOST=0.0.0.0
RUN groupadd --system --gid 10001 app \\
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
{copies}USER 10001:10001
EXPOSE 8080 8081
CMD {json.dumps(list(plan.command))}
"""

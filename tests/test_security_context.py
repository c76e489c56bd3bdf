"""Every container the kit's manifests run keeps Kubernetes' "restricted" securityContext, as do the overlays.

The Pod Security Standards' restricted profile asks for ``runAsNonRoot``, ``allowPrivilegeEscalation:
false``, ``capabilities.drop: [ALL]`` and a ``RuntimeDefault`` seccomp profile; the kit adds a read-only
root filesystem (its servers write nothing to disk: /tmp and the sink's state are emptyDirs) and the
images' numeric user, 10001, so runAsNonRoot can be verified by the kubelet. A model-format predictor
(``spec.predictor.model``) runs KServe's serving runtime, whose ClusterServingRuntime sets the same
context but for the read-only root (``config/runtimes/kserve-*.yaml`` in KServe); such a manifest must
not weaken it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.validate.kustomize import render

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = REPO_ROOT / "manifests"
COMPONENTS = ("predictor", "transformer", "explainer")
IMAGE_UID = 10001


def containers(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, container) for every container an object runs, model-format predictors included."""
    kind = document.get("kind")
    spec = document.get("spec") or {}
    if kind == "InferenceService":
        for component in COMPONENTS:
            part = spec.get(component) or {}
            for index, container in enumerate(part.get("containers") or []):
                yield f"spec.{component}.containers[{index}]", container
            for shorthand in ("model", "sklearn", "xgboost", "lightgbm"):
                if shorthand in part:
                    yield f"spec.{component}.{shorthand}", part[shorthand]
    elif "template" in spec:
        pod = spec["template"].get("spec") or {}
        for key in ("initContainers", "containers"):
            for index, container in enumerate(pod.get(key) or []):
                yield f"spec.template.spec.{key}[{index}]", container


def restricted_problems(context: dict[str, Any] | None, *, runtime_owned: bool = False) -> list[str]:
    """What keeps ``context`` from the restricted profile (empty: it complies)."""
    if runtime_owned and context is None:
        return []  # KServe's serving runtime supplies it
    context = context or {}
    problems = []
    if context.get("runAsNonRoot") is not True:
        problems.append("runAsNonRoot is not true")
    if "runAsUser" in context and context["runAsUser"] == 0:
        problems.append("runAsUser is 0")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if context.get("privileged"):
        problems.append("privileged")
    if (context.get("capabilities") or {}).get("drop") != ["ALL"]:
        problems.append("capabilities.drop is not [ALL]")
    if (context.get("capabilities") or {}).get("add"):
        problems.append("capabilities are added")
    if not runtime_owned:
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append("readOnlyRootFilesystem is not true")
        if (context.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append("seccompProfile is not RuntimeDefault")
        if context.get("runAsUser") != IMAGE_UID or context.get("runAsGroup") != IMAGE_UID:
            problems.append(f"runAsUser/runAsGroup are not the images' {IMAGE_UID}")
    return problems


def documents_of(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


MANIFEST_FILES = sorted(MANIFESTS.glob("*.yaml"))
OVERLAYS = sorted(p.parent for p in (MANIFESTS / "overlays").glob("*/kustomization.yaml"))


def _check(objects: list[dict[str, Any]], origin: str) -> list[str]:
    problems = []
    for document in objects:
        name = f"{origin}: {document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        for where, container in containers(document):
            owned = where.rsplit(".", 1)[-1] in ("model", "sklearn", "xgboost", "lightgbm")
            problems += [
                f"{name} {where}: {p}"
                for p in restricted_problems(container.get("securityContext"), runtime_owned=owned)
            ]
    return problems


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.name)
def test_every_container_of_a_manifest_is_restricted(path: Path) -> None:
    objects = [d for d in documents_of(path) if d.get("kind") != "Kustomization"]
    assert _check(objects, path.name) == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_every_overlay_keeps_the_restricted_context(overlay: Path) -> None:
    objects = render(overlay)
    assert any(True for d in objects for _ in containers(d)), "the overlay renders containers"
    assert _check(objects, f"overlays/{overlay.name}") == []


def test_the_manifests_run_containers_at_all() -> None:
    """The check above is not vacuous: the kit's own containers are found."""
    found = {where for path in MANIFEST_FILES for d in documents_of(path) for where, _ in containers(d)}
    assert {
        "spec.predictor.containers[0]",
        "spec.transformer.containers[0]",
        "spec.template.spec.containers[0]",
    } <= found


@pytest.mark.parametrize("dockerfile", sorted(REPO_ROOT.glob("Dockerfile.*")), ids=lambda p: p.name)
def test_each_image_runs_as_the_uid_the_manifests_name(dockerfile: Path) -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile.read_text(), re.M)
    assert users, f"{dockerfile.name}: no USER"
    assert users[-1] == f"{IMAGE_UID}:{IMAGE_UID}" or users[-1] == str(IMAGE_UID), users[-1]


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({}, "runAsNonRoot is not true"),
        ({"runAsNonRoot": True, "allowPrivilegeEscalation": True}, "allowPrivilegeEscalation is not false"),
        ({"capabilities": {"drop": ["NET_RAW"]}}, "capabilities.drop is not [ALL]"),
        ({"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}, "capabilities are added"),
        ({"readOnlyRootFilesystem": False}, "readOnlyRootFilesystem is not true"),
        ({"runAsUser": 0}, "runAsUser is 0"),
        ({"privileged": True}, "privileged"),
    ],
)
def test_a_weakened_context_is_caught(context: dict[str, Any], problem: str) -> None:
    assert problem in restricted_problems(context)
    assert problem not in restricted_problems(
        {
            "runAsNonRoot": True,
            "runAsUser": IMAGE_UID,
            "runAsGroup": IMAGE_UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    )


def test_a_model_format_predictor_may_leave_the_context_to_kserves_runtime_but_not_weaken_it() -> None:
    assert restricted_problems(None, runtime_owned=True) == []
    assert "allowPrivilegeEscalation is not false" in restricted_problems(
        {"runAsNonRoot": True, "allowPrivilegeEscalation": True, "capabilities": {"drop": ["ALL"]}}, runtime_owned=True
    )

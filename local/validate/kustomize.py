"""A deliberately small offline renderer for the kit's kustomize overlays, so they can be validated here.

kustomize is not installed on the kit's machines, and the overlays only use a subset of it: ``resources``
(YAML files, or directories holding a ``kustomization.yaml``), ``namespace``, and ``patches`` whose
``target`` names a kind and name and whose inline ``patch`` is a JSON 6902 list (``add``, ``replace``,
``remove``, ``test``). Anything else is refused with a message rather than rendered wrongly, so a
rendered overlay here is the one ``kubectl apply -k`` would produce for these files.

Depends on PyYAML and the standard library only.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(Exception):
    """An overlay uses something this renderer does not support, or a patch does not apply."""


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, parts: list[str], op: dict[str, Any]) -> Any:
    node = document
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise KustomizeError(f"patch {op.get('op')} {op.get('path')}: no {part!r} in the target") from exc
    return node


def apply_json6902(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add / replace / remove / test on a copy of ``document``."""
    result = copy.deepcopy(document)
    for op in operations:
        kind, parts = op.get("op"), _pointer(str(op.get("path", "")))
        parent, last = _parent(result, parts, op), parts[-1]
        exists = (isinstance(parent, dict) and last in parent) or (
            isinstance(parent, list) and last.isdigit() and int(last) < len(parent)
        )
        if kind in {"replace", "remove", "test"} and not exists:
            raise KustomizeError(f"patch {kind} {op['path']}: the target has no such field")
        if kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            if current != op.get("value"):
                raise KustomizeError(f"patch test {op['path']}: {current!r} != {op.get('value')!r}")
        elif kind == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind in {"add", "replace"}:
            value = copy.deepcopy(op.get("value"))
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, value)
                else:
                    parent[index] = value
            elif isinstance(parent, dict):
                parent[last] = value
            else:
                raise KustomizeError(f"patch {kind} {op['path']}: parent is not an object or list")
        else:
            raise KustomizeError(f"unsupported patch op {kind!r}")
    return result


def _matches(target: dict[str, Any], obj: dict[str, Any]) -> bool:
    metadata = obj.get("metadata") or {}
    return all(
        (key == "kind" and obj.get("kind") == value)
        or (key == "name" and metadata.get("name") == value)
        or (key == "namespace" and metadata.get("namespace") == value)
        or (key in {"group", "version"} and value in str(obj.get("apiVersion", "")))
        for key, value in target.items()
    )


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl apply -k directory`` would apply, for the supported subset."""
    file = directory / KUSTOMIZATION
    kustomization = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    unsupported = set(kustomization) - SUPPORTED_KEYS
    if unsupported:
        raise KustomizeError(f"{file}: unsupported kustomize fields {sorted(unsupported)}")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        elif path.is_file():
            objects.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
        else:
            raise KustomizeError(f"{file}: resource {entry!r} does not exist")
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj.get("kind") not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    for patch in kustomization.get("patches", []):
        target, body = patch.get("target"), patch.get("patch")
        if not isinstance(target, dict) or not isinstance(body, str):
            raise KustomizeError(f"{file}: each patch needs a target and an inline JSON 6902 patch")
        operations = yaml.safe_load(body)
        if not isinstance(operations, list):
            raise KustomizeError(f"{file}: patch for {target} is not a JSON 6902 list")
        hits = [i for i, obj in enumerate(objects) if _matches(target, obj)]
        if not hits:
            raise KustomizeError(f"{file}: patch target {target} matches no resource")
        for i in hits:
            try:
                objects[i] = apply_json6902(objects[i], operations)
            except KustomizeError as exc:
                raise KustomizeError(f"{file}: {target}: {exc}") from exc
    return objects

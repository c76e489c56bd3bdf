"""PATCH bodies as the Kubernetes API server applies them to a custom resource: merge and JSON patch.

* ``application/merge-patch+json`` (RFC 7386, ``merge_patch``): objects merge key by key, ``null``
  removes a key, anything else (lists included) replaces. What ``kubectl patch --type merge`` and the
  Kubernetes Python client (``CustomObjectsApi.patch_namespaced_custom_object``) send.
* ``application/json-patch+json`` (RFC 6902, ``json_patch``): a list of ``add``, ``remove``,
  ``replace``, ``move``, ``copy`` and ``test`` operations on JSON Pointers (RFC 6901), applied in order
  to a copy; a failed operation leaves the document untouched. ``kubectl patch --type json``.
* Strategic merge patch is refused with 415, as the API server refuses it for custom resources. Its
  custom-resource handler lets a PATCH through only as JSON patch, merge patch or apply patch
  (``k8s.io/apiextensions-apiserver`` ``pkg/apiserver/customresource_handler.go``: ``supportedTypes``, plus
  CBOR apply behind the ``CBORServingAndStorage`` gate; read at v0.32.1, the version knative-v1.18.0 pins);
  any other ``Content-Type`` gets 415 ``UnsupportedMediaType``, "the body of the request was in an unknown
  format - accepted media types include: application/json-patch+json, application/merge-patch+json,
  application/apply-patch+yaml" (``k8s.io/apiserver`` ``pkg/endpoints/handlers/patch.go``, ``PatchResource``;
  ``negotiation/errors.go``: ``NewUnsupportedMediaTypeError``). The kit's 415 messages are its own ("strategic
  merge patch is not supported for custom resources: use --type merge", "unsupported patch type ..."): the
  first echoes a note in the Kubernetes documentation ("Update API Objects in Place Using kubectl patch"),
  not the server's text. Server-side apply (``application/apply-patch+yaml``), which the API server accepts,
  is refused here too (415).

Pure functions over JSON values; errors are ``local.errors.SpecError`` (400) naming the operation.
"""

from __future__ import annotations

import copy
from typing import Any

from local.errors import IsvcError, SpecError

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class UnsupportedPatchError(IsvcError):
    """A patch type the API does not apply to InferenceServices: 415, as Kubernetes answers."""

    status_code = 415


def apply_patch(document: dict[str, Any], content_type: str, patch: Any) -> dict[str, Any]:
    """``document`` with ``patch`` applied by the rules of ``content_type``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise SpecError("merge patch: the body must be a JSON object")
        merged = merge_patch(document, patch)
        assert isinstance(merged, dict)
        return merged
    if kind == JSON_PATCH:
        return json_patch(document, patch)
    if kind == STRATEGIC_MERGE_PATCH:
        raise UnsupportedPatchError("strategic merge patch is not supported for custom resources: use --type merge")
    raise UnsupportedPatchError(f"unsupported patch type {content_type!r}: use {MERGE_PATCH} or {JSON_PATCH}")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, ``MergePatch(Target, Patch)``."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 applied to a deep copy of ``document``."""
    if not isinstance(operations, list):
        raise SpecError("JSON patch: the body must be a JSON array of operations")
    result: Any = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        where = f"JSON patch operation {index}"
        if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
            raise SpecError(f"{where}: expected an object with 'op' and 'path'")
        result = _apply_one(result, operation, where)
    if not isinstance(result, dict):
        raise SpecError("JSON patch: the result is not an object")
    return result


def _apply_one(document: Any, operation: dict[str, Any], where: str) -> Any:
    op = operation["op"]
    path = _pointer(operation, "path", where)
    if op in ("add", "replace", "test") and "value" not in operation:
        raise SpecError(f"{where} ({op}): missing 'value'")
    if op == "add":
        return _add(document, path, copy.deepcopy(operation["value"]), where)
    if op == "remove":
        return _remove(document, path, where)[0]
    if op == "replace":
        if not path:
            return copy.deepcopy(operation["value"])
        document, _ = _remove(document, path, where)
        return _add(document, path, copy.deepcopy(operation["value"]), where)
    if op in ("move", "copy"):
        source = _pointer(operation, "from", where)
        if op == "move" and path[: len(source)] == source and len(path) > len(source):
            raise SpecError(f"{where} (move): cannot move a value into one of its own children")
        if op == "move":
            document, value = _remove(document, source, where)
        else:
            value = copy.deepcopy(_get(document, source, where))
        return _add(document, path, value, where)
    if op == "test":
        if _get(document, path, where) != operation["value"]:
            raise SpecError(f"{where} (test): the value at {operation['path']!r} differs")
        return document
    raise SpecError(f"{where}: unknown op {op!r}")


def _pointer(operation: dict[str, Any], key: str, where: str) -> list[str]:
    """RFC 6901: ``/a/b~1c`` -> ``["a", "b/c"]``; ``""`` is the whole document."""
    text = operation.get(key)
    if not isinstance(text, str) or (text and not text.startswith("/")):
        raise SpecError(f"{where}: {key!r} must be a JSON Pointer such as '/spec/predictor'")
    if not text:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], token: str, where: str, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise SpecError(f"{where}: {token!r} is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not adding):
        raise SpecError(f"{where}: index {index} is out of range")
    return index


def _parent(document: Any, path: list[str], where: str) -> Any:
    return _get(document, path[:-1], where)


def _get(document: Any, path: list[str], where: str) -> Any:
    node = document
    for token in path:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, where, adding=False)]
        else:
            raise SpecError(f"{where}: no value at /{'/'.join(path)}")
    return node


def _add(document: Any, path: list[str], value: Any, where: str) -> Any:
    if not path:
        return value
    parent, token = _parent(document, path, where), path[-1]
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, token, where, adding=True), value)
    else:
        raise SpecError(f"{where}: cannot add under a {type(parent).__name__}")
    return document


def _remove(document: Any, path: list[str], where: str) -> tuple[Any, Any]:
    if not path:
        raise SpecError(f"{where}: cannot remove the whole document")
    parent, token = _parent(document, path, where), path[-1]
    if isinstance(parent, dict):
        if token not in parent:
            raise SpecError(f"{where}: no value at /{'/'.join(path)}")
        return document, parent.pop(token)
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, token, where, adding=False))
    raise SpecError(f"{where}: no value at /{'/'.join(path)}")

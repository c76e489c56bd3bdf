"""Merge patch (RFC 7386) and JSON patch (RFC 6902) as the API applies them to InferenceServices."""

from __future__ import annotations

from typing import Any

import pytest

from local.errors import SpecError
from local.gateway.patching import JSON_PATCH, MERGE_PATCH, UnsupportedPatchError, apply_patch, json_patch, merge_patch

# RFC 7386, Appendix A: (target, patch, result).
RFC7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC7386_EXAMPLES)
def test_merge_patch_follows_rfc7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_input_alone() -> None:
    target = {"spec": {"predictor": {"minReplicas": 1}}}
    merged = merge_patch(target, {"spec": {"predictor": {"canaryTrafficPercent": 10}}})
    assert merged == {"spec": {"predictor": {"minReplicas": 1, "canaryTrafficPercent": 10}}}
    assert target == {"spec": {"predictor": {"minReplicas": 1}}}


def test_json_patch_operations() -> None:
    document = {"metadata": {"labels": {"a/b": "1"}}, "spec": {"list": [1, 2], "x": {"y": 1}}}
    patched = json_patch(
        document,
        [
            {"op": "test", "path": "/metadata/labels/a~1b", "value": "1"},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "add", "path": "/spec/list/0", "value": 0},
            {"op": "replace", "path": "/spec/x/y", "value": 2},
            {"op": "copy", "from": "/spec/x", "path": "/spec/z"},
            {"op": "move", "from": "/spec/z/y", "path": "/spec/moved"},
            {"op": "remove", "path": "/spec/list/1"},
        ],
    )
    assert patched == {
        "metadata": {"labels": {"a/b": "1"}},
        "spec": {"list": [0, 2, 3], "x": {"y": 2}, "z": {}, "moved": 2},
    }
    assert document["spec"] == {"list": [1, 2], "x": {"y": 1}}, "the input is not changed"


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "test", "path": "/a", "value": 2}, "differs"),
        ({"op": "remove", "path": "/missing"}, "no value at /missing"),
        ({"op": "replace", "path": "/missing", "value": 1}, "no value"),
        ({"op": "add", "path": "/list/5", "value": 1}, "out of range"),
        ({"op": "add", "path": "/list/01", "value": 1}, "not an array index"),
        ({"op": "add", "path": "a", "value": 1}, "JSON Pointer"),
        ({"op": "add", "path": "/a"}, "missing 'value'"),
        ({"op": "move", "from": "/obj", "path": "/obj/inner"}, "its own children"),
        ({"op": "frobnicate", "path": "/a"}, "unknown op"),
    ],
)
def test_json_patch_errors_name_the_operation(operation: dict[str, Any], message: str) -> None:
    document = {"a": 1, "list": [1], "obj": {}}
    with pytest.raises(SpecError, match=message) as error:
        json_patch(document, [{"op": "add", "path": "/b", "value": 1}, operation])
    assert "operation 1" in str(error.value)
    assert document == {"a": 1, "list": [1], "obj": {}}, "a failed patch changes nothing"


def test_patch_types() -> None:
    document = {"a": 1}
    assert apply_patch(document, f"{MERGE_PATCH}; charset=utf-8", {"b": 2}) == {"a": 1, "b": 2}
    assert apply_patch(document, JSON_PATCH, [{"op": "remove", "path": "/a"}]) == {}
    with pytest.raises(UnsupportedPatchError, match="strategic merge patch is not supported") as error:
        apply_patch(document, "application/strategic-merge-patch+json", {"b": 2})
    assert error.value.status_code == 415
    with pytest.raises(SpecError, match="JSON array"):
        apply_patch(document, JSON_PATCH, {"op": "add"})

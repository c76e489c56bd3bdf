"""Overlays render offline and differ from the base only where environments differ; CRD lookup and caching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from local.validate.crd import BUNDLED_CRD, CrdError, crd_validators, describe, fetch_crd, locate_crd
from local.validate.kustomize import KustomizeError, apply_json6902, render

REPO_ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = REPO_ROOT / "manifests"
OVERLAYS = ["local", "staging", "production"]
# leaf paths an overlay may change: replicas, resources, image tags, the sink URL
ALLOWED = ("minReplicas", "maxReplicas", ".resources.", ".image", ".logger.url")


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _leaves(value, f"{prefix}.{key}").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _leaves(value, f"{prefix}[{i}]").items()}
    return {prefix: node}


def _by_id(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_changes_only_environment_fields(overlay: str) -> None:
    base = _by_id(render(MANIFESTS))
    rendered = _by_id(render(MANIFESTS / "overlays" / overlay))
    assert rendered.keys() == base.keys()
    changed = []
    for key, obj in rendered.items():
        before, after = _leaves(base[key]), _leaves(obj)
        assert before.keys() <= after.keys()
        for path in before.keys() | after.keys():
            if before.get(path) != after.get(path):
                assert any(marker in path for marker in ALLOWED), f"{overlay} changes {key} {path}"
                changed.append(path)
    assert changed, f"overlay {overlay} changes nothing"


def test_base_kustomization_lists_every_base_file() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    for entry in kustomization["resources"]:
        assert (MANIFESTS / entry).is_file()


def test_json6902_ops() -> None:
    doc = {"a": {"b": [1, 2]}}
    ops = [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "replace", "path": "/a/b/0", "value": 0}]
    out = apply_json6902(doc, ops)
    assert out == {"a": {"b": [0, 2, 3]}} and doc == {"a": {"b": [1, 2]}}
    assert apply_json6902(doc, [{"op": "remove", "path": "/a/b/1"}]) == {"a": {"b": [1]}}
    with pytest.raises(KustomizeError, match="no such field"):
        apply_json6902(doc, [{"op": "replace", "path": "/a/c", "value": 1}])
    with pytest.raises(KustomizeError, match="!="):
        apply_json6902(doc, [{"op": "test", "path": "/a/b/0", "value": 9}])


def test_unsupported_kustomize_field_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nimages: [{name: x, newTag: '1'}]\n")
    with pytest.raises(KustomizeError, match="unsupported kustomize fields"):
        render(tmp_path)


def test_locate_crd_order(crd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundled for the pinned release (no cache, no network); $ISVC_CRD and --crd before it; others cached."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ISVC_CRD", raising=False)
    assert locate_crd(None, allow_fetch=False) == BUNDLED_CRD
    assert describe(BUNDLED_CRD) == "bundled KServe v0.21 CRD"
    with pytest.raises(CrdError, match="none cached"):
        locate_crd(None, version="v0.19.0", allow_fetch=False)
    other = tmp_path / "cluster-crd.yaml"
    other.write_bytes(crd.read_bytes())
    monkeypatch.setenv("ISVC_CRD", str(other))
    assert locate_crd(None) == other
    assert locate_crd(str(crd)) == crd
    assert describe(other) == f"CRD file {other}"
    with pytest.raises(CrdError, match="not found"):
        locate_crd(str(tmp_path / "missing.yaml"))


def test_fetch_caches_the_crd_and_refuses_other_files(
    crd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download path, fed a file:// URL (no network): written to the cache once, then found there."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ISVC_CRD", raising=False)
    from local.validate import crd as crd_module

    cached = crd_module.cache_dir("v0.19.0") / crd_module.CRD_FILENAME
    assert fetch_crd(cached, url=crd.as_uri()) == cached
    assert locate_crd(None, version="0.19.0", allow_fetch=False) == cached
    assert describe(cached).startswith("cached KServe v0.19.0 CRD")
    assert "serving.kserve.io/v1beta1" in crd_validators(cached)

    not_a_crd = tmp_path / "other.yaml"
    not_a_crd.write_text("kind: ConfigMap\n")
    with pytest.raises(CrdError, match="not a CustomResourceDefinition"):
        fetch_crd(tmp_path / "x" / "crd.yaml", url=not_a_crd.as_uri())
    assert not (tmp_path / "x" / "crd.yaml").exists()

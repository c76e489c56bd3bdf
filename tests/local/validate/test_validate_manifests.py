"""The kit's own manifests pass every check, and each rule has a fixture that makes it fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from local.cli.main import main
from local.validate import RULES, validate_paths

REPO_ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = REPO_ROOT / "manifests"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "manifests"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def test_every_manifest_is_valid_without_warnings(crd: Path) -> None:
    report = validate_paths([MANIFESTS], crd)
    assert [f.render() for f in report.findings] == []
    assert report.objects >= 10
    assert {Path(f).name for f in report.files} >= {"iris.yaml", "iris-canary.yaml", "iris-standard.yaml", "sink.yaml"}


def _expected_rule(fixture: Path) -> str:
    return fixture.name.split("-", 1)[0].upper()


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_fixture_triggers_exactly_its_rule(fixture: Path, crd: Path) -> None:
    report = validate_paths([fixture], crd)
    assert not report.ok
    assert {f.rule for f in report.findings} == {_expected_rule(fixture)}
    for finding in report.findings:
        assert finding.file == str(fixture)
        assert finding.path, "every finding names a field path"


def test_every_lint_rule_has_a_fixture() -> None:
    covered = {_expected_rule(p) for p in INVALID}
    assert set(RULES) <= covered
    assert {"CRD001", "K8S001", "KN001"} <= covered


def test_fixtures_differ_from_a_valid_manifest(crd: Path) -> None:
    """Each InferenceService fixture is manifests/iris.yaml plus one mistake, so the rule is what fails it."""
    iris = yaml.safe_load((MANIFESTS / "iris.yaml").read_text())
    for fixture in INVALID:
        body = yaml.safe_load(fixture.read_text())
        if body["kind"] == "InferenceService":
            assert body != iris
            assert set(body["spec"]) == set(iris["spec"])


def test_overlay_patch_on_missing_field_fails(crd: Path) -> None:
    report = validate_paths([FIXTURES / "overlay-bad-target" / "kustomization.yaml"], crd)
    assert [f.rule for f in report.findings] == ["KUST001"]
    assert "no 'resource' in the target" in report.findings[0].message


def test_cli_exit_codes_and_json(
    crd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert main(["validate", "--crd", str(crd)]) == 0  # no path: manifests/
    assert "valid:" in capsys.readouterr().out

    bad = str(FIXTURES / "invalid" / "isvc004-model-name-mismatch.yaml")
    assert main(["validate", "--crd", str(crd), "-o", "json", bad]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["errors"] == 1
    assert report["findings"][0]["rule"] == "ISVC004"
    assert report["findings"][0]["path"] == "spec.transformer.containers[].args"

    monkeypatch.setenv("ISVC_CRD", str(crd))
    assert main(["validate", str(MANIFESTS / "iris.yaml"), bad]) == 1
    out = capsys.readouterr().out
    assert "[ISVC004]" in out and "INVALID: 2 objects in 2 files, 1 errors" in out


def test_cli_missing_path_or_crd_is_an_error(crd: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", "--crd", str(crd), str(tmp_path / "nope.yaml")]) == 1
    assert main(["validate", "--crd", str(tmp_path / "no-crd.yaml"), str(MANIFESTS)]) == 1
    assert "CRD file not found" in capsys.readouterr().err

"""The kit's own manifests pass every check, and each rule has a fixture that makes it fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from local.cli.main import main
from local.validate import RULES, validate_paths
from local.validate.lint import WARNING_RULES

REPO_ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = REPO_ROOT / "manifests"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "manifests"
FIXTURE_FILES = sorted((FIXTURES / "invalid").glob("*.yaml"))


def _rule_of(fixture: Path) -> str:
    return fixture.name.split("-", 1)[0].upper()


INVALID = [p for p in FIXTURE_FILES if _rule_of(p) not in WARNING_RULES]
WARNED = [p for p in FIXTURE_FILES if _rule_of(p) in WARNING_RULES]

# KServe's first InferenceService (docs: "Deploy your first InferenceService"): no resource limits.
TUTORIAL = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: sklearn-iris
spec:
  predictor:
    model:
      modelFormat:
        name: sklearn
      storageUri: gs://kfserving-examples/models/sklearn/1.0/model
"""


def test_every_manifest_is_valid_without_warnings(crd: Path) -> None:
    report = validate_paths([MANIFESTS], crd)
    assert [f.render() for f in report.findings] == []
    assert report.objects >= 10
    assert {Path(f).name for f in report.files} >= {"iris.yaml", "iris-canary.yaml", "iris-standard.yaml", "sink.yaml"}


def _expected_rule(fixture: Path) -> str:
    return _rule_of(fixture)


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
def test_fixture_triggers_exactly_its_rule(fixture: Path, crd: Path) -> None:
    report = validate_paths([fixture], crd)
    assert not report.ok
    assert {f.rule for f in report.findings} == {_expected_rule(fixture)}
    for finding in report.findings:
        assert finding.file == str(fixture)
        assert finding.path, "every finding names a field path"


@pytest.mark.parametrize("fixture", WARNED, ids=lambda p: p.stem)
def test_warning_fixture_is_valid_with_its_warning(fixture: Path, crd: Path) -> None:
    report = validate_paths([fixture], crd)
    assert report.ok and report.errors == []
    assert {(f.rule, f.severity.value) for f in report.findings} == {(_rule_of(fixture), "warning")}


def test_kserve_tutorial_yaml_is_valid_with_a_limits_warning(crd: Path, tmp_path: Path) -> None:
    path = tmp_path / "sklearn-iris.yaml"
    path.write_text(TUTORIAL)
    report = validate_paths([path], crd)
    assert report.ok
    assert [(f.rule, f.severity.value, f.path) for f in report.findings] == [
        ("ISVC007", "warning", "spec.predictor.model.resources.limits")
    ]


def test_every_lint_rule_has_a_fixture() -> None:
    covered = {_expected_rule(p) for p in FIXTURE_FILES}
    assert set(RULES) <= covered
    assert {"CRD001", "K8S001", "KN001"} <= covered


def test_fixtures_differ_from_a_valid_manifest(crd: Path) -> None:
    """Each InferenceService fixture is manifests/iris.yaml plus one mistake, so the rule is what fails it."""
    iris = yaml.safe_load((MANIFESTS / "iris.yaml").read_text())
    for fixture in FIXTURE_FILES:
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


def test_cli_offline_by_default_names_the_bundled_schema(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No --crd, no $ISVC_CRD, an empty cache and no way out: the bundled CRD is used and named."""
    monkeypatch.delenv("ISVC_CRD", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("isvc validate must not reach the network")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    tutorial = tmp_path / "sklearn-iris.yaml"
    tutorial.write_text(TUTORIAL)
    assert main(["validate", str(tutorial)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "schema: bundled KServe v0.21 CRD"
    assert "warning [ISVC007]" in out
    assert "valid: 1 objects in 1 files, 0 errors, 1 warnings (checked against the bundled KServe v0.21 CRD)" in out
    assert main(["validate", "-o", "json", str(tutorial)]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "bundled KServe v0.21 CRD"
    assert not (tmp_path / "empty-cache").exists()


def test_cli_given_crd_is_named(crd: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy = tmp_path / "cluster-crd.yaml"
    copy.write_bytes(crd.read_bytes())
    assert main(["validate", "--crd", str(copy), str(MANIFESTS / "iris.yaml")]) == 0
    assert f"schema: CRD file {copy}" in capsys.readouterr().out


def test_cli_usage_errors_exit_2(crd: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", "--crd", str(crd), str(tmp_path / "nope.yaml")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["validate", "--crd", str(tmp_path / "no-crd.yaml"), str(MANIFESTS)]) == 2
    assert "CRD file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--output", "xml"])
    assert exit_info.value.code == 2

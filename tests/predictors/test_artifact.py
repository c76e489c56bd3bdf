"""Artifacts are checked against their metadata before they are served."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from predictors.artifact import ArtifactError, load_artifact, read_metadata
from tests.conftest import IRIS_V1, IRIS_V2


def copy_model(tmp_path: Path, source: Path = IRIS_V1) -> Path:
    target = tmp_path / "model"
    shutil.copytree(source, target)
    return target


def test_committed_artifacts_load_and_describe_iris() -> None:
    for model_dir, estimator in ((IRIS_V1, "LogisticRegression"), (IRIS_V2, "GradientBoostingClassifier")):
        model, metadata = load_artifact(model_dir)
        assert type(model).__name__ == estimator == metadata.estimator
        assert metadata.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        assert metadata.class_labels == ["setosa", "versicolor", "virginica"]
        assert metadata.metrics["test_accuracy"] > 0.85


def test_tampered_artifact_is_refused_naming_the_checksum(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path)
    with (model_dir / "model.joblib").open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ArtifactError, match=r"sha256 .* `make train`"):
        load_artifact(model_dir)


def test_other_sklearn_version_is_refused_naming_both_versions(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path)
    metadata = json.loads((model_dir / "metadata.json").read_text())
    metadata["sklearn_version"] = "0.0.1"
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ArtifactError, match=r"scikit-learn 0\.0\.1 but .* is installed"):
        load_artifact(model_dir)


def test_missing_metadata_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"metadata\.json not found.*make train"):
        read_metadata(tmp_path)


def test_invalid_metadata_names_the_field(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path)
    metadata = json.loads((model_dir / "metadata.json").read_text())
    del metadata["features"]
    (model_dir / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ArtifactError, match="features"):
        read_metadata(model_dir)

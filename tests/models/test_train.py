"""models/train.py rebuilds artifacts that predict exactly as the committed ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

from predictors.artifact import load_artifact, read_metadata
from tests.conftest import IRIS_V1, IRIS_V2, REPO_ROOT


def test_rebuilt_models_predict_as_the_committed_ones(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "models/train.py", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "v1: LogisticRegression" in result.stdout and "v2: GradientBoostingClassifier" in result.stdout
    features = load_iris().data
    for version, committed_dir in (("v1", IRIS_V1), ("v2", IRIS_V2)):
        rebuilt, rebuilt_meta = load_artifact(tmp_path / version)
        committed, committed_meta = load_artifact(committed_dir)
        np.testing.assert_array_equal(rebuilt.predict(features), committed.predict(features))
        np.testing.assert_allclose(rebuilt.predict_proba(features), committed.predict_proba(features), rtol=1e-9)
        assert rebuilt_meta.metrics == committed_meta.metrics
        assert rebuilt_meta.features == committed_meta.features


def test_versions_are_different_estimators() -> None:
    assert read_metadata(IRIS_V1).estimator != read_metadata(IRIS_V2).estimator

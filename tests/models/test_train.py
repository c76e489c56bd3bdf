"""models/train.py rebuilds artifacts that predict as the committed ones, and deterministically.

Two kinds of comparison, kept apart on purpose:
* against the committed artifacts, which were trained on another CPU: BLAS kernels differ between
  processors (AVX2, AVX-512, NEON), so probabilities agree to a tolerance no kernel choice can break
  (1e-4 relative, 1e-6 absolute), and labels agree wherever the decision is not a near tie;
* two rebuilds on this machine: bit-for-bit equal (fixed seeds, fixed split).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

from predictors.artifact import load_artifact, read_metadata
from tests.conftest import IRIS_V1, IRIS_V2, REPO_ROOT

CROSS_MACHINE_RTOL = 1e-4
CROSS_MACHINE_ATOL = 1e-6
NEAR_TIE = 1e-3


def _train(out: Path) -> str:
    result = subprocess.run(
        [sys.executable, "models/train.py", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_rebuilt_models_predict_as_the_committed_ones(tmp_path: Path) -> None:
    stdout = _train(tmp_path)
    assert "v1: LogisticRegression" in stdout and "v2: GradientBoostingClassifier" in stdout
    features = load_iris().data
    for version, committed_dir in (("v1", IRIS_V1), ("v2", IRIS_V2)):
        rebuilt, rebuilt_meta = load_artifact(tmp_path / version)
        committed, committed_meta = load_artifact(committed_dir)
        committed_proba = committed.predict_proba(features)
        np.testing.assert_allclose(
            rebuilt.predict_proba(features), committed_proba, rtol=CROSS_MACHINE_RTOL, atol=CROSS_MACHINE_ATOL
        )
        top2 = np.sort(committed_proba, axis=1)[:, -2:]
        decided = (top2[:, 1] - top2[:, 0]) > NEAR_TIE
        assert decided.mean() > 0.95, "the iris data should have few near ties"
        np.testing.assert_array_equal(rebuilt.predict(features)[decided], committed.predict(features)[decided])
        assert rebuilt_meta.features == committed_meta.features
        assert rebuilt_meta.metrics.keys() == committed_meta.metrics.keys()
        for name, value in committed_meta.metrics.items():
            assert abs(rebuilt_meta.metrics[name] - value) <= 0.02, name


def test_two_rebuilds_on_one_machine_are_identical(tmp_path: Path) -> None:
    _train(tmp_path / "a")
    _train(tmp_path / "b")
    features = load_iris().data
    for version in ("v1", "v2"):
        first, first_meta = load_artifact(tmp_path / "a" / version)
        second, second_meta = load_artifact(tmp_path / "b" / version)
        np.testing.assert_array_equal(first.predict_proba(features), second.predict_proba(features))
        assert first_meta.metrics == second_meta.metrics


def test_versions_are_different_estimators() -> None:
    assert read_metadata(IRIS_V1).estimator != read_metadata(IRIS_V2).estimator

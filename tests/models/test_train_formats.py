"""models/train_wine.py and models/train_boosters.py rebuild the committed artifacts' predictions.

As in test_train.py: against the committed files (another CPU) to a tolerance, labels where the
decision is not a near tie; two rebuilds here bit-for-bit. The booster files are tiny (a few KB).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris, load_wine

from predictors.artifact import load_artifact
from tests.conftest import REPO_ROOT

WINE_V1 = REPO_ROOT / "models" / "wine" / "v1"
XGBOOST_FILE = REPO_ROOT / "models" / "xgboost-iris" / "v1" / "model.json"
LIGHTGBM_FILE = REPO_ROOT / "models" / "lightgbm-iris" / "v1" / "model.bst"
RTOL, ATOL = 1e-4, 1e-6


def _run(script: str, out: Path) -> str:
    result = subprocess.run(
        [sys.executable, f"models/{script}", "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_wine_rebuild_predicts_string_labels_as_committed(tmp_path: Path) -> None:
    assert "wine v1: StandardScaler+LogisticRegression" in _run("train_wine.py", tmp_path)
    rebuilt, rebuilt_meta = load_artifact(tmp_path / "v1")
    committed, committed_meta = load_artifact(WINE_V1)
    data = load_wine().data
    assert list(committed.classes_) == ["class_0", "class_1", "class_2"] == committed_meta.class_labels
    np.testing.assert_allclose(rebuilt.predict_proba(data), committed.predict_proba(data), rtol=RTOL, atol=ATOL)
    assert (rebuilt.predict(data) == committed.predict(data)).mean() > 0.99
    assert rebuilt_meta.features == committed_meta.features and len(committed_meta.features) == 13
    assert committed_meta.metrics["test_accuracy"] > 0.9


@pytest.mark.skipif(
    importlib.util.find_spec("xgboost") is None or importlib.util.find_spec("lightgbm") is None,
    reason="the xgboost and lightgbm extras are not installed (make setup installs every extra)",
)
def test_boosters_rebuild_identically_and_predict_as_committed(tmp_path: Path) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    _run("train_boosters.py", tmp_path / "a")
    _run("train_boosters.py", tmp_path / "b")
    for relative in ("xgboost-iris/v1/model.json", "lightgbm-iris/v1/model.bst"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative
    for committed in (XGBOOST_FILE, LIGHTGBM_FILE):
        assert committed.stat().st_size < 12_000, f"{committed} should stay tiny"
    data = load_iris().data
    xgb_committed = xgb.Booster(model_file=str(XGBOOST_FILE)).predict(xgb.DMatrix(data))
    xgb_rebuilt = xgb.Booster(model_file=str(tmp_path / "a" / "xgboost-iris/v1/model.json")).predict(xgb.DMatrix(data))
    np.testing.assert_allclose(xgb_rebuilt, xgb_committed, rtol=RTOL, atol=ATOL)
    lgb_committed = lgb.Booster(model_file=str(LIGHTGBM_FILE)).predict(data)
    lgb_rebuilt = lgb.Booster(model_file=str(tmp_path / "a" / "lightgbm-iris/v1/model.bst")).predict(data)
    np.testing.assert_allclose(lgb_rebuilt, lgb_committed, rtol=RTOL, atol=ATOL)
    for probabilities in (xgb_committed, lgb_committed):
        assert (probabilities.argmax(axis=1) == load_iris().target).mean() > 0.9

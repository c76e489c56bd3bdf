"""What the XGBoost and LightGBM predictors share: a booster's raw prediction as ``output-0``.

KServe's xgbserver and lgbserver answer ``booster.predict(instances)`` unchanged
(``python/xgbserver/xgbserver/model.py``, ``python/lgbserver/lgbserver/model.py``): a value per row for
regression and binary objectives, a row of class probabilities for ``multi:softprob`` / ``multiclass``.
``BoosterModel`` does the same and learns the output's shape and datatype at load, by predicting one
row of zeros, so metadata names the real ``output-0`` (``FP32 [-1, 3]`` for a 3-class softprob model).

``--nthread`` is the servers' own flag (default 1). A missing library says which extra to install.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from predictors.tabular import PREDICTIONS_OUTPUT, TabularModel
from predictors.tensors import _datatype_of


class MissingExtraError(RuntimeError):
    """The model format's library is not installed."""


def import_extra(module: str, extra: str) -> Any:
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"serving this model format needs {module}: pip install 'isvc-kit[{extra}]' ({exc})"
        ) from exc


class BoosterModel(TabularModel):
    """A gradient-boosting booster; subclasses load ``self.booster`` and implement ``raw_predict``."""

    def __init__(self, name: str, model_dir: str, nthread: int = 1):
        super().__init__(name, model_dir)
        self.nthread = nthread
        self.booster: Any = None
        self._n_features = 0
        self._output: dict[str, Any] = {}

    def raw_predict(self, matrix: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def describe(self, n_features: int) -> None:
        """Record the feature count and probe one row to learn output-0's datatype and shape."""
        self._n_features = n_features
        probe = np.asarray(self.raw_predict(np.zeros((1, n_features), dtype=np.float32)))
        self._output = {
            "name": PREDICTIONS_OUTPUT,
            "datatype": _datatype_of(probe),
            "shape": [-1, *probe.shape[1:]],
        }

    @property
    def n_features(self) -> int:
        return self._n_features

    def output_types(self) -> list[dict[str, Any]]:
        return [dict(self._output)]

    def compute(self, matrix: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
        return {PREDICTIONS_OUTPUT: np.asarray(self.raw_predict(matrix))}


def add_booster_arguments(parser: argparse.ArgumentParser, extensions: str) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model_dir",
        default="/mnt/models",
        help=f"model directory (one {extensions} file) or storageUri; KServe mounts storageUri at /mnt/models",
    )
    parser.add_argument("--nthread", type=int, default=1, help="booster threads (KServe's default: 1)")
    return parser

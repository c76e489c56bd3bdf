"""Train the wine classifier, deterministically, into ``models/wine/v1/``: the example that is not iris.

scikit-learn's bundled wine data (13 chemical measurements, 3 cultivars, no download); the estimator
is fitted on the *string* labels (``class_0``, ``class_1``, ``class_2``), so its ``classes_`` are
strings and the predictor answers labels, not indexes. Writes ``model.joblib`` and ``metadata.json``
(see ``predictors.artifact``); fixed seed and split, so a rebuild predicts as the committed artifact.

Usage: ``python models/train_wine.py [--out models/wine]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.train import write_classifier
from predictors.artifact import ModelMetadata

SEED = 7
VERSION = "v1"
DEFAULT_OUT = Path(__file__).resolve().parent / "wine"


def feature_names() -> list[str]:
    return [name.replace("/", "_") for name in load_wine().feature_names]


def train(out_root: Path) -> ModelMetadata:
    wine = load_wine()
    return write_classifier(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED)),
        out_root / VERSION,
        name="wine",
        version=VERSION,
        data=wine.data,
        targets=np.asarray(wine.target_names)[wine.target],
        feature_names=feature_names(),
        estimator_name="StandardScaler+LogisticRegression",
        seed=SEED,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default: %(default)s)")
    args = parser.parse_args(argv)
    metadata = train(args.out)
    print(f"wine {VERSION}: {metadata.estimator}, test accuracy {metadata.metrics['test_accuracy']:.3f} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

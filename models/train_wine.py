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

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from predictors.artifact import MODEL_FILENAME, FeatureSpec, ModelMetadata, sha256_of, write_metadata

SEED = 7
VERSION = "v1"
DEFAULT_OUT = Path(__file__).resolve().parent / "wine"


def feature_names() -> list[str]:
    return [name.replace("/", "_") for name in load_wine().feature_names]


def train(out_root: Path) -> ModelMetadata:
    wine = load_wine()
    labels = np.asarray(wine.target_names)[wine.target]
    x_train, x_test, y_train, y_test = train_test_split(
        wine.data, labels, test_size=0.3, random_state=SEED, stratify=labels
    )
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=SEED))
    estimator.fit(x_train, y_train)
    out_dir = out_root / VERSION
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILENAME
    joblib.dump(estimator, model_path)
    features = [
        FeatureSpec(name=name, minimum=0.0, maximum=float(np.ceil(2 * wine.data[:, i].max())))
        for i, name in enumerate(feature_names())
    ]
    metadata = ModelMetadata(
        name="wine",
        version=VERSION,
        estimator="StandardScaler+LogisticRegression",
        task="classification",
        features=features,
        class_labels=[str(label) for label in estimator.classes_],
        sklearn_version=sklearn.__version__,
        metrics={
            "train_accuracy": round(float(estimator.score(x_train, y_train)), 6),
            "test_accuracy": round(float(estimator.score(x_test, y_test)), 6),
        },
        sha256=sha256_of(model_path),
    )
    write_metadata(out_dir, metadata)
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root (default: %(default)s)")
    args = parser.parse_args(argv)
    metadata = train(args.out)
    print(f"wine {VERSION}: {metadata.estimator}, test accuracy {metadata.metrics['test_accuracy']:.3f} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the versioned iris classifiers, deterministically, into ``models/iris/<version>/``.

v1 is a LogisticRegression, v2 a GradientBoostingClassifier. Each version directory receives
``model.joblib`` and ``metadata.json`` (see ``predictors.artifact``). Fixed seeds and a fixed
train/test split make every rebuild predict exactly as the committed artifacts do.

Usage: ``python models/train.py [--out models/iris] [--version v1 --version v2]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.base import ClassifierMixin
from sklearn.datasets import load_iris
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from predictors.artifact import (
    MODEL_FILENAME,
    FeatureSpec,
    ModelMetadata,
    sha256_of,
    write_metadata,
)

SEED = 42
FEATURE_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ESTIMATORS: dict[str, Callable[[], ClassifierMixin]] = {
    "v1": lambda: LogisticRegression(max_iter=1000, random_state=SEED),
    "v2": lambda: GradientBoostingClassifier(n_estimators=50, max_depth=2, random_state=SEED),
}
DEFAULT_OUT = Path(__file__).resolve().parent / "iris"


def train_version(version: str, out_root: Path) -> ModelMetadata:
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.3, random_state=SEED, stratify=iris.target
    )
    estimator = ESTIMATORS[version]()
    estimator.fit(x_train, y_train)
    out_dir = out_root / version
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILENAME
    joblib.dump(estimator, model_path)
    # Accept any physically plausible measurement: positive, up to twice the largest seen.
    features = [
        FeatureSpec(name=name, minimum=0.0, maximum=float(np.ceil(2 * iris.data[:, i].max())))
        for i, name in enumerate(FEATURE_NAMES)
    ]
    metadata = ModelMetadata(
        name="iris",
        version=version,
        estimator=type(estimator).__name__,
        task="classification",
        features=features,
        class_labels=[str(label) for label in iris.target_names],
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
    parser.add_argument(
        "--version", action="append", choices=sorted(ESTIMATORS), help="version to train (default: all)"
    )
    args = parser.parse_args(argv)
    for version in args.version or sorted(ESTIMATORS):
        metadata = train_version(version, args.out)
        print(
            f"{metadata.name} {version}: {metadata.estimator}, "
            f"test accuracy {metadata.metrics['test_accuracy']:.3f} -> {args.out / version}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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
from typing import Any

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
    return write_classifier(
        ESTIMATORS[version](),
        out_root / version,
        name="iris",
        version=version,
        data=iris.data,
        targets=iris.target,
        feature_names=FEATURE_NAMES,
        class_labels=[str(label) for label in iris.target_names],
        seed=SEED,
    )


def write_classifier(
    estimator: Any,
    out_dir: Path,
    *,
    name: str,
    version: str,
    data: np.ndarray,
    targets: np.ndarray,
    feature_names: list[str],
    class_labels: list[str] | None = None,
    estimator_name: str | None = None,
    seed: int = SEED,
) -> ModelMetadata:
    """Fit on a fixed stratified 70/30 split, write ``model.joblib`` and ``metadata.json``; the metadata.

    Every feature accepts any physically plausible measurement: positive, up to twice the largest seen.
    ``class_labels`` default to the fitted estimator's classes.
    """
    x_train, x_test, y_train, y_test = train_test_split(
        data, targets, test_size=0.3, random_state=seed, stratify=targets
    )
    estimator.fit(x_train, y_train)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILENAME
    joblib.dump(estimator, model_path)
    features = [
        FeatureSpec(name=feature, minimum=0.0, maximum=float(np.ceil(2 * data[:, i].max())))
        for i, feature in enumerate(feature_names)
    ]
    metadata = ModelMetadata(
        name=name,
        version=version,
        estimator=estimator_name or type(estimator).__name__,
        task="classification",
        features=features,
        class_labels=class_labels if class_labels is not None else [str(c) for c in estimator.classes_],
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

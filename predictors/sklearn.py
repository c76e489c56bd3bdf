"""The scikit-learn predictor: any pickled classifier or regressor behind KServe's V1 and V2 protocols.

``SklearnModel`` is a plain ``kserve.Model``: the same class runs in a KServe pod
(``python -m predictors.sklearn --model_name iris --model_dir /mnt/models``) and in a Ray Serve replica
of the local runtime, which builds it with ``build_model`` from the same arguments. It is also what
``spec.predictor.model.modelFormat.name: sklearn`` (and the older ``spec.predictor.sklearn``) is
served by locally (``local.spec.entrypoint_of``).

Model directory, two layouts:

* the kit's artifacts (``models/train.py``): ``model.joblib`` with ``metadata.json`` (feature names,
  labels, sha256 and scikit-learn version, all checked at load: ``predictors.artifact``);
* KServe's sklearnserver layout: exactly one ``model.joblib``, ``model.pkl`` or ``model.pickle``
  (any file name with those extensions, as ``python/sklearnserver/sklearnserver/model.py`` accepts).

``--model_dir`` may be a storageUri (``gs://``, ``s3://``, ``http(s)://``, ``pvc://``, ``file://``),
fetched in ``load()`` through KServe's storage library as sklearnserver does (``predictors.storage``).

Outputs: ``output-0`` holds the predicted class in the dtype of the estimator's ``classes_`` (INT64
for integer labels, BYTES for string labels: ``"setosa"``, ``"Adelie"``), or the value (FP64) for a
regressor; and, when asked (see ``predictors.tabular``), ``probabilities`` [N, n_classes].

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from kserve.errors import ModelMissingError

from predictors.artifact import METADATA_FILENAME, ModelMetadata, load_artifact
from predictors.storage import find_model_file, resolve_model_dir
from predictors.tabular import (
    PREDICTIONS_OUTPUT,
    PROBABILITIES_OUTPUT,
    TabularModel,
    as_labels,
    label_datatype,
)

MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
DEFAULT_MODEL_DIR = "/mnt/models"


class SklearnModel(TabularModel):
    """Serves one scikit-learn estimator from a model directory (KServe's /mnt/models) or a storageUri."""

    def __init__(self, name: str, model_dir: str):
        super().__init__(name, model_dir)
        self.estimator: Any = None
        self.metadata: ModelMetadata | None = None

    def load(self) -> bool:
        local = resolve_model_dir(self.model_dir)
        if local.is_dir() and (local / METADATA_FILENAME).is_file():
            self.estimator, self.metadata = load_artifact(local)
        else:
            import joblib

            try:
                path = find_model_file(local, MODEL_EXTENSIONS, self.model_dir)
            except ModelMissingError as exc:
                raise type(exc)(
                    str(local),
                    f"{exc}; and {local / METADATA_FILENAME} not found: point --model_dir (storageUri) at a "
                    "directory holding one pickled estimator, or one made by models/train.py (make train)",
                ) from exc
            self.estimator = joblib.load(path)
        self.ready = True
        return self.ready

    @property
    def n_features(self) -> int:
        if self.metadata is not None:
            return len(self.metadata.features)
        count = getattr(self.estimator, "n_features_in_", None)
        if count is None:
            raise RuntimeError(f"model {self.name!r}: the estimator has no n_features_in_ (is it fitted?)")
        return int(count)

    @property
    def is_classifier(self) -> bool:
        return hasattr(self.estimator, "predict_proba") and hasattr(self.estimator, "classes_")

    def output_types(self) -> list[dict[str, Any]]:
        if not self.is_classifier:
            return [{"name": PREDICTIONS_OUTPUT, "datatype": "FP64", "shape": [-1]}]
        classes = self.estimator.classes_
        return [
            {"name": PREDICTIONS_OUTPUT, "datatype": label_datatype(classes), "shape": [-1]},
            {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, len(classes)]},
        ]

    def compute(self, matrix: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
        results: dict[str, np.ndarray] = {}
        if PREDICTIONS_OUTPUT in outputs:
            predictions = self.estimator.predict(matrix)
            results[PREDICTIONS_OUTPUT] = (
                as_labels(predictions, self.estimator.classes_)
                if self.is_classifier
                else np.asarray(predictions, dtype=np.float64)
            )
        if PROBABILITIES_OUTPUT in outputs:
            results[PROBABILITIES_OUTPUT] = np.asarray(self.estimator.predict_proba(matrix), dtype=np.float32)
        return results


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model_dir",
        default=DEFAULT_MODEL_DIR,
        help="model directory or storageUri: the kit's model.joblib + metadata.json, or KServe's layout "
        "(one model.joblib|model.pkl|model.pickle); KServe mounts storageUri at /mnt/models",
    )
    return parser


def build_model(args: argparse.Namespace) -> SklearnModel:
    """Build and load the model from parsed entrypoint arguments (used by main() and the Ray runtime)."""
    model = SklearnModel(args.model_name, args.model_dir)
    model.load()
    return model


def main(argv: list[str] | None = None) -> None:
    from predictors.serving import build_parser, serve

    parser = add_model_arguments(build_parser(__doc__))
    args = parser.parse_args(argv)
    serve([build_model(args)], args)


if __name__ == "__main__":
    main()

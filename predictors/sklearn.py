"""The scikit-learn predictor: any joblib classifier or regressor behind KServe's V1 and V2 protocols.

``SklearnModel`` is a plain ``kserve.Model``: the same class runs in a KServe pod
(``python -m predictors.sklearn --model_name iris --model_dir /mnt/models``) and in a Ray Serve replica
of the local runtime, which builds it with ``build_model`` from the same arguments.

Outputs: ``output-0`` (class index, or value for a regressor) and, when asked (a V2 requested output
named ``probabilities``, the request parameter ``return_probabilities: true``, or the same key in a
V1 body), ``probabilities`` [N, n_classes] from ``predict_proba``.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from kserve import Model
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest, InferResponse

from predictors.artifact import ModelMetadata, load_artifact
from predictors.tensors import infer_input_to_matrix, instances_to_matrix, output_from_numpy

PREDICTIONS_OUTPUT = "output-0"
PROBABILITIES_OUTPUT = "probabilities"
RETURN_PROBABILITIES = "return_probabilities"
DEFAULT_MODEL_DIR = "/mnt/models"


class SklearnModel(Model):
    """Serves one joblib scikit-learn estimator from a model directory (KServe's /mnt/models)."""

    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir
        self.estimator: Any = None
        self.metadata: ModelMetadata | None = None

    def load(self) -> bool:
        self.estimator, self.metadata = load_artifact(self.model_dir)
        self.ready = True
        return self.ready

    @property
    def n_features(self) -> int:
        assert self.metadata is not None, "model not loaded"
        return len(self.metadata.features)

    @property
    def is_classifier(self) -> bool:
        return hasattr(self.estimator, "predict_proba")

    def get_input_types(self) -> list[dict[str, Any]]:
        return [{"name": "input-0", "datatype": "FP32", "shape": [-1, self.n_features]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        outputs: list[dict[str, Any]] = [
            {"name": PREDICTIONS_OUTPUT, "datatype": "INT64" if self.is_classifier else "FP64", "shape": [-1]}
        ]
        if self.is_classifier:
            n_classes = len(self.estimator.classes_)
            outputs.append({"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, n_classes]})
        return outputs

    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        if isinstance(payload, InferRequest):
            return self._predict_v2(payload)
        return self._predict_v1(payload)

    def _predict_v1(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict) or "instances" not in body:
            raise InvalidInput('V1 request body must be a JSON object with "instances"')
        matrix = instances_to_matrix(body["instances"], self.n_features)
        response: dict[str, Any] = {"predictions": self._predict(matrix).tolist()}
        if _truthy(body.get(RETURN_PROBABILITIES)):
            response[PROBABILITIES_OUTPUT] = self._probabilities(matrix).tolist()
        return response

    def _predict_v2(self, request: InferRequest) -> InferResponse:
        if len(request.inputs) != 1:
            raise InvalidInput(f"expected exactly 1 input tensor, got {len(request.inputs)}")
        matrix = infer_input_to_matrix(request.inputs[0], self.n_features)
        requested = [output.name for output in request.request_outputs or []]
        unknown = sorted(set(requested) - {PREDICTIONS_OUTPUT, PROBABILITIES_OUTPUT})
        if unknown:
            raise InvalidInput(
                f"unknown requested output {unknown[0]!r}; this model has "
                f"{PREDICTIONS_OUTPUT!r} and {PROBABILITIES_OUTPUT!r}"
            )
        parameters = request.parameters or {}
        want_probabilities = PROBABILITIES_OUTPUT in requested or _truthy(
            _parameter_value(parameters.get(RETURN_PROBABILITIES))
        )
        outputs = []
        if not requested or PREDICTIONS_OUTPUT in requested:
            outputs.append(output_from_numpy(PREDICTIONS_OUTPUT, self._predict(matrix)))
        if want_probabilities:
            outputs.append(output_from_numpy(PROBABILITIES_OUTPUT, self._probabilities(matrix)))
        return InferResponse(
            response_id=request.id or "",
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=request.use_binary_outputs,
            requested_outputs=request.request_outputs,
        )

    def _predict(self, matrix: np.ndarray) -> np.ndarray:
        predictions = np.asarray(self.estimator.predict(matrix))
        return predictions.astype(np.int64) if self.is_classifier else predictions.astype(np.float64)

    def _probabilities(self, matrix: np.ndarray) -> np.ndarray:
        if not self.is_classifier:
            raise InvalidInput(f"model {self.name!r} is a regressor: it has no probabilities")
        return np.asarray(self.estimator.predict_proba(matrix), dtype=np.float32)


def _parameter_value(value: Any) -> Any:
    """Unwrap a gRPC InferParameter (bool_param, ...) into a plain value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    kind = value.WhichOneof("parameter_choice")
    return getattr(value, kind) if kind else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model_dir",
        default=DEFAULT_MODEL_DIR,
        help="directory holding model.joblib and metadata.json (KServe mounts storageUri at /mnt/models)",
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

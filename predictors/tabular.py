"""The V1 / V2 surface shared by the kit's tabular predictors (scikit-learn, XGBoost, LightGBM).

A subclass loads its model and says how many features it takes, what it answers (``output_types``) and
how to compute each output from a validated ``[N, n_features]`` matrix (``compute``). This class turns
V1 ``instances`` and one V2 input tensor (JSON or binary) into that matrix, honours V2 requested
outputs, and publishes real metadata: ``input-0`` ``FP32 [-1, n_features]`` and the subclass's outputs.

Answers: V1 ``{"predictions": [...]}`` as KServe's built-in servers give it
(``kserve.utils.utils.get_predict_response``), with ``probabilities`` beside it when the body sets
``return_probabilities: true``. V2 ``output-0`` holds what the model predicts; a V2 request that names
outputs gets those, and one that names none gets every output, as the Open Inference Protocol says
("if not specified all outputs produced by the model will be returned"; KServe's built-in servers
return ``output-0`` alone).

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from kserve import Model
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import generate_uuid

from predictors.tensors import infer_input_to_matrix, instances_to_matrix, output_from_numpy

PREDICTIONS_OUTPUT = "output-0"
PROBABILITIES_OUTPUT = "probabilities"
RETURN_PROBABILITIES = "return_probabilities"
INPUT_NAME = "input-0"


class TabularModel(Model):
    """A ``kserve.Model`` over a 2-D float feature matrix; subclasses implement load and compute."""

    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir

    # -- what a subclass provides -------------------------------------------------------------------

    @property
    def n_features(self) -> int:
        raise NotImplementedError

    def output_types(self) -> list[dict[str, Any]]:
        """``[{"name", "datatype", "shape"}]``, ``output-0`` first."""
        raise NotImplementedError

    def compute(self, matrix: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
        """Each named output for ``matrix``."""
        raise NotImplementedError

    # -- KServe's metadata and predict ------------------------------------------------------------

    @property
    def output_names(self) -> list[str]:
        return [output["name"] for output in self.output_types()]

    def get_input_types(self) -> list[dict[str, Any]]:
        return [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, self.n_features]}]

    def get_output_types(self) -> list[dict[str, Any]]:
        return self.output_types()

    def predict(
        self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None
    ) -> dict[str, Any] | InferResponse:
        if isinstance(payload, InferRequest):
            return self._predict_v2(payload)
        return self._predict_v1(payload)

    def _extra_outputs(self, wanted: bool) -> list[str]:
        if not wanted:
            return []
        extra = [name for name in self.output_names if name != PREDICTIONS_OUTPUT]
        if not extra:
            raise InvalidInput(f"model {self.name!r} has no {PROBABILITIES_OUTPUT!r} output")
        return extra

    def _predict_v1(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict) or "instances" not in body:
            raise InvalidInput('V1 request body must be a JSON object with "instances"')
        matrix = instances_to_matrix(body["instances"], self.n_features)
        names = [PREDICTIONS_OUTPUT, *self._extra_outputs(truthy(body.get(RETURN_PROBABILITIES)))]
        results = self.compute(matrix, names)
        response: dict[str, Any] = {"predictions": results[PREDICTIONS_OUTPUT].tolist()}
        for name in names[1:]:
            response[name] = results[name].tolist()
        return response

    def _predict_v2(self, request: InferRequest) -> InferResponse:
        if len(request.inputs) != 1:
            raise InvalidInput(f"expected exactly 1 input tensor, got {len(request.inputs)}")
        matrix = infer_input_to_matrix(request.inputs[0], self.n_features)
        known = self.output_names
        requested = [output.name for output in request.request_outputs or []]
        unknown = sorted(set(requested) - set(known))
        if unknown:
            raise InvalidInput(f"unknown requested output {unknown[0]!r}; this model has {', '.join(map(repr, known))}")
        names = [name for name in known if name in requested] if requested else known
        results = self.compute(matrix, names)
        return InferResponse(
            response_id=request.id or generate_uuid(),  # as KServe answers a request without id
            model_name=self.name,
            infer_outputs=[output_from_numpy(name, results[name]) for name in names],
            use_binary_outputs=request.use_binary_outputs,
            requested_outputs=request.request_outputs,
        )


def as_labels(predictions: Any, classes: Any) -> np.ndarray:
    """Class predictions in the dtype of the model's classes: INT64, FP64, or strings (V2 BYTES)."""
    array = np.asarray(predictions)
    kind = np.asarray(classes).dtype.kind
    if kind in "iub":
        return array.astype(np.int64)
    if kind == "f":
        return array.astype(np.float64)
    return np.asarray([str(value) for value in array.ravel()], dtype=object).reshape(array.shape)


def label_datatype(classes: Any) -> str:
    kind = np.asarray(classes).dtype.kind
    return "INT64" if kind in "iub" else "FP64" if kind == "f" else "BYTES"


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)

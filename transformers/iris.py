"""The iris transformer: named feature records in, labelled probabilities out.

``IrisTransformer`` is a plain ``kserve.Model`` overriding ``preprocess`` and ``postprocess``; its
``predict`` is KServe's own, which calls the predictor over V2 (``--predictor_host``,
``--predictor_protocol v2``). The same class runs in the transformer container and in a Ray Serve
replica, where the runtime routes ``predict`` to the predictor deployment instead of HTTP.

* preprocess accepts V1 ``{"instances": [{"sepal_length": 5.1, ...}, ...]}`` (records, or rows in
  feature order) and V2 requests (one input per feature, shape [N], or one [N, 4] tensor), checks
  every field against the model metadata (missing, unknown, non-numeric, out of range: 400 naming the
  field) and sends the predictor one FP32 ``[N, 4]`` tensor in the metadata's feature order.
* postprocess maps class indices to label names with their probabilities, answering in the protocol
  the client used. A V2 answer holds the outputs the request names (all of them when it names none,
  as the Open Inference Protocol says; an unknown name is 400 before the predictor is called), binary
  when the request asks (``binary_data_output``, an output's ``binary_data``) and, over gRPC, in
  ``raw_output_contents`` when the inputs came raw: as KServe's predictors answer
  (``InferRequest.use_binary_outputs``).

The feature order and class labels come from the model's ``metadata.json`` (``--model_dir``).
Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import argparse
from contextvars import ContextVar
from typing import Any

import numpy as np
from kserve import Model
from kserve import context as kserve_context
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferInput, InferRequest, InferResponse, RequestedOutput

from predictors.artifact import ModelMetadata, read_metadata
from predictors.sklearn import PREDICTIONS_OUTPUT, PROBABILITIES_OUTPUT
from predictors.tensors import infer_input_to_matrix, output_from_numpy

LABEL_OUTPUT = "label"
PREDICTOR_INPUT = "input-0"
DEFAULT_MODEL_DIR = "models/iris/v1"

# The client's V2 request (None: it spoke V1), set by preprocess and read by postprocess of the same request.
_client_request: ContextVar[InferRequest | None] = ContextVar("isvc_client_request", default=None)


class IrisTransformer(Model):
    """Pre/post-processing for the iris classifier, driven by the model's metadata."""

    def __init__(self, name: str, metadata: ModelMetadata, predictor_config: Any = None):
        super().__init__(name)
        self.metadata = metadata
        self._predictor_config = predictor_config
        self.ready = True

    @property
    def predictor_config(self) -> Any:
        # Carried by the instance so it survives where KServe's ContextVar does not (a Ray replica).
        return self._predictor_config or kserve_context.get_predictor_config()

    @property
    def feature_names(self) -> list[str]:
        return self.metadata.feature_names

    def get_input_types(self) -> list[dict[str, Any]]:
        return [{"name": name, "datatype": "FP32", "shape": [-1]} for name in self.feature_names]

    def get_output_types(self) -> list[dict[str, Any]]:
        return [
            {"name": LABEL_OUTPUT, "datatype": "BYTES", "shape": [-1]},
            {"name": PROBABILITIES_OUTPUT, "datatype": "FP32", "shape": [-1, len(self.metadata.class_labels)]},
        ]

    # -- preprocess -------------------------------------------------------------------------------

    def preprocess(self, payload: dict[str, Any] | InferRequest, headers: dict[str, str] | None = None) -> InferRequest:
        if isinstance(payload, InferRequest):
            _client_request.set(payload)
            self._check_requested_outputs(payload)
            matrix = self._matrix_from_v2(payload)
            request_id = payload.id
        else:
            _client_request.set(None)
            matrix = self._matrix_from_v1(payload)
            request_id = None
        self._check_ranges(matrix)
        tensor = InferInput(name=PREDICTOR_INPUT, shape=list(matrix.shape), datatype="FP32")
        tensor.set_data_from_numpy(matrix.astype(np.float32), binary_data=False)
        return InferRequest(
            model_name=self.name,
            infer_inputs=[tensor],
            request_id=request_id,
            request_outputs=[RequestedOutput(PREDICTIONS_OUTPUT), RequestedOutput(PROBABILITIES_OUTPUT)],
        )

    def _check_requested_outputs(self, request: InferRequest) -> None:
        known = [output["name"] for output in self.get_output_types()]
        for output in request.request_outputs or []:
            if output.name not in known:
                raise InvalidInput(
                    f"unknown requested output {output.name!r}; this model has {', '.join(map(repr, known))}"
                )

    def _matrix_from_v1(self, body: Any) -> np.ndarray:
        if not isinstance(body, dict) or "instances" not in body:
            raise InvalidInput('V1 request body must be a JSON object with "instances"')
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise InvalidInput('"instances" must be a non-empty list of records')
        rows = [self._row_from_instance(i, instance) for i, instance in enumerate(instances)]
        return np.asarray(rows, dtype=np.float64)

    def _row_from_instance(self, index: int, instance: Any) -> list[float]:
        where = f"instances[{index}]"
        if isinstance(instance, list):
            if len(instance) != len(self.feature_names):
                raise InvalidInput(
                    f"{where}: expected {len(self.feature_names)} values in the order "
                    f"{', '.join(self.feature_names)}, got {len(instance)}"
                )
            instance = dict(zip(self.feature_names, instance, strict=True))
        if not isinstance(instance, dict):
            raise InvalidInput(f"{where}: expected a record of {', '.join(self.feature_names)}")
        unknown = sorted(set(instance) - set(self.feature_names))
        if unknown:
            raise InvalidInput(f"{where}.{unknown[0]}: unknown field; expected {', '.join(self.feature_names)}")
        row = []
        for name in self.feature_names:
            if name not in instance:
                raise InvalidInput(f"{where}.{name}: missing field")
            row.append(_number(instance[name], f"{where}.{name}"))
        return row

    def _matrix_from_v2(self, request: InferRequest) -> np.ndarray:
        if len(request.inputs) == 1 and request.inputs[0].name not in self.feature_names:
            # One [N, 4] tensor in feature order, as the predictor itself takes.
            return infer_input_to_matrix(request.inputs[0], len(self.feature_names))
        inputs = {infer_input.name: infer_input for infer_input in request.inputs}
        unknown = sorted(set(inputs) - set(self.feature_names))
        if unknown:
            raise InvalidInput(f"input '{unknown[0]}': unknown feature; expected {', '.join(self.feature_names)}")
        columns = []
        for name in self.feature_names:
            if name not in inputs:
                raise InvalidInput(f"input '{name}': missing feature")
            column = infer_input_to_matrix(_as_column(inputs[name]), 1)
            columns.append(column[:, 0])
        lengths = {len(column) for column in columns}
        if len(lengths) != 1:
            raise InvalidInput(f"feature inputs have different lengths {sorted(lengths)}")
        return np.stack(columns, axis=1)

    def _check_ranges(self, matrix: np.ndarray) -> None:
        for column, feature in enumerate(self.metadata.features):
            values = matrix[:, column]
            bad = np.flatnonzero((values < feature.minimum) | (values > feature.maximum))
            if bad.size:
                row = int(bad[0])
                raise InvalidInput(
                    f"row {row} field {feature.name}: {values[row]:g} is out of range "
                    f"[{feature.minimum:g}, {feature.maximum:g}]"
                )

    # -- postprocess ------------------------------------------------------------------------------

    def postprocess(
        self,
        result: InferResponse | dict[str, Any],
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        if not isinstance(result, InferResponse):
            raise InvalidInput("the predictor must answer with a V2 response (--predictor_protocol v2)")
        outputs = {output.name: output for output in result.outputs}
        classes = outputs[PREDICTIONS_OUTPUT].as_numpy().astype(np.int64).reshape(-1)
        probabilities = outputs[PROBABILITIES_OUTPUT].as_numpy().astype(np.float32)
        labels = [self.metadata.class_labels[int(index)] for index in classes]
        request = _client_request.get()
        if request is None:
            return {
                "predictions": [
                    {
                        "label": label,
                        "class_index": int(index),
                        "probabilities": dict(zip(self.metadata.class_labels, map(float, row), strict=True)),
                    }
                    for label, index, row in zip(labels, classes, probabilities, strict=True)
                ]
            }
        computed = {
            LABEL_OUTPUT: output_from_numpy(LABEL_OUTPUT, np.asarray(labels, dtype=object)),
            PROBABILITIES_OUTPUT: output_from_numpy(PROBABILITIES_OUTPUT, probabilities),
        }
        requested = {output.name for output in request.request_outputs or []}
        return InferResponse(
            response_id=result.id,
            model_name=self.name,
            infer_outputs=[output for name, output in computed.items() if not requested or name in requested],
            use_binary_outputs=request.use_binary_outputs,
            requested_outputs=request.request_outputs,
        )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: expected a number, got {value!r}")
    if not np.isfinite(value):
        raise InvalidInput(f"{where}: value is NaN or infinite")
    return float(value)


def _as_column(infer_input: InferInput) -> InferInput:
    """A per-feature input of shape [N] viewed as [N, 1]."""
    shape = [int(dim) for dim in infer_input.shape]
    column = InferInput(
        name=infer_input.name, shape=[shape[0] if shape else 1, 1], datatype=infer_input.datatype, data=infer_input.data
    )
    column._raw_data = infer_input._raw_data
    if len(shape) > 1 and any(dim != 1 for dim in shape[1:]):
        raise InvalidInput(f"input '{infer_input.name}': expected shape [N], got {shape}")
    return column


def add_model_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model_dir",
        default=DEFAULT_MODEL_DIR,
        help="model directory whose metadata.json gives feature order, ranges and labels (default %(default)s)",
    )
    return parser


def build_model(args: argparse.Namespace, predictor_config: Any = None) -> IrisTransformer:
    """Build the transformer from parsed entrypoint arguments (used by main() and the Ray runtime)."""
    return IrisTransformer(args.model_name, read_metadata(args.model_dir), predictor_config)


def main(argv: list[str] | None = None) -> None:
    from predictors.serving import build_parser, predictor_config_from_args, serve

    parser = add_model_arguments(build_parser(__doc__))
    args = parser.parse_args(argv)
    if not args.predictor_host:
        parser.error("--predictor_host HOST:PORT is required: the transformer calls its predictor there")
    serve([build_model(args, predictor_config_from_args(args))], args)


if __name__ == "__main__":
    main()

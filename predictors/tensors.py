"""Turn V1 instances and V2 input tensors into a validated 2-D float matrix, and back.

Every way a batch can be wrong (no data, wrong feature count, non-numeric values, NaN or Inf, a
declared shape that disagrees with the data) raises ``kserve.errors.InvalidInput`` with a message
naming the problem, which KServe's data plane answers with 400 ``{"error": ...}``.

Depends on numpy and KServe's protocol types only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferInput, InferOutput

NUMERIC_DATATYPES = {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}


def _check_matrix(matrix: np.ndarray, n_features: int, where: str) -> np.ndarray:
    if matrix.ndim == 1 and matrix.size == n_features:
        matrix = matrix.reshape(1, n_features)
    if matrix.ndim != 2:
        raise InvalidInput(f"{where}: expected a 2-D batch [N, {n_features}], got {matrix.ndim}-D data")
    if matrix.shape[0] == 0:
        raise InvalidInput(f"{where}: empty batch, send at least one row of {n_features} features")
    if matrix.shape[1] != n_features:
        raise InvalidInput(f"{where}: expected {n_features} features per row, got {matrix.shape[1]}")
    if not np.isfinite(matrix).all():
        row, col = (int(i) for i in np.argwhere(~np.isfinite(matrix))[0])
        raise InvalidInput(f"{where}: value at row {row}, column {col} is NaN or infinite")
    return matrix


def _to_float_matrix(data: Any, where: str) -> np.ndarray:
    if isinstance(data, list | tuple) and len(data) == 0:
        raise InvalidInput(f"{where}: empty batch, send at least one row")
    try:
        matrix = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if _has_ragged_rows(data):
            raise InvalidInput(f"{where}: rows have different lengths") from exc
        raise InvalidInput(f"{where}: non-numeric value in the data ({_first_non_numeric(data)!r})") from exc
    return matrix


def _has_ragged_rows(data: Any) -> bool:
    return isinstance(data, list) and len({len(row) if isinstance(row, list) else -1 for row in data}) > 1


def _first_non_numeric(data: Any) -> Any:
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            return item
    return None


def instances_to_matrix(instances: Any, n_features: int) -> np.ndarray:
    """Validate V1 ``instances`` (a list of rows) into an ``[N, n_features]`` float matrix."""
    if not isinstance(instances, list):
        raise InvalidInput('"instances" must be a list of rows')
    for value in (v for row in instances if isinstance(row, list) for v in row):
        if isinstance(value, bool | str) or value is None:
            raise InvalidInput(f"instances: non-numeric value in the data ({value!r})")
    return _check_matrix(_to_float_matrix(instances, "instances"), n_features, "instances")


def infer_input_to_matrix(infer_input: InferInput, n_features: int) -> np.ndarray:
    """Validate one V2 input tensor (JSON or binary) into an ``[N, n_features]`` float matrix."""
    where = f"input '{infer_input.name}'"
    if infer_input.datatype not in NUMERIC_DATATYPES:
        raise InvalidInput(f"{where}: datatype {infer_input.datatype} is not numeric")
    shape = [int(dim) for dim in infer_input.shape]
    expected = math.prod(shape)
    if infer_input._raw_data is not None:
        raw = np.frombuffer(infer_input._raw_data, dtype=_np_dtype(infer_input.datatype))
        if raw.size != expected:
            raise InvalidInput(f"{where}: shape {shape} needs {expected} values but the binary data holds {raw.size}")
        matrix = raw.astype(np.float64).reshape(shape)
    else:
        data = infer_input.data
        flat = np.asarray(data, dtype=object).ravel() if isinstance(data, list) else np.asarray([data])
        for value in flat:
            if isinstance(value, bool | str | bytes) or value is None:
                raise InvalidInput(f"{where}: non-numeric value in the data ({value!r})")
        matrix = _to_float_matrix(data, where)
        if matrix.size != expected:
            raise InvalidInput(f"{where}: shape {shape} needs {expected} values but the data holds {matrix.size}")
        matrix = matrix.reshape(shape)
    return _check_matrix(matrix, n_features, where)


def _np_dtype(datatype: str) -> np.dtype:
    from kserve.utils.numpy_codec import to_np_dtype

    dtype = to_np_dtype(datatype)
    if dtype is None:
        raise InvalidInput(f"unknown datatype {datatype}")
    return np.dtype(dtype)


def output_from_numpy(name: str, array: np.ndarray) -> InferOutput:
    """A V2 output tensor carried as JSON data (so it can be forwarded or re-encoded freely)."""
    output = InferOutput(name=name, shape=list(array.shape), datatype=_datatype_of(array))
    output.set_data_from_numpy(array, binary_data=False)
    return output


def _datatype_of(array: np.ndarray) -> str:
    from kserve.utils.numpy_codec import from_np_dtype

    datatype = from_np_dtype(array.dtype)
    if datatype is None:
        raise TypeError(f"no V2 datatype for numpy dtype {array.dtype}")
    return str(datatype)

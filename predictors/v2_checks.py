"""Checks of a V2 request's tensors against their declared shapes, before any model sees them.

KServe 0.21 trusts a request's framing: ``InferRequest.from_bytes`` slices the body by
``Inference-Header-Content-Length`` and ``binary_data_size`` without comparing either with the body or
the shape, and ``InferInput.as_numpy`` reshapes whatever arrived, so a lying length is a 500 or, when
the slice happens to fit, a 200 on data the client never declared; JSON data nested deeper than its
shape is flattened into it. These functions raise ``kserve.errors.InvalidInput`` (400, gRPC
INVALID_ARGUMENT) instead, with a message naming the input:

* ``check_binary_body``: the binary tensor extension's framing (KServe's
  "Binary Tensor Data Extension" page: the JSON header is the first Inference-Header-Content-Length
  bytes, then each input's ``binary_data_size`` bytes in order). The header length must be a byte
  count within the body; each ``binary_data_size`` must be what the shape and datatype take (Triton
  answers INVALID_ARG "unexpected total byte size" for the same); together they must be the body.
* ``check_request``: every decoded input (REST JSON, REST binary, gRPC contents or raw contents):
  a V2 datatype, non-negative dimensions, at most ``max_elements`` elements (the element limit,
  ``predictors.limits``), and data flat with exactly that many values or nested exactly as the shape
  (the V2 protocol's ``$tensor_data``), raw data of exactly the declared size.

Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import orjson
from kserve.errors import InvalidInput

ITEM_SIZE = {
    "BOOL": 1,
    "UINT8": 1,
    "INT8": 1,
    "UINT16": 2,
    "INT16": 2,
    "FP16": 2,
    "UINT32": 4,
    "INT32": 4,
    "FP32": 4,
    "UINT64": 8,
    "INT64": 8,
    "FP64": 8,
}
DATATYPES = frozenset({*ITEM_SIZE, "BYTES"})
ELEMENT_LIMIT_ENV = "ISVC_MAX_TENSOR_ELEMENTS"
_BYTE_COUNT = re.compile(r"^[0-9]{1,20}$")


def element_count(where: str, shape: Any, max_elements: int) -> int:
    """The number of elements ``shape`` declares; 400 for a malformed shape or one over the limit."""
    if not isinstance(shape, Sequence) or isinstance(shape, str | bytes):
        raise InvalidInput(f"{where}: shape must be a list of dimensions, got {shape!r}")
    dims = list(shape)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise InvalidInput(f"{where}: shape {dims!r}: every dimension must be an integer")
        if dim < 0:
            raise InvalidInput(f"{where}: shape {dims}: dimensions must not be negative")
    count = math.prod(dims)
    if count > max_elements:
        raise InvalidInput(
            f"{where}: shape {dims} declares {count} elements, more than the limit of {max_elements} "
            f"({ELEMENT_LIMIT_ENV})"
        )
    giant = next((dim for dim in dims if dim > max_elements), None)  # a zero dimension hides it from the count
    if giant is not None:
        raise InvalidInput(
            f"{where}: shape {dims}: dimension {giant} is larger than the element limit of {max_elements} "
            f"({ELEMENT_LIMIT_ENV})"
        )
    return count


def check_datatype(where: str, datatype: Any) -> str:
    if datatype not in DATATYPES:
        raise InvalidInput(f"{where}: unknown datatype {datatype!r}; V2 has {', '.join(sorted(DATATYPES))}")
    return str(datatype)


def check_data(where: str, shape: list[int], count: int, data: Any) -> None:
    """JSON (or gRPC contents) data: flat with ``count`` values, or nested exactly as ``shape``."""
    if not isinstance(data, list):
        raise InvalidInput(f"{where}: data must be a list, got {type(data).__name__}")
    if not any(isinstance(value, list) for value in data):
        if len(data) != count:
            raise InvalidInput(f"{where}: shape {shape} needs {count} values but the data holds {len(data)}")
        return
    if not _nested_as(data, shape):
        nesting = _nesting_of(data)
        hint = "rows of different lengths" if nesting == shape else f"it is nested as {nesting}"
        raise InvalidInput(f"{where}: data is neither flat nor nested as the shape {shape} ({hint})")


def _nested_as(data: list[Any], shape: list[int]) -> bool:
    level: list[Any] = [data]
    for dim in shape:
        below: list[Any] = []
        for item in level:
            if not isinstance(item, list) or len(item) != dim:
                return False
            below.extend(item)
        level = below
    return not any(isinstance(item, list) for item in level)


def _nesting_of(data: Any) -> list[int]:
    dims = []
    while isinstance(data, list):
        dims.append(len(data))
        data = data[0] if data else None
    return dims


def check_raw(where: str, datatype: str, shape: list[int], count: int, raw: bytes) -> None:
    """Raw (binary or gRPC raw_input_contents) data of exactly the declared size."""
    if datatype == "BYTES":
        found = _bytes_elements(where, raw)
        if found != count:
            raise InvalidInput(f"{where}: shape {shape} needs {count} BYTES elements but the data holds {found}")
        return
    expected = count * ITEM_SIZE[datatype]
    if len(raw) != expected:
        raise InvalidInput(
            f"{where}: shape {shape} of {datatype} takes {expected} bytes but the binary data has {len(raw)}"
        )


def _bytes_elements(where: str, raw: bytes) -> int:
    """How many length-prefixed elements a BYTES tensor's binary data holds (4-byte little-endian lengths)."""
    offset = count = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(f"{where}: BYTES data ends inside an element's 4-byte length")
        offset += 4 + int.from_bytes(raw[offset : offset + 4], "little")
        if offset > len(raw):
            raise InvalidInput(f"{where}: a BYTES element's length runs past the end of its data")
        count += 1
    return count


def check_request(request: Any, max_elements: int) -> None:
    """Every input of a decoded ``kserve.protocol.infer_type.InferRequest``."""
    if not request.inputs:
        raise InvalidInput("the request has no inputs")
    for infer_input in request.inputs:
        where = f"input '{infer_input.name}'"
        datatype = check_datatype(where, infer_input.datatype)
        shape = list(infer_input.shape)
        count = element_count(where, shape, max_elements)
        raw = infer_input._raw_data
        if raw is not None:
            check_raw(where, datatype, shape, count, bytes(raw))
        elif datatype != "FP16":  # FP16 travels only as binary data; KServe rejects it as JSON itself
            check_data(where, shape, count, infer_input.data)


def check_binary_body(body: bytes, header_length: str, max_elements: int) -> None:
    """A body in the binary tensor extension, before KServe slices it."""
    if not _BYTE_COUNT.match(header_length.strip()):
        raise InvalidInput(f"Inference-Header-Content-Length {header_length!r} is not a byte count")
    json_length = int(header_length)
    if json_length > len(body):
        raise InvalidInput(f"Inference-Header-Content-Length {json_length} is larger than the body ({len(body)} bytes)")
    try:
        header = orjson.loads(body[:json_length])
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"the first {json_length} bytes (Inference-Header-Content-Length) are not JSON: {exc}"
        ) from exc
    if not isinstance(header, dict):
        raise InvalidInput("the binary request's JSON header must be an object")
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("inputs: a non-empty list of input tensors is required")
    if not isinstance(header.get("parameters", {}), dict | type(None)):
        raise InvalidInput("parameters: must be an object")
    outputs = header.get("outputs") or []
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise InvalidInput("outputs: must be a list of objects with a string name")
    offset = json_length
    for index, item in enumerate(inputs):
        offset += _binary_input_size(index, item, body, offset, max_elements)
    if offset != len(body):
        raise InvalidInput(
            f"binary data: the inputs' binary_data_size add up to {offset - json_length} bytes "
            f"but {len(body) - json_length} follow the JSON header"
        )


def _binary_input_size(index: int, item: Any, body: bytes, offset: int, max_elements: int) -> int:
    """The bytes input ``index`` takes after the header (0 for JSON data), checked against its shape."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidInput(f"inputs[{index}]: an object with a string name is required")
    where = f"input '{item['name']}'"
    datatype = check_datatype(where, item.get("datatype"))
    count = element_count(where, item.get("shape"), max_elements)
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidInput(f"{where}: parameters must be an object")
    size = parameters.get("binary_data_size")
    if "data" in item:
        if size is not None:
            raise InvalidInput(f"{where}: has both data and binary_data_size")
        return 0
    if size is None:
        raise InvalidInput(f"{where}: has neither data nor parameters.binary_data_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidInput(f"{where}: binary_data_size must be a byte count, got {size!r}")
    if offset + size > len(body):
        raise InvalidInput(
            f"{where}: binary_data_size {size} runs past the end of the body ({len(body) - offset} bytes left)"
        )
    check_raw(where, datatype, list(item["shape"]), count, body[offset : offset + size])
    return size

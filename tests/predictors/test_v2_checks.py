"""predictors/v2_checks.py: shapes, data against shapes, raw sizes and the binary extension's framing."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from kserve.errors import InvalidInput

from predictors.v2_checks import check_binary_body, check_data, check_raw, element_count

LIMIT = 1000


@pytest.mark.parametrize(("shape", "count"), [([1, 4], 4), ([], 1), ([0, 4], 0), ([10, 10, 10], 1000)])
def test_element_count(shape: list[int], count: int) -> None:
    assert element_count("input 'x'", shape, LIMIT) == count


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ([-1, 4], "must not be negative"),
        (["a", 4], "must be an integer"),
        ([True, 4], "must be an integer"),
        ("14", "must be a list"),
        ([1001], "more than the limit of 1000"),
        ([2**63, 2**63], "more than the limit of 1000 (ISVC_MAX_TENSOR_ELEMENTS)"),
        ([2**63, 0], "dimension 9223372036854775808 is larger than the element limit"),
    ],
)
def test_bad_shapes_are_400_naming_the_input(shape: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match="input 'x'") as error:
        element_count("input 'x'", shape, LIMIT)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "data", [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], ids=["flat", "nested-as-shape"]
)
def test_data_flat_or_nested_as_the_shape_is_accepted(data: list[Any]) -> None:
    check_data("input 'x'", [2, 3], 6, data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1.0, 2.0, 3.0], "needs 6 values but the data holds 3"),
        ([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], "it is nested as [1, 2, 3]"),
        ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "it is nested as [3, 2]"),
        ([[1.0, 2.0, 3.0], [4.0, 5.0]], "rows of different lengths"),
        ([[1.0, 2.0, 3.0], 4.0, 5.0, 6.0], "neither flat nor nested"),
        (5.0, "data must be a list"),
    ],
)
def test_data_that_does_not_fit_its_shape_is_400(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_data("input 'x'", [2, 3], 6, data)
    assert message in str(error.value)


def test_raw_data_must_be_the_declared_size() -> None:
    check_raw("input 'x'", "FP32", [1, 4], 4, bytes(16))
    with pytest.raises(InvalidInput, match=r"takes 16 bytes but the binary data has 15"):
        check_raw("input 'x'", "FP32", [1, 4], 4, bytes(15))


def test_bytes_raw_data_is_counted_by_its_length_prefixes() -> None:
    two = struct.pack("<I", 1) + b"a" + struct.pack("<I", 2) + b"bc"
    check_raw("input 'x'", "BYTES", [2], 2, two)
    with pytest.raises(InvalidInput, match="needs 3 BYTES elements but the data holds 2"):
        check_raw("input 'x'", "BYTES", [3], 3, two)
    with pytest.raises(InvalidInput, match="runs past the end"):
        check_raw("input 'x'", "BYTES", [1], 1, struct.pack("<I", 9) + b"a")
    with pytest.raises(InvalidInput, match="4-byte length"):
        check_raw("input 'x'", "BYTES", [1], 1, b"\x01\x00")


def _binary(size: Any = 16, payload: bytes = bytes(16), **tensor: Any) -> tuple[bytes, str]:
    fields = {"name": "x", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": size}, **tensor}
    header = json.dumps({"inputs": [fields]}).encode()
    return header + payload, str(len(header))


def test_a_truthful_binary_body_passes() -> None:
    body, length = _binary()
    check_binary_body(body, length, LIMIT)


@pytest.mark.parametrize(
    ("body_and_length", "message"),
    [
        ((_binary()[0], "abc"), "'abc' is not a byte count"),
        ((_binary()[0], "-5"), "'-5' is not a byte count"),
        ((_binary()[0], "100000"), "larger than the body"),
        ((_binary()[0], "10"), "are not JSON"),
        (_binary(size=32), "binary_data_size 32 runs past the end of the body"),
        (_binary(size=16, payload=bytes(24)), "add up to 16 bytes but 24 follow the JSON header"),
        (_binary(size=8, payload=bytes(8)), "takes 16 bytes but the binary data has 8"),
        (_binary(size=-16), "binary_data_size must be a byte count"),
        (_binary(size="16"), "binary_data_size must be a byte count"),
        (_binary(size=None), "neither data nor parameters.binary_data_size"),
        (_binary(data=[1, 2, 3, 4]), "both data and binary_data_size"),
        (_binary(shape=[10**12, 4]), "more than the limit"),
        (_binary(datatype="FP128"), "unknown datatype 'FP128'"),
    ],
)
def test_lying_binary_framing_is_400(body_and_length: tuple[bytes, str], message: str) -> None:
    body, length = body_and_length
    with pytest.raises(InvalidInput) as error:
        check_binary_body(body, length, LIMIT)
    assert message in str(error.value)


def test_a_binary_header_without_inputs_is_400() -> None:
    header = b'{"id": "1"}'
    with pytest.raises(InvalidInput, match="inputs: a non-empty list"):
        check_binary_body(header + bytes(16), str(len(header)), LIMIT)

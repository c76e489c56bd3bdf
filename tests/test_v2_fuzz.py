"""Property-based fuzzing of V2 REST inference: no body makes a server answer 5xx, reset or hang.

Bodies are drawn around the V2 schema (``$inference_request``): inputs with wrong types, shapes
(negative, huge, mistyped), datatypes (real, unknown, mistyped), data nested or not, NaN / Infinity
literals, numbers beyond any dtype, unicode names and strings, missing and extra fields; valid iris
requests with one field broken (or none: some answers are 200); and KServe's binary tensor extension
with random ``binary_data_size`` and Inference-Header-Content-Length. Each
runtime (the Ray gateway, the transformer pod, the predictor pod) gets ``MAX_EXAMPLES`` of them: every
answer is a 200 with outputs or a 4xx with a V2 ``{"error": ...}``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bad_requests import DEFAULT_PATH, TARGETS, endpoint

MAX_EXAMPLES = 200
DATATYPES = ["FP32", "FP64", "FP16", "INT32", "INT64", "UINT8", "BOOL", "BYTES", "FP128", "fp32", ""]
NAMES = ["input-0", "sepal_length", "sepal_width", "petal_length", "petal_width"]
NON_FINITE = [math.nan, math.inf, -math.inf]

scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*NON_FINITE, 1e308, -0.0, 5e-324]),
    st.floats(min_value=0.0, max_value=8.0),  # in the iris ranges: some bodies are valid
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
)
tensor_data = st.recursive(st.lists(scalars, max_size=12), lambda inner: st.lists(inner, max_size=4), max_leaves=48)
dimensions = st.one_of(
    st.integers(min_value=-2, max_value=6), st.sampled_from([0, 2**31, 2**63, 10**12, 4194305]), st.text(max_size=3)
)
shapes = st.one_of(st.lists(dimensions, max_size=5), st.sampled_from([[1, 4], [4], [2, 4], [1, 2, 2]]), st.none())
parameters = st.dictionaries(
    st.sampled_from(["binary_data_size", "content_type", "return_probabilities", "binary_data_output"]),
    st.one_of(st.integers(min_value=-1, max_value=64), st.booleans(), st.text(max_size=5)),
    max_size=2,
)
tensors = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(NAMES), st.text(max_size=10)),
        "shape": shapes,
        "datatype": st.one_of(st.sampled_from(DATATYPES), st.integers()),
        "data": st.one_of(tensor_data, scalars),
    },
    optional={"parameters": st.one_of(parameters, st.text(max_size=3))},
)
documents = st.fixed_dictionaries(
    {"inputs": st.one_of(st.lists(tensors, max_size=5), scalars)},
    optional={
        "id": st.one_of(st.text(max_size=8), st.integers()),
        "parameters": st.one_of(parameters, st.lists(scalars, max_size=2)),
        "outputs": st.lists(
            st.fixed_dictionaries({"name": st.one_of(st.text(max_size=12), st.integers())}), max_size=2
        ),
    },
)


@st.composite
def json_bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    document = draw(st.one_of(documents, scalars, st.lists(scalars, max_size=3)))
    text = json.dumps(document, allow_nan=True, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # now and then, cut it short
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text.encode(), {"content-type": "application/json"}


@st.composite
def binary_bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    shape = draw(st.one_of(st.sampled_from([[1, 4], [2, 4], [4]]), st.lists(dimensions, max_size=3)))
    datatype = draw(st.sampled_from(["FP32", "FP64", "INT64", "BYTES", "BOOL", "FP16", "FP128"]))
    payload = draw(st.binary(max_size=80))
    size = draw(st.one_of(st.just(len(payload)), st.integers(min_value=-4, max_value=100), st.text(max_size=3)))
    tensor = {"name": "input-0", "shape": shape, "datatype": datatype, "parameters": {"binary_data_size": size}}
    header = json.dumps({"inputs": [tensor]}).encode()
    length = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1, -len(header), 10_000]))
    return header + payload, {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(length),
    }


@st.composite
def near_valid_bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A valid iris request (rows of 4 in-range floats), then at most one field broken."""
    rows = draw(st.integers(min_value=1, max_value=3))
    data: Any = draw(st.lists(st.floats(min_value=0.5, max_value=4.0), min_size=4 * rows, max_size=4 * rows))
    tensor: dict[str, Any] = {"name": "input-0", "shape": [rows, 4], "datatype": "FP32", "data": data}
    mutation = draw(
        st.sampled_from(["none", "none", "value", "nonfinite", "shape", "datatype", "nest", "drop", "name"])
    )
    if mutation == "nonfinite":
        data[draw(st.integers(min_value=0, max_value=len(data) - 1))] = draw(st.sampled_from(NON_FINITE))
    elif mutation == "value":
        data[draw(st.integers(min_value=0, max_value=len(data) - 1))] = draw(scalars)
    elif mutation == "shape":
        tensor["shape"] = draw(shapes)
    elif mutation == "datatype":
        tensor["datatype"] = draw(st.one_of(st.sampled_from(DATATYPES), st.text(max_size=6)))
    elif mutation == "nest":
        tensor["data"] = [[value] for value in data] if draw(st.booleans()) else [data]
    elif mutation == "drop":
        del tensor[draw(st.sampled_from(sorted(tensor)))]
    elif mutation == "name":
        tensor["name"] = draw(st.text(max_size=10))
    return json.dumps({"inputs": [tensor]}, allow_nan=True).encode(), {"content-type": "application/json"}


bodies = st.one_of(near_valid_bodies(), json_bodies(), json_bodies(), binary_bodies())


def check_answer(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    document = response.json()
    if response.status_code == 200:
        assert isinstance(document.get("outputs"), list), document
    else:
        assert 400 <= response.status_code < 500 and isinstance(document.get("error"), str), document


def test_the_strategies_reach_every_kind_of_body() -> None:
    """Among the bodies: NaN literals, the binary extension, and unbroken valid requests."""
    seen = {"nan": 0, "binary": 0, "valid": 0}

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(bodies)
    def draw(body: tuple[bytes, dict[str, str]]) -> None:
        content, headers = body
        seen["binary"] += "inference-header-content-length" in headers
        seen["nan"] += b"NaN" in content
        seen["valid"] += _is_valid_iris(content)

    draw()
    assert all(seen.values()), seen


def _is_valid_iris(content: bytes) -> bool:
    try:
        (tensor,) = json.loads(content)["inputs"]
    except (ValueError, KeyError, TypeError):
        return False
    data = tensor.get("data")
    return (
        tensor.get("name") == "input-0"
        and tensor.get("datatype") == "FP32"
        and isinstance(data, list)
        and tensor.get("shape") == [len(data) // 4, 4]
        and len(data) % 4 == 0
        and all(isinstance(v, float) and math.isfinite(v) and 0.5 <= v <= 4.0 for v in data)
    )


@pytest.mark.parametrize("target", TARGETS)
def test_no_v2_body_gets_a_5xx(request: pytest.FixtureRequest, target: str) -> None:
    answered: dict[int, int] = {}
    with httpx.Client(base_url=endpoint(request, target).url, timeout=httpx.Timeout(20.0)) as client:

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            print_blob=True,  # a failure prints the @reproduce_failure line that replays it
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(bodies)
        def post(body: tuple[bytes, dict[str, str]]) -> None:
            content, headers = body
            try:
                response = client.post(DEFAULT_PATH, content=content, headers=headers)
            except httpx.TransportError as exc:
                pytest.fail(f"{type(exc).__name__} for {content[:200]!r}: {exc}")
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            check_answer(response)

        post()
    assert sum(answered.values()) >= MAX_EXAMPLES
    assert 200 in answered and any(400 <= status < 500 for status in answered), answered

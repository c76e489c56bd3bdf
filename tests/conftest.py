"""Shared fixtures: the committed iris artifacts and in-process KServe apps (no sockets, no Ray)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
IRIS_V1 = REPO_ROOT / "models" / "iris" / "v1"
IRIS_V2 = REPO_ROOT / "models" / "iris" / "v2"

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


def pytest_configure(config: pytest.Config) -> None:
    # KServe logs every 4xx with a traceback; keep test output readable.
    logging.getLogger("kserve").setLevel(logging.CRITICAL)


def v2_tensor_request(rows: list[list[Any]], name: str = "input-0", **extra: Any) -> dict[str, Any]:
    flat = [value for row in rows for value in row]
    return {
        "inputs": [{"name": name, "shape": [len(rows), len(rows[0]) if rows else 4], "datatype": "FP32", "data": flat}],
        **extra,
    }


def v2_feature_request(records: list[dict[str, Any]]) -> dict[str, Any]:
    names = list(records[0])
    return {
        "inputs": [
            {"name": name, "shape": [len(records)], "datatype": "FP32", "data": [record[name] for record in records]}
            for name in names
        ]
    }


@pytest.fixture(scope="session")
def sklearn_model() -> Any:
    from predictors.sklearn import SklearnModel

    model = SklearnModel("iris", str(IRIS_V1))
    model.load()
    return model


@pytest.fixture(scope="session")
def predictor_client(sklearn_model: Any) -> Any:
    from fastapi.testclient import TestClient

    from predictors.serving import build_rest_app

    with TestClient(build_rest_app([sklearn_model])) as client:
        yield client


@pytest.fixture(scope="session")
def transformer_client(sklearn_model: Any) -> Any:
    """The transformer in-process, its predict() calling the predictor model directly."""
    from fastapi.testclient import TestClient

    from predictors.artifact import read_metadata
    from predictors.serving import build_rest_app
    from transformers.iris import IrisTransformer

    transformer = IrisTransformer("iris", read_metadata(IRIS_V1))

    async def predict_in_process(payload: Any, headers: Any = None) -> Any:
        response, _ = await sklearn_model(payload, headers)
        return response

    transformer.predict = predict_in_process  # type: ignore[method-assign]
    with TestClient(build_rest_app([transformer])) as client:
        yield client

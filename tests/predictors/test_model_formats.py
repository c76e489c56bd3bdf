"""The kit's predictors for KServe's model formats, in-process: V1, V2 and real metadata.

* sklearn in KServe's layout (a lone ``model.joblib``, ``.pkl`` or ``.pickle``, no metadata.json);
* the wine classifier, fitted on string labels: answers labels (V2 ``BYTES``), not a 500;
* XGBoost and LightGBM boosters (the optional extras): ``output-0`` is the booster's prediction,
  class probabilities ``[N, 3]`` for these multi-class models, as KServe's xgbserver / lgbserver answer.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from predictors.serving import build_rest_app
from tests.conftest import IRIS_V1, REPO_ROOT, SETOSA, VIRGINICA, v2_tensor_request

ROWS = [list(SETOSA.values()), list(VIRGINICA.values())]
WINE_V1 = REPO_ROOT / "models" / "wine" / "v1"
XGBOOST_V1 = REPO_ROOT / "models" / "xgboost-iris" / "v1"
LIGHTGBM_V1 = REPO_ROOT / "models" / "lightgbm-iris" / "v1"
# Rows 0 (class_0), 59 (class_1) and 130 (class_2) of scikit-learn's wine data.
WINE_ROWS = [
    [14.23, 1.71, 2.43, 15.6, 127.0, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065.0],
    [12.37, 0.94, 1.36, 10.6, 88.0, 1.98, 0.57, 0.28, 0.42, 1.95, 1.05, 1.82, 520.0],
    [12.86, 1.35, 2.32, 18.0, 122.0, 1.51, 1.25, 0.21, 0.94, 4.1, 0.76, 1.29, 630.0],
]


def needs(module: str) -> Any:
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"{module} is not installed: pip install 'isvc-kit[{module}]' (make setup installs every extra)",
    )


def client_for(model: Any) -> TestClient:
    model.load()
    return TestClient(build_rest_app([model]))


@pytest.mark.parametrize("filename", ["model.joblib", "model.pkl", "model.pickle"])
def test_sklearn_kserve_layout_any_extension(tmp_path: Path, filename: str) -> None:
    from predictors.sklearn import SklearnModel

    shutil.copy(IRIS_V1 / "model.joblib", tmp_path / filename)
    with client_for(SklearnModel("sklearn-iris", str(tmp_path))) as client:
        v1 = client.post("/v1/models/sklearn-iris:predict", json={"instances": ROWS})
        assert v1.json() == {"predictions": [0, 2]}
        v2 = client.post("/v2/models/sklearn-iris/infer", json=v2_tensor_request(ROWS)).json()
        assert v2["outputs"][0]["data"] == [0, 2] and v2["outputs"][0]["datatype"] == "INT64"
        metadata = client.get("/v2/models/sklearn-iris").json()
        assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
        assert [(o["name"], o["datatype"]) for o in metadata["outputs"]] == [
            ("output-0", "INT64"),
            ("probabilities", "FP32"),
        ]


def test_sklearn_missing_model_file_is_kserves_error(tmp_path: Path) -> None:
    from kserve.errors import ModelMissingError

    from predictors.sklearn import SklearnModel

    with pytest.raises(ModelMissingError):
        SklearnModel("m", str(tmp_path)).load()


def test_wine_answers_string_labels_v1_and_v2() -> None:
    from predictors.sklearn import SklearnModel

    with client_for(SklearnModel("wine", str(WINE_V1))) as client:
        v1 = client.post("/v1/models/wine:predict", json={"instances": WINE_ROWS})
        assert v1.status_code == 200, v1.text
        assert v1.json() == {"predictions": ["class_0", "class_1", "class_2"]}
        body = v2_tensor_request(WINE_ROWS, parameters={"return_probabilities": True})
        v2 = client.post("/v2/models/wine/infer", json=body)
        assert v2.status_code == 200, v2.text
        outputs = {o["name"]: o for o in v2.json()["outputs"]}
        assert outputs["output-0"] == {
            "name": "output-0",
            "shape": [3],
            "datatype": "BYTES",
            "data": ["class_0", "class_1", "class_2"],
        }
        assert outputs["probabilities"]["shape"] == [3, 3]
        metadata = client.get("/v2/models/wine").json()
        assert metadata["inputs"][0]["shape"] == [-1, 13]
        assert metadata["outputs"][0] == {"name": "output-0", "datatype": "BYTES", "shape": [-1]}
        wrong = client.post("/v2/models/wine/infer", json=v2_tensor_request(ROWS))
        assert wrong.status_code == 400 and "expected 13 features" in wrong.json()["error"]


def _booster_checks(client: TestClient, name: str, datatype: str) -> None:
    v1 = client.post(f"/v1/models/{name}:predict", json={"instances": ROWS})
    assert v1.status_code == 200, v1.text
    probabilities = v1.json()["predictions"]
    assert [len(row) for row in probabilities] == [3, 3]
    assert [max(range(3), key=row.__getitem__) for row in probabilities] == [0, 2]
    assert all(abs(sum(row) - 1.0) < 1e-5 for row in probabilities)
    v2 = client.post(f"/v2/models/{name}/infer", json=v2_tensor_request(ROWS)).json()
    assert v2["outputs"][0]["name"] == "output-0"
    assert v2["outputs"][0]["shape"] == [2, 3] and v2["outputs"][0]["datatype"] == datatype
    metadata = client.get(f"/v2/models/{name}").json()
    assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [{"name": "output-0", "datatype": datatype, "shape": [-1, 3]}]
    bad = client.post(f"/v2/models/{name}/infer", json=v2_tensor_request([[1.0, 2.0]]))
    assert bad.status_code == 400 and "expected 4 features" in bad.json()["error"]
    asked = client.post(f"/v2/models/{name}/infer", json=v2_tensor_request(ROWS, outputs=[{"name": "probabilities"}]))
    assert asked.status_code == 400 and "unknown requested output 'probabilities'" in asked.json()["error"]


@needs("xgboost")
def test_xgboost_booster_v1_v2_metadata() -> None:
    from predictors.xgb import XGBoostModel

    with client_for(XGBoostModel("xgboost-iris", str(XGBOOST_V1))) as client:
        _booster_checks(client, "xgboost-iris", "FP32")


@needs("xgboost")
@pytest.mark.filterwarnings("ignore:.*Saving model in the UBJSON format as default")  # .bst: xgboost's default
@pytest.mark.parametrize("extension", [".bst", ".ubj"])
def test_xgboost_reads_each_booster_file_kserve_does(extension: str, tmp_path: Path) -> None:
    """KServe's xgbserver loads ``model.bst``, ``model.json`` or ``model.ubj`` (the committed one is JSON)."""
    import xgboost

    from predictors.xgb import XGBoostModel

    booster = xgboost.Booster(model_file=str(XGBOOST_V1 / "model.json"))
    booster.save_model(str(tmp_path / f"model{extension}"))
    with client_for(XGBoostModel("xgboost-iris", str(tmp_path))) as client:
        _booster_checks(client, "xgboost-iris", "FP32")


@needs("lightgbm")
def test_lightgbm_booster_v1_v2_metadata() -> None:
    from predictors.lgb import LightGBMModel

    with client_for(LightGBMModel("lightgbm-iris", str(LIGHTGBM_V1))) as client:
        _booster_checks(client, "lightgbm-iris", "FP64")


def test_missing_extra_says_what_to_install() -> None:
    from predictors.boosters import MissingExtraError, import_extra

    with pytest.raises(MissingExtraError, match=r"needs no_such_booster_lib: pip install 'isvc-kit\[xgboost\]'"):
        import_extra("no_such_booster_lib", "xgboost")

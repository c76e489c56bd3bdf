"""Model-format InferenceServices: ``spec.predictor.model`` and the shorthand, parsed and served locally.

Unit part (no Ray): the spec maps onto the kit's entrypoint for the format, as KServe's built-in
runtimes start (``--model_name={{.Name}} --model_dir=...``), and says why when it cannot.
Ray part (``ray`` marker, the session's runtime): KServe's own first-InferenceService YAML with
``storageUri`` as a local path, as ``file://``, as ``pvc://`` and as ``http://`` from a loopback server,
answers V1 and V2;
the http download happens once and a later revision loads from the cache with the server gone; the
XGBoost, LightGBM and wine (string labels) manifests answer too.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from local.errors import SpecError
from local.spec import entrypoint_of, load_documents, load_inference_services, unhonoured_fields
from predictors.storage import StorageSettings, cache_entry
from tests.conftest import IRIS_V1, REPO_ROOT, SETOSA, VIRGINICA, apply_yaml, v2_tensor_request
from tests.predictors.loopback import serve_directory

ROWS = [list(SETOSA.values()), list(VIRGINICA.values())]
WINE_ROWS = [
    [14.23, 1.71, 2.43, 15.6, 127.0, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065.0],
    [12.86, 1.35, 2.32, 18.0, 122.0, 1.51, 1.25, 0.21, 0.94, 4.1, 0.76, 1.29, 630.0],
]
API = "/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices"


def tutorial(storage_uri: str, name: str = "sklearn-iris", format_name: str = "sklearn", **model: Any) -> str:
    """KServe's "first InferenceService" (docs/get_started/first_isvc), with another storageUri."""
    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"model": {"modelFormat": {"name": format_name}, "storageUri": storage_uri, **model}}},
    }
    return yaml.safe_dump(document, sort_keys=False)


def predictor(text: str) -> tuple[str, Any]:
    service = load_documents(text)[0]
    return service.name, service.spec.predictor


def entry(text: str) -> tuple[str, tuple[str, ...]]:
    name, component = predictor(text)
    found = entrypoint_of(component, "spec.predictor", name)
    return found.module, found.args


def spec_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        entry(text)
    return str(info.value)


# --- the spec -> the kit's entrypoint ----------------------------------------------------------------


def test_tutorial_maps_onto_the_sklearn_predictor_named_after_the_service() -> None:
    uri = "gs://kfserving-examples/models/sklearn/1.0/model"
    assert entry(tutorial(uri)) == (
        "predictors.sklearn",
        ("--model_name=sklearn-iris", f"--model_dir={uri}"),
    )


@pytest.mark.parametrize(
    ("format_name", "module", "extra"),
    [
        ("sklearn", "predictors.sklearn", ()),
        ("xgboost", "predictors.xgb", ("--nthread=1",)),
        ("lightgbm", "predictors.lgb", ("--nthread=1",)),
        ("XGBoost", "predictors.xgb", ("--nthread=1",)),
    ],
)
def test_each_format_and_its_shorthand(format_name: str, module: str, extra: tuple[str, ...]) -> None:
    by_format = tutorial("s3://bucket/m", format_name=format_name)
    expected = (module, ("--model_name=sklearn-iris", "--model_dir=s3://bucket/m", *extra))
    assert entry(by_format) == expected
    shorthand = yaml.safe_load(tutorial("s3://bucket/m"))
    shorthand["spec"]["predictor"] = {format_name.lower(): {"storageUri": "s3://bucket/m"}}
    assert entry(yaml.safe_dump(shorthand)) == expected


def test_runtime_protocol_and_args() -> None:
    text = tutorial("pvc://claim/m", runtime="kserve-sklearnserver", protocolVersion="v2", args=["--workers=1"])
    assert entry(text)[1][-1] == "--workers=1"
    assert entry(tutorial("pvc://claim/m", runtime="kserve-mlserver"))[0] == "predictors.sklearn"
    assert "no local equivalent" in spec_error(tutorial("x", runtime="my-custom-runtime"))
    with pytest.raises(SpecError, match="protocolVersion"):
        load_documents(tutorial("x", protocolVersion="v3"))


def test_what_cannot_be_served_says_why() -> None:
    assert "'onnx' has no local runtime" in spec_error(tutorial("x", format_name="onnx"))
    assert "storageUri: required" in spec_error(tutorial("").replace("storageUri: ''", "runtimeVersion: '1'"))
    pytorch = yaml.safe_load(tutorial("x"))
    pytorch["spec"]["predictor"] = {"pytorch": {"storageUri": "gs://b/m"}}
    assert "the pytorch format has no local runtime" in spec_error(yaml.safe_dump(pytorch))
    both = yaml.safe_load(tutorial("x"))
    both["spec"]["predictor"]["sklearn"] = {"storageUri": "y"}
    assert "exactly one of model, sklearn, xgboost, lightgbm" in spec_error(yaml.safe_dump(both))
    container = yaml.safe_load(tutorial("x"))
    container["spec"]["predictor"]["containers"] = [{"name": "kserve-container", "command": ["python", "-m", "m"]}]
    assert "not both" in spec_error(yaml.safe_dump(container))


def test_fields_not_acted_on_are_warned_about() -> None:
    text = tutorial("x", resources={"limits": {"cpu": "1"}}, env=[{"name": "PREDICT_PROBA", "value": "true"}])
    assert unhonoured_fields(load_documents(text)[0]) == ["spec.predictor.model.env", "spec.predictor.model.resources"]


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("wine.yaml", "predictors.sklearn"),
        ("xgboost-iris.yaml", "predictors.xgb"),
        ("lightgbm-iris.yaml", "predictors.lgb"),
    ],
)
def test_committed_model_format_manifests(name: str, module: str) -> None:
    service = load_inference_services(REPO_ROOT / "manifests" / name)[0]
    found = entrypoint_of(service.spec.predictor, "spec.predictor", service.name)
    assert found.module == module
    assert found.args[0] == f"--model_name={service.name}"
    assert (REPO_ROOT / found.args[1].removeprefix("--model_dir=")).is_dir()


# --- served by the Ray runtime -----------------------------------------------------------------------


def needs(module: str) -> Any:
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"{module} is not installed: pip install 'isvc-kit[{module}]' (make setup installs every extra)",
    )


@pytest.fixture(scope="module")
def served(ray_gateway: Any) -> Any:
    """Apply YAML to the session runtime; every service applied here is deleted at the end."""
    names: list[str] = []

    def apply(text: str) -> dict[str, Any]:
        resource = apply_yaml(ray_gateway, text)
        names.append(resource["metadata"]["name"])
        return resource

    yield apply
    for name in dict.fromkeys(names):
        httpx.delete(f"{ray_gateway.url}{API}/{name}", timeout=120)


@pytest.fixture(scope="module")
def client(ray_gateway: Any) -> Any:
    with httpx.Client(base_url=ray_gateway.url, timeout=120.0) as http:
        yield http


def kserve_layout(directory: Path) -> Path:
    """A model directory as KServe's tutorial has it: a lone model.joblib, no metadata.json."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(IRIS_V1 / "model.joblib", directory / "model.joblib")
    return directory


def ready(resource: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in resource["status"]["conditions"])


def assert_iris_answers(client: httpx.Client, name: str) -> None:
    v1 = client.post(f"/v1/models/{name}:predict", json={"instances": ROWS})
    assert v1.status_code == 200, v1.text
    assert v1.json() == {"predictions": [0, 2]}
    v2 = client.post(f"/v2/models/{name}/infer", json=v2_tensor_request(ROWS))
    assert v2.status_code == 200, v2.text
    output = v2.json()["outputs"][0]
    assert (output["name"], output["datatype"], output["data"]) == ("output-0", "INT64", [0, 2])
    metadata = client.get(f"/v2/models/{name}").json()
    assert metadata["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in metadata["outputs"]] == ["output-0", "probabilities"]


@pytest.mark.ray
@pytest.mark.parametrize("form", ["path", "file-uri", "pvc"])
def test_tutorial_with_a_local_model_directory(form: str, served: Any, client: httpx.Client, tmp_path: Path) -> None:
    """A local path, a file:// URI, and pvc://CLAIM/path under the default claim root .isvc/pvc."""
    claim = f"test-claim-{uuid.uuid4().hex[:8]}"
    claim_root = REPO_ROOT / ".isvc" / "pvc" / claim  # replicas run where the runtime was started: here
    if form == "pvc":
        kserve_layout(claim_root / "sklearn" / "model")
        uri = f"pvc://{claim}/sklearn/model"
    else:
        directory = kserve_layout(tmp_path / "model")
        uri = str(directory) if form == "path" else directory.as_uri()
    name = f"sklearn-iris-{form}"
    try:
        resource = served(tutorial(uri, name=name))
        assert ready(resource), resource["status"]
        assert_iris_answers(client, name)
    finally:
        shutil.rmtree(claim_root, ignore_errors=True)


@pytest.mark.ray
def test_tutorial_over_http_downloads_once_and_later_revisions_use_the_cache(
    served: Any, client: httpx.Client, tmp_path: Path
) -> None:
    unique = uuid.uuid4().hex  # a fresh URI: nothing of an earlier run in the cache
    kserve_layout(tmp_path / "www" / unique)
    name = "sklearn-iris-http"
    with serve_directory(tmp_path / "www") as (base, hits):
        uri = f"{base}/{unique}/model.joblib"
        first = served(tutorial(uri, name=name))
        assert ready(first), first["status"]
        assert hits == [f"/{unique}/model.joblib"]
        assert_iris_answers(client, name)
    # A new revision (a spec change) with the server gone: its replica loads from the download cache.
    second = yaml.safe_load(tutorial(uri, name=name))
    second["spec"]["predictor"]["maxReplicas"] = 2
    status = served(yaml.safe_dump(second))["status"]
    assert status["components"]["predictor"]["latestReadyRevision"] == f"{name}-predictor-00002"
    assert_iris_answers(client, name)
    assert hits == [f"/{unique}/model.joblib"]
    entry = cache_entry(uri, REPO_ROOT / StorageSettings.from_env().cache_dir)  # replicas run in REPO_ROOT
    assert (entry / "model.joblib").is_file() and (entry / ".uri").read_text().strip() == uri
    shutil.rmtree(entry)


@pytest.mark.ray
def test_wine_answers_string_labels(served: Any, client: httpx.Client) -> None:
    resource = served((REPO_ROOT / "manifests" / "wine.yaml").read_text())
    assert ready(resource), resource["status"]
    v1 = client.post("/v1/models/wine:predict", json={"instances": WINE_ROWS})
    assert v1.status_code == 200, v1.text
    assert v1.json() == {"predictions": ["class_0", "class_2"]}
    v2 = client.post("/v2/models/wine/infer", json=v2_tensor_request(WINE_ROWS))
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["datatype"] == "BYTES"
    assert v2.json()["outputs"][0]["data"] == ["class_0", "class_2"]


@pytest.mark.ray
@pytest.mark.parametrize(
    ("manifest", "datatype"),
    [
        pytest.param("xgboost-iris.yaml", "FP32", marks=needs("xgboost")),
        pytest.param("lightgbm-iris.yaml", "FP64", marks=needs("lightgbm")),
    ],
)
def test_booster_services_answer_probabilities(manifest: str, datatype: str, served: Any, client: httpx.Client) -> None:
    resource = served((REPO_ROOT / "manifests" / manifest).read_text())
    assert ready(resource), resource["status"]
    name = resource["metadata"]["name"]
    v1 = client.post(f"/v1/models/{name}:predict", json={"instances": ROWS})
    assert v1.status_code == 200, v1.text
    assert [max(range(3), key=row.__getitem__) for row in v1.json()["predictions"]] == [0, 2]
    v2 = client.post(f"/v2/models/{name}/infer", json=v2_tensor_request(ROWS))
    assert v2.status_code == 200, v2.text
    output = v2.json()["outputs"][0]
    assert (output["name"], output["shape"], output["datatype"]) == ("output-0", [2, 3], datatype)
    metadata = client.get(f"/v2/models/{name}").json()
    assert metadata["outputs"] == [{"name": "output-0", "datatype": datatype, "shape": [-1, 3]}]

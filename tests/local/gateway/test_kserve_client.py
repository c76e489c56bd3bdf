"""KServe's own Python SDK drives ``isvc up`` as it drives a cluster (ray tier).

``KServeClient`` is pointed at the gateway with an ordinary kubeconfig (a cluster whose server is the
gateway's URL) and goes through create, wait_isvc_ready, get, patch (a canary), wait for the patched
generation, replace with ``watch=True`` (its ``isvc_watch`` reads the API's watch stream) and delete,
unchanged; the namespace in its paths is honoured.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import IRIS_V1, IRIS_V2

pytestmark = pytest.mark.ray

NAME, NAMESPACE, MODEL = "kclient", "team-k", "kclient"


def kubeconfig(server: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "isvc-up", "cluster": {"server": server}}],
        "users": [{"name": "local", "user": {}}],
        "contexts": [{"name": "isvc-up", "context": {"cluster": "isvc-up", "user": "local", "namespace": NAMESPACE}}],
        "current-context": "isvc-up",
    }


class SdkBody(dict[str, Any]):
    """KServe's model object as the installed Kubernetes client accepts it.

    kubernetes >= 36 validates ``body`` of ``CustomObjectsApi`` calls as a dict (pydantic
    ``validate_call``) and refuses KServe's ``V1beta1InferenceService``, against any server; the SDK
    itself reads ``.api_version`` and ``.metadata.resource_version`` of what it is given. This is the
    sanitized object (what the client would send) with those two attributes.
    """

    class _Metadata:
        def __init__(self, body: SdkBody) -> None:
            self._body = body

        @property
        def resource_version(self) -> str | None:
            value: str | None = self._body["metadata"].get("resourceVersion")
            return value

        @resource_version.setter
        def resource_version(self, value: str) -> None:
            self._body["metadata"]["resourceVersion"] = value

    @property
    def api_version(self) -> str:
        return str(self["apiVersion"])

    @property
    def metadata(self) -> SdkBody._Metadata:
        return SdkBody._Metadata(self)


def inference_service(model_dir: str, canary: int | None = None) -> SdkBody:
    from kserve import V1beta1InferenceService, V1beta1InferenceServiceSpec, V1beta1PredictorSpec
    from kserve.api_client import ApiClient  # the SDK's own serializer of its models
    from kubernetes.client import V1Container, V1ObjectMeta

    container = V1Container(
        name="kserve-container",
        image="isvc-kit/predictor:0.1.0",
        command=["python", "-m", "predictors.sklearn"],
        args=[f"--model_name={MODEL}", f"--model_dir={model_dir}"],
    )
    isvc = V1beta1InferenceService(
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        metadata=V1ObjectMeta(name=NAME, namespace=NAMESPACE),
        spec=V1beta1InferenceServiceSpec(
            predictor=V1beta1PredictorSpec(min_replicas=1, canary_traffic_percent=canary, containers=[container])
        ),
    )
    return SdkBody(ApiClient().sanitize_for_serialization(isvc))


@pytest.fixture
def kserve_client(ray_gateway: Any) -> Iterator[Any]:
    from kserve import KServeClient
    from kubernetes.client import Configuration

    saved = Configuration.get_default_copy()
    try:
        yield KServeClient(config_dict=kubeconfig(ray_gateway.url))
    finally:
        Configuration.set_default(saved)
        httpx.delete(
            f"{ray_gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{NAME}",
            timeout=120,
        )


def traffic(resource: dict[str, Any]) -> dict[str, int]:
    return {t.get("tag") or "": t["percent"] for t in resource["status"]["components"]["predictor"]["traffic"]}


def test_kserve_client_create_patch_wait_replace_delete(
    kserve_client: Any, ray_gateway: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    created = kserve_client.create(inference_service(str(IRIS_V1)), namespace=NAMESPACE)
    assert created["metadata"]["generation"] == 1 and created["metadata"]["namespace"] == NAMESPACE
    kserve_client.wait_isvc_ready(NAME, namespace=NAMESPACE, polling_interval=1, timeout_seconds=120)
    got = kserve_client.get(NAME, namespace=NAMESPACE)
    assert got["status"]["observedGeneration"] == 1 and got["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(RuntimeError, match=r"\(404\)"):
        kserve_client.get(NAME, namespace="elsewhere")
    listed = kserve_client.get(namespace=NAMESPACE)
    assert [item["metadata"]["name"] for item in listed["items"]] == [NAME]

    # A canary: a new revision takes 20%, the rolled-out one keeps 80% (KServe's canaryTrafficPercent).
    patched = kserve_client.patch(NAME, inference_service(str(IRIS_V2), canary=20), namespace=NAMESPACE)
    assert patched["metadata"]["generation"] == 2
    kserve_client.wait_isvc_ready(
        NAME, namespace=NAMESPACE, polling_interval=1, timeout_seconds=120, expected_generation=2
    )
    canary = kserve_client.get(NAME, namespace=NAMESPACE)
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert traffic(canary) == {"": 20, "prev": 80}  # no tag routing: only the rolled-out one is tagged
    assert kserve_client.is_isvc_ready(NAME, namespace=NAMESPACE, expected_generation=2)
    assert not kserve_client.is_isvc_ready(NAME, namespace=NAMESPACE, expected_generation=3)

    # Promote by replace (it reads the resourceVersion first) and watch the new generation become ready.
    capsys.readouterr()
    kserve_client.replace(NAME, inference_service(str(IRIS_V2)), namespace=NAMESPACE, watch=True, timeout_seconds=60)
    watched = capsys.readouterr().out.split("\n")
    assert any(line.split()[:2] == [NAME, "True"] for line in watched), watched
    promoted = kserve_client.get(NAME, namespace=NAMESPACE)
    assert promoted["metadata"]["generation"] == 3 and promoted["status"]["observedGeneration"] == 3
    assert sum(traffic(promoted).values()) == 100 and len(traffic(promoted)) == 1
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [6.7, 3.0, 5.2, 2.3]}]}
    answer = httpx.post(f"{ray_gateway.url}/v2/models/{MODEL}/infer", json=body, timeout=60)
    assert answer.status_code == 200 and answer.headers["x-isvc-predictor-revision"] == f"{NAME}-predictor-00002"

    deleted = kserve_client.delete(NAME, namespace=NAMESPACE)
    assert deleted["status"] == "Success"
    with pytest.raises(RuntimeError, match=r"\(404\)"):
        kserve_client.get(NAME, namespace=NAMESPACE)

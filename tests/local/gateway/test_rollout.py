"""Revisions and canary rollouts with KServe's semantics on the local runtime (Ray tier).

KServe (Knative mode): a spec change makes revision ``{isvc}-{component}-0000N``;
``canaryTrafficPercent: P`` sends P% to the newest ready revision and the rest to
``latestRolledoutRevision`` (tag prev); promotion moves latestRolledout/previousRolledout; P = 0 rolls
back; a revision that fails to load never receives traffic.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import yaml

from local.cli.main import main as isvc
from tests.conftest import SETOSA, apply_yaml, iris_manifest

pytestmark = pytest.mark.ray
NAME = "flower"
REVISION_HEADER = "x-isvc-predictor-revision"


def flower(model_dir: str = "models/iris/v1", percent: int | None = None, **annotations: str) -> str:
    document = yaml.safe_load(iris_manifest(NAME, NAME, **annotations))
    predictor = document["spec"]["predictor"]
    args = predictor["containers"][0]["args"]
    predictor["containers"][0]["args"] = [
        a if not a.startswith("--model_dir=") else f"--model_dir={model_dir}" for a in args
    ]
    if percent is not None:
        predictor["canaryTrafficPercent"] = percent
    for component in ("transformer", "predictor"):
        document["spec"][component].pop("logger", None)
    return yaml.safe_dump(document)


def served_by(gateway: Any, count: int, workers: int = 8) -> Counter[str]:
    body = {"instances": [SETOSA]}
    with httpx.Client(base_url=gateway.url, timeout=60) as client:

        def one(_: int) -> str:
            response = client.post(f"/v1/models/{NAME}:predict", json=body)
            assert response.status_code == 200, response.text
            return response.headers[REVISION_HEADER]

        with ThreadPoolExecutor(workers) as pool:
            return Counter(pool.map(one, range(count)))


def predictor_status(gateway: Any) -> dict[str, Any]:
    resource = httpx.get(
        f"{gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/{NAME}", timeout=30
    ).json()
    status: dict[str, Any] = resource["status"]["components"]["predictor"]
    return status


@pytest.fixture(scope="module")
def rolled_out_v1(ray_gateway: Any) -> Any:
    resource = apply_yaml(
        ray_gateway, flower("models/iris/v1", None, **{"serving.kserve.io/enable-tag-routing": "true"})
    )
    assert resource["status"]["components"]["predictor"]["latestRolledoutRevision"] == "flower-predictor-00001"
    yield ray_gateway
    isvc(["delete", NAME, "--server", ray_gateway.url])


def test_full_cycle_canary_promote_rollback(rolled_out_v1: Any, capsys: pytest.CaptureFixture[str]) -> None:
    gateway = rolled_out_v1
    tag_routing = {"serving.kserve.io/enable-tag-routing": "true"}
    apply_yaml(gateway, flower("models/iris/v2", 20, **tag_routing))
    status = predictor_status(gateway)
    assert status["latestCreatedRevision"] == status["latestReadyRevision"] == "flower-predictor-00002"
    assert status["latestRolledoutRevision"] == "flower-predictor-00001"
    assert status["traffic"] == [
        {"revisionName": "flower-predictor-00002", "percent": 20, "latestRevision": True, "tag": "latest"},
        {"revisionName": "flower-predictor-00001", "percent": 80, "latestRevision": False, "tag": "prev"},
    ]
    counts = served_by(gateway, 2000)
    assert set(counts) == {"flower-predictor-00001", "flower-predictor-00002"}
    share = counts["flower-predictor-00002"] / 2000
    assert 0.17 <= share <= 0.23, counts  # 20% +- 3 points

    # Tag routing (annotation on): latest and prev are reachable directly.
    for tag, revision in (("latest", "flower-predictor-00002"), ("prev", "flower-predictor-00001")):
        response = httpx.post(
            f"{gateway.url}/v1/models/{NAME}:predict",
            json={"instances": [SETOSA]},
            headers={"x-isvc-tag": tag},
            timeout=30,
        )
        assert response.headers[REVISION_HEADER] == revision

    assert isvc(["rollout", "promote", NAME, "--server", gateway.url]) == 0
    status = predictor_status(gateway)
    assert status["latestRolledoutRevision"] == "flower-predictor-00002"
    assert status["previousRolledoutRevision"] == "flower-predictor-00001"
    assert served_by(gateway, 200) == Counter({"flower-predictor-00002": 200})

    assert isvc(["rollout", "rollback", NAME, "--server", gateway.url]) == 0
    status = predictor_status(gateway)
    assert status["latestRolledoutRevision"] == "flower-predictor-00001"
    assert served_by(gateway, 200) == Counter({"flower-predictor-00001": 200})

    capsys.readouterr()
    assert isvc(["rollout", "history", NAME, "--server", gateway.url, "-o", "json"]) == 0
    history = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert history["flower-predictor-00001"]["traffic"] == 100
    assert "rolled-out" in history["flower-predictor-00001"]["role"]
    assert history["flower-predictor-00002"]["traffic"] == 0
    assert history["flower-transformer-00001"]["ready"] is True


def test_failing_revision_gets_no_traffic_and_status_says_why(
    rolled_out_v1: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = rolled_out_v1
    before = predictor_status(gateway)
    tag_routing = {"serving.kserve.io/enable-tag-routing": "true"}
    path = tmp_path / "missing.yaml"
    path.write_text(flower("models/iris/missing", 50, **tag_routing))
    capsys.readouterr()
    assert isvc(["apply", "-f", str(path), "--server", gateway.url]) == 1  # applied, not Ready
    assert "(Ready=False)" in capsys.readouterr().out
    resource = httpx.get(
        f"{gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/{NAME}", timeout=30
    ).json()
    failed = resource["status"]["components"]["predictor"]["latestCreatedRevision"]
    ready = next(c for c in resource["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "RevisionFailed" and ready["message"].startswith(f'Revision "{failed}" failed')
    assert "models/iris/missing" in ready["message"]  # the load error of that revision
    status = predictor_status(gateway)
    assert status["latestReadyRevision"] != failed
    assert failed not in {t["revisionName"] for t in status["traffic"]}
    counts = served_by(gateway, 200)
    assert failed not in counts and sum(counts.values()) == 200
    # As Knative routes it: P% to the latest *ready* revision (the failed one is not), the rest to the rolled-out.
    assert set(counts) <= {before["latestRolledoutRevision"], status["latestReadyRevision"]}

    # A later revision that becomes ready clears the failure: it belonged to the failed revision.
    path.write_text(flower("models/iris/v2", 50, **tag_routing))
    assert isvc(["apply", "-f", str(path), "--server", gateway.url]) == 0
    resource = httpx.get(
        f"{gateway.url}/apis/serving.kserve.io/v1beta1/namespaces/_all/inferenceservices/{NAME}", timeout=30
    ).json()
    ready = next(c for c in resource["status"]["conditions"] if c["type"] == "Ready")
    assert ready == {"type": "Ready", "status": "True"}


def test_split_changes_under_load_without_a_failed_request(rolled_out_v1: Any) -> None:
    """Changing canaryTrafficPercent re-routes in place: no replica restart, no dropped request."""
    gateway = rolled_out_v1
    apply_yaml(gateway, flower("models/iris/v2", 20))
    failures: list[str] = []
    served: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=gateway.url, timeout=60) as client:
            while not stop.is_set():
                response = client.post(f"/v1/models/{NAME}:predict", json={"instances": [SETOSA]})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    served[response.headers[REVISION_HEADER]] += 1

    def served_at_least(count: int) -> None:
        deadline = time.monotonic() + 60
        while sum(served.values()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        served_at_least(30)
        for percent in (50, 100):
            assert isvc(["rollout", "canary", NAME, "--percent", str(percent), "--server", gateway.url]) == 0
            served_at_least(sum(served.values()) + 30)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert sum(served.values()) >= 90
    assert predictor_status(gateway)["traffic"][0]["percent"] == 100


def test_standard_mode_replaces_the_revision_whole_and_never_scales_to_zero(ray_gateway: Any) -> None:
    """Standard mode on Ray: canaryTrafficPercent is ignored and minReplicas 0 is 1, both with a warning."""
    name = "flower-std"

    def standard(model_dir: str, percent: int | None = None) -> str:
        document = yaml.safe_load(iris_manifest(name, name, **{"serving.kserve.io/deploymentMode": "Standard"}))
        for component in ("transformer", "predictor"):
            document["spec"][component].pop("logger", None)
            document["spec"][component]["minReplicas"] = 0
        predictor = document["spec"]["predictor"]
        args = predictor["containers"][0]["args"]
        predictor["containers"][0]["args"] = [
            f"--model_dir={model_dir}" if a.startswith("--model_dir=") else a for a in args
        ]
        if percent is not None:
            predictor["canaryTrafficPercent"] = percent
        return yaml.safe_dump(document)

    apply_yaml(ray_gateway, standard("models/iris/v1"))
    try:
        resource = apply_yaml(ray_gateway, standard("models/iris/v2", 20))
        status = resource["status"]
        assert status["deploymentMode"] == "Standard"
        assert status["components"]["predictor"] == {"url": f"{ray_gateway.url}/v2/models/{name}"}
        assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"
        warnings = status["localRuntime"]["warnings"]
        assert any(w.startswith("spec.predictor.canaryTrafficPercent: ignored in Standard mode") for w in warnings)
        assert any(w.startswith("spec.predictor.minReplicas: 0 becomes 1") for w in warnings)
        assert status["localRuntime"]["replicas"]["predictor"] >= 1
        with httpx.Client(base_url=ray_gateway.url, timeout=60) as client:
            served = Counter(
                client.post(f"/v1/models/{name}:predict", json={"instances": [SETOSA]}).headers[REVISION_HEADER]
                for _ in range(40)
            )
        assert served == Counter({f"{name}-predictor-00002": 40})  # no 20/80 split: the update is whole
    finally:
        isvc(["delete", name, "--server", ray_gateway.url])

"""Cluster tier: the whole canary cycle through local.cluster.ClusterClient on a real KServe cluster.

Runs where the current kubeconfig context (``KUBECONFIG`` or ~/.kube/config) reaches a cluster with the
InferenceService CRD and the kit's images (``make cluster-up images``); skipped with the reason elsewhere.
It creates its own InferenceService ``iris-rollout`` (manifests/iris.yaml renamed) in ``ISVC_CLUSTER_NAMESPACE``
(default ``isvc-kit``) and deletes it afterwards. ``ISVC_CLUSTER_TIMEOUT`` (seconds, default 300) bounds
each wait.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.cluster.client import ClusterClient
from local.cluster.rollout import (
    canary_applied,
    canary_patch,
    promote_patch,
    promoted,
    ready,
    revision_history,
    rollback_patch,
    rolled_back,
)
from local.errors import IsvcError, NotFoundError

pytestmark = pytest.mark.cluster

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests"
NAME = "iris-rollout"
NAMESPACE = os.environ.get("ISVC_CLUSTER_NAMESPACE", "isvc-kit")
TIMEOUT = float(os.environ.get("ISVC_CLUSTER_TIMEOUT", "300"))


def manifest(file: str) -> dict[str, Any]:
    document = yaml.safe_load((MANIFESTS / file).read_text())
    document["metadata"]["name"] = NAME
    document["metadata"]["namespace"] = NAMESPACE
    # tag routing makes `latest`/`prev` addressable and shows the tags in status.traffic
    document["metadata"].setdefault("annotations", {})["serving.kserve.io/enable-tag-routing"] = "true"
    return document


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterClient]:
    try:
        client = ClusterClient(NAMESPACE)
        has_kserve = client.has_kserve()
    except IsvcError as exc:
        pytest.skip(f"no usable cluster for the rollout cycle: {exc}")
    if not has_kserve:
        pytest.skip("the current kubeconfig context has no KServe InferenceService CRD (serving.kserve.io/v1beta1)")
    with contextlib.suppress(NotFoundError):
        client.delete_isvc(NAME)  # a leftover from an interrupted run
    yield client
    with contextlib.suppress(NotFoundError):
        client.delete_isvc(NAME)


def _wait_gone(cluster: ClusterClient) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            cluster.get_isvc(NAME)
        except NotFoundError:
            return
        time.sleep(2)
    pytest.fail(f"InferenceService {NAME!r} from an earlier run was not deleted within {TIMEOUT:g}s")


def test_canary_rollback_promote_cycle(cluster: ClusterClient) -> None:
    _wait_gone(cluster)

    # first deploy: 100% on revision 1 of each component, which becomes the rolled-out revision
    cluster.apply_isvc(manifest("iris.yaml"))
    status = cluster.wait_for(NAME, lambda s: ready()(s) and promoted("predictor")(s), TIMEOUT)
    first = status.component("predictor").latest_rolled_out
    assert first is not None
    assert status.component("predictor").percent_of(first) == 100

    # a new predictor revision (model v2) with canaryTrafficPercent 20: 20% latest, 80% prev
    cluster.apply_isvc(manifest("iris-canary.yaml"))
    status = cluster.wait_for(NAME, canary_applied("predictor", 20), TIMEOUT)
    predictor = status.component("predictor")
    second = predictor.latest_ready
    assert second is not None and second != first
    assert predictor.latest_rolled_out == first
    assert predictor.phase == "canary" and predictor.canary_traffic_percent == 20
    assert predictor.percent_of(second) == 20 and predictor.percent_of(first) == 80
    assert "prev" in predictor.tags_of(first)
    assert status.component("transformer").phase == "stable"  # only the predictor changed

    # move the split with the canary patch alone
    cluster.patch_isvc(NAME, canary_patch("predictor", 50))
    status = cluster.wait_for(NAME, canary_applied("predictor", 50), TIMEOUT)
    assert status.component("predictor").percent_of(first) == 50

    # roll back: 100% on the rolled-out revision, the canary stays with 0%
    cluster.patch_isvc(NAME, rollback_patch("predictor"))
    status = cluster.wait_for(NAME, rolled_back("predictor"), TIMEOUT)
    predictor = status.component("predictor")
    assert predictor.latest_rolled_out == first and predictor.percent_of(first) == 100
    assert predictor.percent_of(second) == 0 and predictor.phase == "rolled-back"

    # canary again, then promote: the field is removed, revision 2 rolls out, revision 1 becomes previous
    cluster.patch_isvc(NAME, canary_patch("predictor", 20))
    cluster.wait_for(NAME, canary_applied("predictor", 20), TIMEOUT)
    cluster.patch_isvc(NAME, promote_patch("predictor"))
    status = cluster.wait_for(NAME, promoted("predictor"), TIMEOUT)
    predictor = status.component("predictor")
    assert predictor.latest_rolled_out == second and predictor.previous_rolled_out == first
    assert predictor.percent_of(second) == 100 and predictor.phase == "stable"
    assert "canaryTrafficPercent" not in cluster.get_isvc(NAME)["spec"]["predictor"]

    # history: the Knative revisions of both components, with their roles
    rows = {row.name: row for row in revision_history(cluster.list_revisions(NAME), status)}
    assert rows[first].component == "predictor" and rows[first].role == "previous"
    assert rows[second].roles == ("latest", "rolled-out") and rows[second].traffic_percent == 100
    assert rows[second].created is not None and rows[second].ready is True
    assert any(row.component == "transformer" and row.traffic_percent == 100 for row in rows.values())

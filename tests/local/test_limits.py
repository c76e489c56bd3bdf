"""local/limits.py: Knative's queue bound and revision timeout per revision, planned from the spec."""

from __future__ import annotations

from typing import Any

import pytest

from local.autoscaling import LOCAL_MAX_REPLICAS
from local.errors import SpecError
from local.limits import ACTIVATOR_QUEUE_DEPTH, DEFAULT_TIMEOUT_S, RequestLimits, request_limits
from local.plan import Revision, plan_service
from local.spec import parse_inference_service


def latest_predictor(**fields: Any) -> Revision:
    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris"},
        "spec": {
            "predictor": {
                **fields,
                "containers": [{"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"]}],
            }
        },
    }
    revision = plan_service(parse_inference_service(document)).components["predictor"].state.latest
    assert revision is not None
    return revision


@pytest.mark.parametrize(
    ("concurrency", "max_replicas", "queued"),
    [
        (1, 1, 10),  # queue-proxy: queueDepth = 10 x containerConcurrency, one pod
        (32, 2, 640),  # two pods' queues
        (4, 0, 40),  # maxReplicas 0 means no limit: bounded by the pods there are at least (1)
        (0, 3, ACTIVATOR_QUEUE_DEPTH),  # no breaker in the pod: the activator's 10,000
    ],
)
def test_queue_bound_is_what_the_revisions_pods_would_queue(concurrency: int, max_replicas: int, queued: int) -> None:
    assert request_limits(concurrency, max_replicas, None, "spec.predictor").max_queued_requests == queued


def test_timeout_is_the_components_or_knatives_default() -> None:
    assert request_limits(1, 1, 2, "spec.predictor") == RequestLimits(10, 2.0)
    assert request_limits(1, 1, None, "spec.predictor").timeout_s == DEFAULT_TIMEOUT_S == 300
    assert request_limits(1, 1, 600, "spec.predictor").timeout_s == 600


def test_a_timeout_beyond_knatives_maximum_is_an_error_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec\.transformer\.timeout: 601 .*max-revision-timeout-seconds \(600\)"):
        request_limits(1, 1, 601, "spec.transformer")


def test_the_plan_gives_each_revision_its_limits_from_the_spec() -> None:
    slow = latest_predictor(containerConcurrency=1, maxReplicas=1, timeout=2)
    assert (slow.max_ongoing_requests, slow.max_queued_requests, slow.timeout_s) == (1, 10, 2.0)
    default = latest_predictor()
    assert (default.max_queued_requests, default.timeout_s) == (ACTIVATOR_QUEUE_DEPTH, 300.0)
    capped = latest_predictor(containerConcurrency=8)  # maxReplicas 0: the local cap
    assert capped.max_queued_requests == 10 * 8 * LOCAL_MAX_REPLICAS


def test_a_new_timeout_is_a_new_revision() -> None:
    """KServe writes ``timeout`` into the revision template: changing it makes a revision."""
    first = latest_predictor(timeout=30)
    second = latest_predictor(timeout=60)
    assert first.spec_hash != second.spec_hash


def test_the_limits_and_the_watch_import_no_ray() -> None:
    """Pure planning, and a watch that must work when Ray does not."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    check = (
        "import sys, local.limits, local.plan, local.ray_layer.watchdog; "
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray')); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr

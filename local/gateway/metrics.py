"""Prometheus metrics of the gateway: requests, errors and latency per InferenceService, component
and revision; running replicas per component revision. Exposed at ``/metrics`` with KServe's own."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "isvc_requests_total",
    "Inference requests by service, component, revision and status code",
    ["inferenceservice", "component", "revision", "code"],
)
ERRORS = Counter(
    "isvc_request_errors_total",
    "Inference requests answered with a status >= 400",
    ["inferenceservice", "component", "revision", "code"],
)
LATENCY = Histogram(
    "isvc_request_duration_seconds",
    "Latency of an inference through the service's revisions",
    ["inferenceservice", "component", "revision"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REPLICAS = Gauge(
    "isvc_replicas", "Running replicas per component revision", ["inferenceservice", "component", "revision"]
)


def observe_request(service: str, chosen: dict[str, str], code: str, seconds: float) -> None:
    for component, revision in chosen.items():
        REQUESTS.labels(service, component, revision, code).inc()
        if not code.startswith("2"):
            ERRORS.labels(service, component, revision, code).inc()
        LATENCY.labels(service, component, revision).observe(seconds)


def set_replicas(service: str, component: str, revision: str, count: int) -> None:
    REPLICAS.labels(service, component, revision).set(count)

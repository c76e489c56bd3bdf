"""Prometheus metrics of the gateway: requests, errors and latency per InferenceService, component
and revision; running replicas per component revision. Exposed at ``/metrics`` with KServe's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily

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


class _LoggerEventsCollector:
    """``isvc_logger_events_total{inferenceservice, component, outcome}`` from the gateway's loggers."""

    def __init__(self) -> None:
        self.controllers: list[Any] = []

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "isvc_logger_events",
            "Inference-log CloudEvents of the entry components, by outcome",
            labels=["inferenceservice", "component", "outcome"],
        )
        for controller in self.controllers:
            for name, entry in list(controller.services.items()):
                if entry.logger is None:
                    continue
                stats = entry.logger.stats()
                component = entry.logger.context.component
                for outcome in ("produced", "sent", "retried", "failed", "dropped"):
                    family.add_metric([name, component, outcome], getattr(stats, outcome))
        yield family


_LOGGER_EVENTS = _LoggerEventsCollector()


def expose_logger_events(controller: Any) -> None:
    """Publish the delivery counters of ``controller``'s loggers at /metrics (registered once)."""
    if not _LOGGER_EVENTS.controllers:
        REGISTRY.register(_LOGGER_EVENTS)
    _LOGGER_EVENTS.controllers = [controller]

"""Prometheus metrics of the gateway: requests, errors and latency per InferenceService, namespace,
component and revision (recorded on the request path); running replicas per revision and the loggers'
event counters (read from the controller at scrape time). Exposed at ``/metrics`` with KServe's own.

Every series carries ``namespace`` right after ``inferenceservice``: a service is identified by
(namespace, name), and two ``iris`` in ``default`` and ``team-a`` (``local.gateway.namespaces``) would
otherwise share series; revision names are unique per namespace only, so ``revision`` does not tell them
apart either. The label is ``namespace``, not Knative's ``namespace_name`` (the queue-proxy's
``revision_request_count`` and its kin, knative.dev "Service metrics"): ``namespace`` is what Prometheus'
Kubernetes relabelling conventionally writes, and what ``manifests/monitoring/prometheus-cluster.yaml``
writes on every series it scrapes (KServe's ``request_*_seconds`` included), so one dashboard selects
both by one label; the inference-log CloudEvents' extension has the same name.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from local import traffic

REQUESTS = Counter(
    "isvc_requests_total",
    "Inference requests by service, namespace, component, revision and status code",
    ["inferenceservice", "namespace", "component", "revision", "code"],
)
ERRORS = Counter(
    "isvc_request_errors_total",
    "Inference requests answered with a status >= 400",
    ["inferenceservice", "namespace", "component", "revision", "code"],
)
LATENCY = Histogram(
    "isvc_request_duration_seconds",
    "Latency of an inference through the service's revisions",
    ["inferenceservice", "namespace", "component", "revision"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(service: str, namespace: str, chosen: dict[str, str], code: str, seconds: float) -> None:
    """One request to ``namespace``/``service``, counted once for each revision that served it."""
    for component, revision in chosen.items():
        REQUESTS.labels(service, namespace, component, revision, code).inc()
        if not code.startswith("2"):
            ERRORS.labels(service, namespace, component, revision, code).inc()
        LATENCY.labels(service, namespace, component, revision).observe(seconds)


class _GatewayCollector:
    """Read at scrape time from the controller: replicas per revision and the loggers' event counters.

    ``isvc_replicas{inferenceservice, namespace, component, revision}`` (Serve's running replicas of each
    revision that receives traffic) and ``isvc_logger_events_total{inferenceservice, namespace, component,
    outcome}``.
    """

    def __init__(self) -> None:
        self._refs: list[weakref.ref[Any]] = []  # every live gateway of the process (one in isvc up)
        self.registered = False  # with prometheus_client's REGISTRY (once per process)

    @property
    def controllers(self) -> list[Any]:
        return [controller for ref in self._refs if (controller := ref()) is not None]

    @controllers.setter
    def controllers(self, value: list[Any]) -> None:
        self._refs = [weakref.ref(controller) for controller in value]

    def add(self, controller: Any) -> None:
        self.controllers = [c for c in self.controllers if c is not controller] + [controller]

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        replicas = GaugeMetricFamily(
            "isvc_replicas",
            "Running replicas per component revision",
            labels=["inferenceservice", "namespace", "component", "revision"],
        )
        events = CounterMetricFamily(
            "isvc_logger_events",
            "Inference-log CloudEvents of the entry components, by outcome",
            labels=["inferenceservice", "namespace", "component", "outcome"],
        )
        for controller in self.controllers:
            try:
                live = controller.live_statuses()  # a snapshot: no Ray call on the event loop
            except Exception:  # a gateway being torn down: the others still report
                continue
            for entry in controller.services.values():  # an immutable snapshot of records
                name, namespace = entry.service.name, entry.service.namespace
                per_revision = controller.revision_replicas(entry, live)
                for component, plan in entry.plans.items():
                    for revision in traffic.revisions(plan.traffic):
                        replicas.add_metric([name, namespace, component, revision], per_revision.get(revision, 0))
                if entry.logger is not None:
                    stats = entry.logger.stats()
                    for outcome in ("produced", "sent", "retried", "failed", "dropped"):
                        events.add_metric(
                            [name, namespace, entry.logger.context.component, outcome], getattr(stats, outcome)
                        )
        yield replicas
        yield events


_GATEWAY = _GatewayCollector()


def expose_gateway(controller: Any) -> None:
    """Publish ``controller``'s replicas and logger counters at /metrics (the collector registers once)."""
    if not _GATEWAY.registered:
        REGISTRY.register(_GATEWAY)
        _GATEWAY.registered = True
    _GATEWAY.add(controller)

"""Per-revision req/s, error rate and p99 over the last minutes, computed from scrapes of ``/metrics``.

The console keeps a short history of the gateway's own Prometheus text (``isvc_requests_total``,
``isvc_request_errors_total``, ``isvc_request_duration_seconds``, ``isvc_replicas``: see
``local.gateway.metrics``) and computes what a Prometheus would with ``rate()`` and
``histogram_quantile()`` over the window: differences between the newest and the oldest scrape in the
window, the quantile interpolated linearly inside its bucket (as ``histogram_quantile`` does in
Prometheus' ``promql/quantile.go``). Pure: the caller scrapes and passes the text and the time.

A series is one revision of one component of one service, and a service is (namespace, name): two
``iris`` of two namespaces keep apart by the series' ``namespace`` label, and so do their revisions,
whose names repeat across namespaces.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "isvc_requests_total"
ERRORS = "isvc_request_errors_total"
LATENCY_BUCKET = "isvc_request_duration_seconds_bucket"
REPLICAS = "isvc_replicas"


class Key(NamedTuple):
    """The labels that identify a series: ``inferenceservice``, ``component``, ``revision``, ``namespace``.

    ``namespace`` is last so that a reader indexing the former ``(service, component, revision)`` triple
    (``key[0]``, ``key[2]``) still reads the same fields; it is ``""`` in a scrape without the label.
    """

    service: str
    component: str
    revision: str
    namespace: str = ""

    def of(self, service: str | None, namespace: str | None) -> bool:
        """Whether the series belongs to ``service`` in ``namespace`` (None: any)."""
        return (service is None or self.service == service) and (namespace is None or self.namespace == namespace)


@dataclass(frozen=True)
class Scrape:
    """The figures of one scrape, summed over status codes."""

    at: float
    requests: Mapping[Key, float]
    errors: Mapping[Key, float]
    buckets: Mapping[Key, Mapping[float, float]]  # cumulative counts by upper bound ``le``
    replicas: Mapping[Key, float]


def parse_scrape(text: str, at: float) -> Scrape:
    """The kit's series from Prometheus text exposition ``text`` scraped at ``at`` (seconds)."""
    requests: dict[Key, float] = {}
    errors: dict[Key, float] = {}
    buckets: dict[Key, dict[float, float]] = {}
    replicas: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if "revision" not in labels:
                continue
            key = Key(
                labels.get("inferenceservice", ""),
                labels.get("component", ""),
                labels["revision"],
                labels.get("namespace", ""),
            )
            if sample.name == REQUESTS:
                requests[key] = requests.get(key, 0.0) + sample.value
            elif sample.name == ERRORS:
                errors[key] = errors.get(key, 0.0) + sample.value
            elif sample.name == LATENCY_BUCKET:
                buckets.setdefault(key, {})[float(labels["le"])] = sample.value
            elif sample.name == REPLICAS:
                replicas[key] = sample.value
    return Scrape(at, requests, errors, buckets, replicas)


def replicas_of(scrape: Scrape, service: str | None = None, namespace: str | None = None) -> dict[str, int]:
    """Running replicas by revision name of ``service`` in ``namespace`` (None: any) from ``scrape``.

    Revision names repeat across namespaces: without a namespace, two services of one name share keys.
    """
    return {key.revision: int(value) for key, value in scrape.replicas.items() if key.of(service, namespace)}


@dataclass(frozen=True)
class RevisionStats:
    """What the console shows for one revision of one component of one service (namespace, name)."""

    service: str
    namespace: str
    component: str
    revision: str
    requests: float  # total since the gateway started
    rps: float | None  # over the window; None until two scrapes span it
    error_rate: float | None  # errors / requests in the window; None without requests
    p99_ms: float | None  # None without requests in the window
    replicas: int | None
    p99_beyond: bool = False  # the quantile fell in the +Inf bucket: p99_ms is the highest finite bound


def in_overflow(q: float, cumulative: Mapping[float, float]) -> bool:
    """Whether the ``q`` quantile lies above the highest finite bucket bound (in ``+Inf``)."""
    finite = [bound for bound in cumulative if not math.isinf(bound)]
    total = cumulative.get(math.inf, 0.0)
    return bool(finite) and total > 0 and cumulative[max(finite)] < q * total


def quantile(q: float, cumulative: Mapping[float, float]) -> float | None:
    """``histogram_quantile(q, ...)`` of cumulative bucket counts keyed by upper bound (``+Inf`` included)."""
    bounds = sorted(cumulative)
    if not bounds or not math.isinf(bounds[-1]):
        return None
    total = cumulative[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):  # in the +Inf bucket: the highest finite bound, as Prometheus answers
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return bounds[-2] if len(bounds) > 1 else None


@dataclass
class MetricsHistory:
    """Scrapes of the last ``keep_s`` seconds; statistics over the last ``window_s``."""

    window_s: float = 300.0
    keep_s: float = 600.0
    scrapes: deque[Scrape] = field(default_factory=deque)

    def add(self, scrape: Scrape) -> None:
        if self.scrapes and scrape.at <= self.scrapes[-1].at:
            return
        self.scrapes.append(scrape)
        while self.scrapes and self.scrapes[0].at < scrape.at - self.keep_s:
            self.scrapes.popleft()

    def stats(self, service: str | None = None, namespace: str | None = None) -> list[RevisionStats]:
        """Per revision of ``service`` in ``namespace`` (None: any), by namespace, service, component, revision."""
        if not self.scrapes:
            return []
        newest = self.scrapes[-1]
        oldest = next((s for s in self.scrapes if s.at >= newest.at - self.window_s), newest)
        span = newest.at - oldest.at
        keys = sorted(
            (key for key in set(newest.requests) | set(newest.replicas) if key.of(service, namespace)),
            key=lambda key: (key.namespace, key.service, key.component, key.revision),
        )
        out = []
        for key in keys:
            total = newest.requests.get(key, 0.0)
            done = total - oldest.requests.get(key, 0.0) if span > 0 else None
            failed = newest.errors.get(key, 0.0) - oldest.errors.get(key, 0.0)
            window_buckets = {
                le: count - (oldest.buckets.get(key, {}).get(le, 0.0) if span > 0 else 0.0)
                for le, count in newest.buckets.get(key, {}).items()
            }
            p99 = quantile(0.99, window_buckets)
            replicas = newest.replicas.get(key)
            out.append(
                RevisionStats(
                    service=key.service,
                    namespace=key.namespace,
                    component=key.component,
                    revision=key.revision,
                    requests=total,
                    rps=done / span if done is not None and span > 0 else None,
                    error_rate=failed / done if done else None,
                    p99_ms=p99 * 1000.0 if p99 is not None else None,
                    p99_beyond=in_overflow(0.99, window_buckets),
                    replicas=int(replicas) if replicas is not None else None,
                )
            )
        return out

    def replicas(self, service: str | None = None, namespace: str | None = None) -> dict[str, int]:
        """Running replicas by revision name of ``service`` in ``namespace`` (None: any), from the newest scrape."""
        if not self.scrapes:
            return {}
        return replicas_of(self.scrapes[-1], service, namespace)

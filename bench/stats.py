"""Paired ratios, the goals of issues 9 and 10, and their verdicts. Pure: no processes, no I/O.

A ratio is never a quotient of two means: each round measures both sides back to back (in alternating
order), the ratio is taken per round, and the figure is the median of those per-pair ratios. A verdict
is ``PASS`` only when the figure meets its goal *and* no request of the rounds behind it failed; ``FAIL``
otherwise; ``n/a`` when the scenario could not be measured (a feature not there yet, a side that did
not start).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, NA = "PASS", "FAIL", "n/a"


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def pair_ratios(numerators: Sequence[float | None], denominators: Sequence[float | None]) -> list[float]:
    """Per-round ratios of two equally long series; rounds with a missing or zero side are left out."""
    if len(numerators) != len(denominators):
        raise ValueError(f"unpaired rounds: {len(numerators)} against {len(denominators)}")
    return [n / d for n, d in zip(numerators, denominators, strict=True) if n is not None and d]


def paired_ratio(
    rounds: Sequence[Mapping[str, Any]], target: str, baseline: str, metric: str, conns: int
) -> tuple[float | None, list[float], int]:
    """Median of ``target/baseline`` per round at ``conns`` clients, the ratios, and the errors behind them.

    ``rounds`` are the scenario's records: ``{"round", "conns", "target", "result": {metric..., "errors"}}``.
    """
    by_round: dict[int, dict[str, Mapping[str, Any]]] = {}
    for record in rounds:
        if record["conns"] == conns and record["target"] in (target, baseline):
            by_round.setdefault(record["round"], {})[record["target"]] = record["result"]
    pairs = [sides for _, sides in sorted(by_round.items()) if target in sides and baseline in sides]
    ratios = pair_ratios([p[target][metric] for p in pairs], [p[baseline][metric] for p in pairs])
    errors = sum(int(p[side]["errors"]) for p in pairs for side in (target, baseline))
    return median(ratios), ratios, errors


@dataclass(frozen=True)
class Goal:
    """One row of the goals tables: ``value op threshold`` (``>=`` or ``<=``), with zero errors."""

    key: str
    label: str
    op: str
    threshold: float
    unit: str = "x"
    issue: int = 9

    @property
    def text(self) -> str:
        return f"{self.op} {self.threshold:g}{self.unit}"

    def met(self, value: float) -> bool:
        return value >= self.threshold if self.op == ">=" else value <= self.threshold


GOALS: tuple[Goal, ...] = (
    Goal("chain_rps_16", "chain 16 clients req/s, ray/pods", ">=", 3.0),
    Goal("chain_p50_1", "chain 1 client p50, ray/pods", "<=", 0.7),
    Goal("predictor_rps_16", "predictor only 16 clients req/s, ray/ModelServer", ">=", 1.3),
    Goal("predictor_p50_1", "predictor only 1 client p50, ray/ModelServer", "<=", 1.2),
    Goal("batching_p50_1", "batching on/off 1 client p50 (ray)", "<=", 1.1),
    Goal("logger_rps_16", "logger on/off 16 clients req/s (ray)", ">=", 0.9),
    Goal("startup_s", "isvc up -> first 200", "<=", 8.0, " s", 10),
    Goal("cold_start_s", "cold start from zero", "<=", 1.0, " s", 10),
    Goal("cold_start_vs_pod", "cold start / pod spawn -> first 200", "<=", 0.5, "x", 10),
    Goal("memory_mib", "memory iris + sink, PSS", "<=", 800.0, " MiB", 10),
    Goal("reload_s", "edit -> answer with --reload", "<=", 3.0, " s", 10),
)
GOALS_BY_KEY = {goal.key: goal for goal in GOALS}


@dataclass
class Verdict:
    key: str
    label: str
    goal: str
    value: float | None
    verdict: str
    errors: int = 0
    note: str = ""
    ratios: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge(
    key: str, value: float | None, errors: int = 0, ratios: Sequence[float] = (), note: str = "", ok: bool = True
) -> Verdict:
    """The verdict of goal ``key``: n/a without a value; FAIL on any error, on ``ok=False`` or a missed goal."""
    goal = GOALS_BY_KEY[key]
    if value is None:
        verdict = NA
    elif errors or not ok or not goal.met(value):
        verdict = FAIL
    else:
        verdict = PASS
    if errors:
        note = f"{errors} failed requests" + (f"; {note}" if note else "")
    return Verdict(key, goal.label, goal.text, value, verdict, errors, note, list(ratios))


def not_measured(key: str, why: str) -> Verdict:
    return judge(key, None, note=why)


def _of(labels: Mapping[str, str], service: str, namespace: str | None) -> bool:
    """A series of ``service`` in ``namespace`` (None: in any namespace)."""
    return labels.get("inferenceservice") == service and (namespace is None or labels.get("namespace") == namespace)


def logger_counters(metrics_text: str, service: str, namespace: str | None = None) -> dict[str, float]:
    """``isvc_logger_events_total{inferenceservice=service,namespace=namespace,...}`` summed by outcome
    (Prometheus text format); without ``namespace``, over every namespace that has a ``service``."""
    import re

    totals: dict[str, float] = {}
    pattern = re.compile(r"^isvc_logger_events_total\{([^}]*)\}\s+([0-9.eE+-]+)\s*$", re.M)
    for labels_text, value in pattern.findall(metrics_text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if _of(labels, service, namespace):
            outcome = labels.get("outcome", "?")
            totals[outcome] = totals.get(outcome, 0.0) + float(value)
    return totals


def replicas_text(replicas: Mapping[str, int] | None, processes: int | None = None) -> str:
    """``predictor=1 transformer=1 (1 proc)``: what status said, and the replica processes that existed."""
    text = " ".join(f"{k}={v}" for k, v in sorted((replicas or {}).items())) or "?"
    return text if processes is None else f"{text} ({processes} proc)"


def summarize(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (scenario, target, conns): medians over rounds of req/s, p50, p99; errors summed."""
    groups: dict[tuple[str, str, int], list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["scenario"], record["target"], record["conns"]), []).append(record)
    rows = []
    for (scenario, target, conns), group in groups.items():
        results = [g["result"] for g in group]
        rows.append(
            {
                "scenario": scenario,
                "target": target,
                "conns": conns,
                "rounds": len(group),
                "rps": median([r["rps"] for r in results]),
                "p50_ms": median([r["p50_ms"] for r in results]),
                "p99_ms": median([r["p99_ms"] for r in results]),
                "errors": sum(int(r["errors"]) for r in results),
                "replicas": sorted({replicas_text(g.get("replicas"), g.get("replica_processes")) for g in group}),
            }
        )
    return rows


def answered(metrics_text: str, service: str, namespace: str | None = None) -> int | None:
    """Requests the gateway answered 2xx for ``service`` in ``namespace`` (``isvc_requests_total``, once per
    request); without ``namespace``, summed over every namespace that has a ``service``.

    The gateway counts a request once per component it went through; the largest per-component count
    of a namespace is its number of requests. None when the metric is absent.
    """
    import re

    per_component: dict[tuple[str, str], float] = {}  # (namespace, component)
    pattern = re.compile(r"^isvc_requests_total\{([^}]*)\}\s+([0-9.eE+-]+)\s*$", re.M)
    for labels_text, value in pattern.findall(metrics_text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if _of(labels, service, namespace) and labels.get("code", "").startswith("2"):
            key = (labels.get("namespace", ""), labels.get("component", "?"))
            per_component[key] = per_component.get(key, 0.0) + float(value)
    if not per_component:
        return None
    per_namespace: dict[str, float] = {}
    for (ns, _), count in per_component.items():
        per_namespace[ns] = max(per_namespace.get(ns, 0.0), count)
    return int(sum(per_namespace.values()))


def replica_processes(titles: Sequence[str], service: str) -> int:
    """Serve replica processes of ``service`` among process titles (``ray::ServeReplica:APP:DEPLOYMENT``).

    An app is the service's when one of its ``+``-joined units is ``SERVICE-COMPONENT-NNNNN``.
    """
    import re

    unit = re.compile(rf"^{re.escape(service)}-(transformer|predictor|explainer)-\d+$")
    count = 0
    for title in titles:
        if title.startswith("ray::ServeReplica:"):
            app = title.removeprefix("ray::ServeReplica:").split(":")[0]
            revisions = app.partition(".")[2] or app  # a namespace prefix: local.placement.unit_name
            count += any(unit.match(part) for part in revisions.split("+"))
    return count


def placement_mode(placement: Any) -> str:
    """``status.localRuntime.placement`` as one word: its ``mode`` (a dict), itself (a string), else n/a."""
    if isinstance(placement, Mapping):
        return str(placement.get("mode", NA))
    return str(placement) if placement else NA

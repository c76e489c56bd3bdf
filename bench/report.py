"""From the run's results to verdicts, the terminal table and ``bench/results.json``. Pure but for ``write``.

``evaluate`` computes every goal's verdict from the results dict (the rounds as recorded, nothing
averaged beforehand); ``render`` prints the rows (median over rounds per scenario, side and
concurrency), the goals with PASS/FAIL/n/a, and the start-up, memory and cold-start details.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.stats import GOALS, Verdict, judge, median, not_measured, paired_ratio, placement_mode, summarize

SCHEMA = 1


def _scenario(results: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [r for r in results.get("rounds", []) if r["scenario"] == name]


def _ratio_goal(
    key: str, records: Sequence[Mapping[str, Any]], target: str, baseline: str, metric: str, conns: int
) -> Verdict:
    if not records:
        return not_measured(key, "scenario not run")
    value, ratios, errors = paired_ratio(records, target, baseline, metric, conns)
    if value is None:
        return not_measured(key, f"no paired rounds of {target} and {baseline} at {conns} clients")
    return judge(key, value, errors, ratios, f"median of {len(ratios)} paired rounds")


def evaluate(results: Mapping[str, Any]) -> list[Verdict]:
    chain, predictor, logged = (_scenario(results, s) for s in ("chain", "predictor", "logger"))
    verdicts = [
        _ratio_goal("chain_rps_16", chain, "iris", "pods", "rps", 16),
        _ratio_goal("chain_p50_1", chain, "iris", "pods", "p50_ms", 1),
        _ratio_goal("predictor_rps_16", predictor, "iris-predictor", "modelserver", "rps", 16),
        _ratio_goal("predictor_p50_1", predictor, "iris-predictor", "modelserver", "p50_ms", 1),
    ]
    batching = results.get("chain", {}).get("batching", {})
    if batching.get("honoured"):
        verdicts.append(_ratio_goal("batching_p50_1", chain, "iris-batch", "iris", "p50_ms", 1))
    else:
        verdicts.append(not_measured("batching_p50_1", "spec.predictor.batcher not honoured by the local runtime"))
    verdicts.append(_logger_goal(results.get("logger", {}), logged))
    startup = results.get("startup", {})
    pods_s = results.get("chain", {}).get("pods_first_200_s")
    note = f"pod chain {pods_s:.1f} s" if pods_s is not None else ""
    failed_starts = startup.get("failed_starts") or []
    if failed_starts:
        note += f"; {len(failed_starts)} failed start(s): {failed_starts[0][:120]}"
    verdicts.append(judge("startup_s", startup.get("isvc_up_s"), note=note, ok=not failed_starts))
    verdicts += _cold_goals(results.get("cold_start", {}))
    memory = results.get("chain", {}).get("memory", {})
    ray_mib = memory.get("ray", {}).get("pss_mib")
    pods_mib = memory.get("pods", {}).get("pss_mib")
    note = f"{memory.get('ray', {}).get('processes', 0)} processes; pod chain {pods_mib:.0f} MiB" if pods_mib else ""
    verdicts.append(judge("memory_mib", ray_mib, note=note))
    reload = results.get("reload", {})
    if reload.get("edit_to_answer_s") is None:
        verdicts.append(not_measured("reload_s", reload.get("note", "not measured")))
    else:
        note = f"{reload.get('ok', 0)} requests answered while editing; isvc up --reload -> first 200 "
        note += f"{reload['isvc_up_s']:.1f} s" if reload.get("isvc_up_s") is not None else "n/a"
        verdicts.append(judge("reload_s", reload["edit_to_answer_s"], int(reload.get("failed", 0)), note=note))
    return verdicts


def _logger_goal(logger: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> Verdict:
    if not records:
        return not_measured("logger_rps_16", logger.get("note", "scenario not run"))
    base = _ratio_goal("logger_rps_16", records, "iris-logged", "iris", "rps", 16)
    dropped = logger.get("counters", {}).get("dropped")
    stored, expected = logger.get("stored_events"), logger.get("expected_events")
    ok = dropped == 0 and stored == expected
    note = f"stored {stored}/{expected} events, dropped {dropped if dropped is not None else 'n/a'}"
    return judge("logger_rps_16", base.value, base.errors, base.ratios, note, ok=ok)


def _cold_goals(cold: Mapping[str, Any]) -> list[Verdict]:
    cycles = cold.get("cycles", [])
    if not cycles:
        why = cold.get("note", "not measured")
        return [not_measured("cold_start_s", why), not_measured("cold_start_vs_pod", why)]
    failed = sum(1 for c in cycles if c.get("status") != 200)
    total = median([c.get("total_s") for c in cycles if c.get("status") == 200])
    pod = median(cold.get("pod_spawn_s", []))
    cold_note = f"median of {len(cycles)}" + (f"; pod spawn -> first 200 {pod:.2f} s" if pod else "")
    ratio = total / pod if total is not None and pod else None
    return [
        judge("cold_start_s", total, failed, note=cold_note),
        judge("cold_start_vs_pod", ratio, failed, note=f"pod spawn -> first 200 {pod:.2f} s" if pod else ""),
    ]


def _cell(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]


def render(results: Mapping[str, Any]) -> str:
    meta = results.get("meta", {})
    load = "/".join(f"{meta[k][0]:.1f}" for k in ("loadavg_at_start", "loadavg_at_end") if meta.get(k))
    lines = [
        f"\nisvc-kit bench ({meta.get('tool')}, {meta.get('duration_s')} s x {meta.get('rounds')} paired rounds"
        + (f"; load average at start/end {load} on {meta.get('cpus')} CPUs" if load else "")
        + ")"
    ]
    rows = [
        [
            r["scenario"],
            r["target"],
            str(r["conns"]),
            _cell(r["rps"], ".0f"),
            _cell(r["p50_ms"], ".2f"),
            _cell(r["p99_ms"], ".2f"),
            str(r["errors"]),
            ", ".join(r["replicas"]),
        ]
        for r in summarize(results.get("rounds", []))
    ]
    lines += _table(["SCENARIO", "SIDE", "CLIENTS", "REQ/S", "P50 MS", "P99 MS", "ERRORS", "REPLICAS"], rows)
    lines.append("")
    goals = [
        [v["verdict"], v["label"], _cell(v["value"], ".2f"), v["goal"], v["note"]] for v in results.get("goals", [])
    ]
    lines += _table(["VERDICT", "GOAL", "MEASURED", "TARGET", "NOTE"], goals)
    lines += _details(results)
    return "\n".join(lines)


def _details(results: Mapping[str, Any]) -> list[str]:
    lines = [""]
    memory = results.get("chain", {}).get("memory", {})
    for side in ("ray", "pods"):
        if side in memory:
            top = ", ".join(f"{p['label']} {p['pss_mib']:.0f}" for p in memory[side]["by_process"][:8])
            own = memory[side].get("runtime_pss_mib")
            check = f", runtime_pss {own:.0f}" if own else ""
            pss, rss = memory[side]["pss_mib"], memory[side]["rss_mib"]
            lines.append(f"memory {side}: {pss:.0f} MiB PSS ({rss:.0f} RSS{check}): {top}")
    for index, cycle in enumerate(results.get("cold_start", {}).get("cycles", [])):
        parts = [f"{k.removesuffix('_s')} {v:.2f}" for k, v in cycle.items() if k.endswith("_s") and v is not None]
        lines.append(
            f"cold start {index + 1}: " + ", ".join(parts) + (f" ({cycle['note']})" if "note" in cycle else "")
        )
    idle: dict[str, list[float]] = {}
    for record in results.get("rounds", []):
        if record.get("idle_runtime_cpu") is not None:
            idle.setdefault("ray" if record.get("runtime") == "pods" else "pods", []).append(record["idle_runtime_cpu"])
    if idle:
        parts = [f"{side} {median(values) or 0:.3f} (max {max(values):.3f})" for side, values in sorted(idle.items())]
        lines.append("CPU of the idle runtime during the other's rounds, cores: " + ", ".join(parts))
    for target, sample in (results.get("failures") or {}).items():
        lines.append(
            f"failed requests of {target}, one sampled after its first errored round: {sample or 'not reproduced'}"
        )
    placement = results.get("chain", {}).get("placement") or {}
    if placement:
        modes = ", ".join(f"{name} {placement_mode(p)}" for name, p in placement.items())
        lines.append(f"placement (status.localRuntime.placement): {modes}")
    if results.get("stop_s") is not None:
        lines.append(f"isvc up stopped in {results['stop_s']:.1f} s")
    if results.get("phase_s"):
        lines.append("time per phase (s): " + ", ".join(f"{k} {v:.0f}" for k, v in results["phase_s"].items()))
    return lines


def finish(results: dict[str, Any]) -> dict[str, Any]:
    """Add the schema, the summary rows and the verdicts to the raw results."""
    results["schema"] = SCHEMA
    results["rows"] = summarize(results.get("rounds", []))
    results["goals"] = [v.to_dict() for v in evaluate(results)]
    return results


def write(results: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


GOAL_KEYS = tuple(goal.key for goal in GOALS)

"""The PNG plot: req/s and p99 against concurrency, one line per scenario and side (medians over rounds).

Uses matplotlib (the ``bench`` dependency group) with the non-interactive Agg backend; without
matplotlib the plot is skipped with a message, the table and JSON are still written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.stats import summarize


def series(results: Mapping[str, Any]) -> dict[str, list[tuple[int, float | None, float | None]]]:
    """``"scenario: side"`` -> [(clients, req/s, p99 ms)] sorted by clients (pure, unit-tested)."""
    lines: dict[str, list[tuple[int, float | None, float | None]]] = {}
    for row in summarize(results.get("rounds", [])):
        lines.setdefault(f"{row['scenario']}: {row['target']}", []).append((row["conns"], row["rps"], row["p99_ms"]))
    return {name: sorted(points) for name, points in sorted(lines.items())}


def plot(results: Mapping[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(">> matplotlib missing (uv sync --group bench): no plot")
        return None
    figure, (rps_axis, p99_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    errors: dict[str, int] = {}
    for row in summarize(results.get("rounds", [])):
        key = f"{row['scenario']}: {row['target']}"
        errors[key] = errors.get(key, 0) + row["errors"]
    for name, points in series(results).items():
        clients = [p[0] for p in points]
        style = "--" if name.endswith(("pods", "modelserver")) else "-"
        label = name + (f" ({errors[name]} failed requests)" if errors.get(name) else "")
        rps_axis.plot(clients, [p[1] for p in points], style, marker="o", label=label)
        p99_axis.plot(clients, [p[2] for p in points], style, marker="o", label=label)
    meta = results.get("meta", {})
    ticks = sorted({p[0] for points in series(results).values() for p in points})
    for axis, title in ((rps_axis, "throughput (req/s)"), (p99_axis, "p99 latency (ms)")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(ticks, [str(t) for t in ticks])
        axis.set_xlabel("concurrent clients")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    p99_axis.set_yscale("log")
    rps_axis.legend(fontsize=7)
    load = meta.get("loadavg_at_start")
    figure.suptitle(
        f"isvc-kit bench {meta.get('started', '')} ({meta.get('tool')}, {meta.get('duration_s')} s rounds, "
        f"medians of {meta.get('rounds')}" + (f"; load average {load[0]:.1f} at start" if load else "") + ")"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path

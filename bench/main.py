"""``make bench``: run every scenario in one go, print the table, write results.json and the plot.

Order: ``isvc up`` (iris only, with the sink) -> first 200; the chain against the pod chain, batching
off and on, at each concurrency; logger on against off; predictor only against a bare ModelServer;
cold start from zero against a pod's spawn; ``isvc up`` stopped; edit -> answer with ``--reload``.
Every process started is stopped on exit, on Ctrl-C and on SIGTERM (both raise KeyboardInterrupt,
which unwinds the ExitStack holding each process).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import load, manifests, plot, procs, reload, report, scenarios

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
PLOT = HERE / "results" / "bench.png"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s rounds at 1 and 16 clients, 1 cold start (~3 min)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per measurement (%(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="paired rounds per concurrency (%(default)s)")
    parser.add_argument("--conns", default="1,4,16,32", help="concurrencies, comma-separated (%(default)s)")
    parser.add_argument("--cold-cycles", type=int, default=2, help="cold starts measured (%(default)s)")
    parser.add_argument(
        "--only",
        default="chain,logger,predictor,cold,reload",
        help="scenarios to run, comma-separated (%(default)s); start-up and memory always",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.cold_cycles = 2.0, 1
        if args.conns == parser.get_default("conns"):
            args.conns = "1,16"
    args.conns = [int(c) for c in str(args.conns).split(",") if c]
    args.only = set(str(args.only).split(","))
    return args


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE)
    return out.stdout.strip()


def run(args: argparse.Namespace, log: scenarios.Log) -> dict[str, Any]:
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "commit": _commit(),
            "tool": load.tool(),
            "duration_s": args.duration,
            "rounds": args.rounds,
            "conns": args.conns,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        }
    }
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="isvc-bench-")))
        bench = scenarios.Bench(args.duration, args.rounds, args.conns, args.cold_cycles, workdir, log)
        bench.paths = manifests.write(workdir / "manifests", manifests.variants())
        sink = procs.port_free(procs.SINK_PORT)
        phases = results.setdefault("phase_s", {})
        started = time.monotonic()
        try:
            results["startup"] = scenarios.start_ray(bench, sink=sink)
            phases["startup"] = round(time.monotonic() - started, 1)
        finally:
            if bench.isvc is not None:
                isvc = bench.isvc
                stack.callback(lambda: results.setdefault("stop_s", isvc.stop()))
        results["rounds"] = bench.records
        results["failures"] = bench.failures
        for name, step in (
            ("chain", scenarios.chain),
            ("logger", scenarios.logger),
            ("predictor", scenarios.predictor_only),
            ("cold", scenarios.cold_start),
        ):
            if name in args.only or name == "chain":
                log(f">> scenario {name}")
                started = time.monotonic()
                key = "cold_start" if name == "cold" else name
                try:
                    results[key] = step(bench)
                except Exception as exc:  # one broken scenario is reported, the others still run
                    log(f">> scenario {name} failed: {exc!r}")
                    results[key] = {"note": f"scenario failed: {exc!r}"[:300], "failed": True}
                phases[name] = round(time.monotonic() - started, 1)
        log(">> stopping isvc up (Serve, Ray, sink)")
        results["stop_s"] = bench.isvc.stop() if bench.isvc else None
        if "reload" in args.only:
            log(">> scenario reload (isvc up --reload)")
            started = time.monotonic()
            results["reload"] = reload.measure(workdir, log)
            phases["reload"] = round(time.monotonic() - started, 1)
    return results


def _interrupt(signum: int, frame: Any) -> None:
    """The first Ctrl-C or SIGTERM unwinds the run; further ones are ignored so the cleanup completes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, _interrupt)  # even if started with SIGINT ignored (a background job)
    signal.signal(signal.SIGTERM, _interrupt)

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        results = run(args, log)
    except KeyboardInterrupt:
        print("interrupted; every process started was stopped", file=sys.stderr)
        return 130
    results["meta"]["loadavg_at_end"] = os.getloadavg()
    report.finish(results)
    report.write(results, RESULTS)
    drawn = plot.plot(results, PLOT)
    print(report.render(results))
    print(
        f"\nresults: {RESULTS.relative_to(HERE.parent)}"
        + (f", plot: {drawn.relative_to(HERE.parent)}" if drawn else "")
    )
    return 0

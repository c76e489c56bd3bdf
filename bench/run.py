"""Benchmark the Ray runtime (`isvc up`) against the pod-equivalent chain (`isvc pods`), in one run.

Starts `isvc up -f manifests/iris.yaml` (own process group, time to the first 200) and the predictor +
transformer processes, drives both with the same V2 request through wrk (or a small httpx fallback)
at 1 and 16 connections in alternating order, then measures the cold start after scale-to-zero
(`iris-zero`, 2 s window and retention) and the resident memory of both. Prints a table, writes
bench/results.json and always stops every process it started, also on Ctrl-C.

    .venv/bin/python bench/run.py [--quick] [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from local.processes import free_port, start_chain  # noqa: E402

BIN = Path(sys.executable).parent
LUA = Path(__file__).with_name("v2_infer.lua")
RESULTS = Path(__file__).with_name("results.json")
BODY = json.dumps(
    {
        "inputs": [
            {"name": n, "shape": [1], "datatype": "FP32", "data": [v]}
            for n, v in (("sepal_length", 5.1), ("sepal_width", 3.5), ("petal_length", 1.4), ("petal_width", 0.2))
        ]
    }
)
Result = dict[str, Any]


def infer_once(url: str, timeout: float = 5.0) -> int:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.post(url, content=BODY, headers={"content-type": "application/json"}, timeout=timeout).status_code
    return 0


def wait_200(url: str, deadline_s: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll the infer URL until it answers 200; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before the first 200")
        if infer_once(url) == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"no 200 from {url} within {deadline_s:.0f}s")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(url: str, conns: int, duration: float) -> Result:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--latency", "-s", str(LUA), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    lat = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    socket_errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": lat.get("50"), "p99": lat.get("99"), "errors": errors}


async def _httpx_load(url: str, conns: int, duration: float) -> Result:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        stop = time.monotonic() + duration

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    resp = await client.post(url, content=BODY, headers={"content-type": "application/json"})
                    ok = resp.status_code < 300
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1e3)
                errors += 0 if ok else 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.monotonic() - started
    latencies.sort()
    p50, p99 = (latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None for q in (0.5, 0.99))
    return {"rps": len(latencies) / elapsed, "p50": p50, "p99": p99, "errors": errors}


def load(url: str, conns: int, duration: float) -> Result:
    if shutil.which("wrk"):
        return run_wrk(url, conns, duration) | {"tool": "wrk"}
    return asyncio.run(_httpx_load(url, conns, duration)) | {"tool": "httpx"}


def tree_rss_mib(pids: list[int]) -> float:
    """RSS of the processes, their descendants and their sessions' members (Ray workers included)."""
    procs: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                procs[p.pid] = p
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if os.getsid(p.pid) in pids:
                procs[p.pid] = p
    total = 0
    for p in procs.values():
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def bench_manifests(workdir: Path) -> list[Path]:
    """iris.yaml without loggers (like the pods chain) and `iris-logged` with both loggers (mode all)."""
    import yaml

    document = yaml.safe_load((REPO / "manifests/iris.yaml").read_text())
    logged = json.loads(json.dumps(document))
    for component in ("transformer", "predictor"):
        document["spec"][component].pop("logger", None)
        container = logged["spec"][component]["containers"][0]
        container["args"] = [a.replace("--model_name=iris", "--model_name=iris-logged") for a in container["args"]]
    logged["metadata"]["name"] = "iris-logged"
    paths = [workdir / "iris.yaml", workdir / "iris-logged.yaml"]
    for path, doc in zip(paths, (document, logged), strict=True):
        path.write_text(yaml.safe_dump(doc))
    return paths


def start_ray(port: int, log_path: Path, workdir: Path) -> subprocess.Popen[bytes]:
    files = [arg for path in bench_manifests(workdir) for arg in ("-f", str(path))]
    env = os.environ | {"ISVC_SINK_DB": f"sqlite:///{workdir / 'events.db'}"}
    with log_path.open("wb") as log:
        cmd = [
            str(BIN / "isvc"),
            "up",
            *files,
            "--port",
            str(port),
            "--grpc-port",
            "0",
            "--sink",
            "--state",
            str(workdir / "state.db"),
        ]
        return subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def stored_events(workdir: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(workdir / "events.db")) as db:
        row = db.execute("SELECT COUNT(*) FROM events WHERE inferenceservicename = 'iris-logged'").fetchone()
    return int(row[0])


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGINT the group (isvc up shuts Serve and Ray down), then SIGKILL it and any straggler."""
    stragglers: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        stragglers = psutil.Process(proc.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for p in psutil.process_iter():  # Ray workers run in process groups of their own, same session
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getsid(p.pid) == proc.pid:
                stragglers.append(p)
    for p in stragglers:
        with contextlib.suppress(psutil.Error):
            p.kill()


def zero_yaml() -> str:
    text = (REPO / "manifests/iris.yaml").read_text()
    text = text.replace("name: iris\n", "name: iris-zero\n").replace("--model_name=iris\n", "--model_name=iris-zero\n")
    return re.sub(
        r'scale-to-zero-pod-retention-period: "[^"]*"',
        'scale-to-zero-pod-retention-period: "2s"\n    autoscaling.knative.dev/window: "2s"',
        text,
    )


def cold_start(server: str, deadline_s: float = 120.0) -> Result:
    """Apply iris-zero, wait until both components are at 0 replicas, time one request."""
    isvc = [str(BIN / "isvc")]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(zero_yaml())
    t0 = time.monotonic()
    subprocess.run([*isvc, "apply", "-f", f.name, "--server", server], cwd=REPO, check=True, capture_output=True)
    apply_s = time.monotonic() - t0
    os.unlink(f.name)
    replicas: dict[str, int] = {}
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        out = subprocess.run([*isvc, "get", "iris-zero", "-o", "json", "--server", server], capture_output=True)
        if out.returncode == 0:
            replicas = json.loads(out.stdout)["status"]["localRuntime"]["replicas"]
            if replicas and all(n == 0 for n in replicas.values()):
                break
        time.sleep(1.0)
    else:
        return {"apply_s": apply_s, "error": f"not at zero after {deadline_s:.0f}s: {replicas}"}
    to_zero_s = time.monotonic() - t0
    t0 = time.monotonic()
    status = infer_once(f"{server}/v2/models/iris-zero/infer", timeout=60.0)
    return {"apply_s": apply_s, "to_zero_s": to_zero_s, "cold_start_s": time.monotonic() - t0, "status": status}


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def report(results: Result) -> None:
    rows, startup = results["rows"], results["startup_s"]
    print(f"\n{'':18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}", end="")
    print(f"   ({results['tool']}, {results['duration_s']} s x {results['rounds']})")
    for conns, target in ((1, "pods"), (1, "ray"), (16, "pods"), (16, "ray"), (16, "ray+logger")):
        r = rows[f"{target}@{conns}"]
        label = f"{target} {conns} client" + ("s" if conns > 1 else "")
        cells = f"{fmt(r['rps'], '.0f'):>9}{fmt(r['p50'], '.2f'):>9}{fmt(r['p99'], '.2f'):>9}"
        print(f"{label:18}{cells}{r['errors']:>8}")
    for name, goal in results["ratios"].items():
        print(f"{name:24}{fmt(goal['value'], '.2f'):>6}  goal {goal['goal']:<6} {goal['verdict']}")
    print(f"startup: isvc up -> first 200 {fmt(startup['ray'])} s, pods ready {fmt(startup['pods'])} s")
    cold = results["cold_start"]
    if "error" in cold:
        print(f"cold start after scale-to-zero: {cold['error']}")
    else:
        print(
            f"cold start after scale-to-zero: {cold['cold_start_s']:.2f} s (HTTP {cold['status']}; "
            f"apply {cold['apply_s']:.1f} s, at zero after {cold['to_zero_s']:.1f} s)"
        )
    print(f"events stored for iris-logged: {results.get('events_stored')} (4 per request: 2 components x 2)")
    mem = results["memory_mib"]
    print(f"memory RSS: ray runtime {mem['ray']:.0f} MiB, pods {mem['pods']:.0f} MiB ({mem['ray'] / mem['pods']:.1f}x)")
    print(f"results written to {RESULTS.relative_to(REPO)}")


def benchmark(args: argparse.Namespace) -> Result:
    duration = 3.0 if args.quick else args.duration
    ray_port = free_port()
    ray_url = f"http://127.0.0.1:{ray_port}"
    ray_log = Path(tempfile.gettempdir()) / f"isvc-bench-up-{ray_port}.log"
    results: Result = {"duration_s": duration, "rounds": args.rounds, "ray_log": str(ray_log)}
    print(f">> starting isvc up on {ray_url} (log {ray_log})", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="isvc-bench-"))
    ray = start_ray(ray_port, ray_log, workdir)
    try:
        try:
            results["startup_s"] = {"ray": wait_200(f"{ray_url}/v2/models/iris/infer", 300.0, ray)}
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(f"isvc up failed: {exc}\n{ray_log.read_text(errors='replace')[-3000:]}") from exc
        print(f">> Ray runtime answered 200 after {results['startup_s']['ray']:.1f} s; starting pods", flush=True)
        common = ["--model_name=iris", "--model_dir=models/iris/v1", "--enable_grpc=false"]
        t0 = time.monotonic()
        with start_chain("predictors.sklearn", common, "transformers.iris", common) as chain:
            results["startup_s"]["pods"] = time.monotonic() - t0
            urls = {
                "pods": f"{chain.url}/v2/models/iris/infer",
                "ray": f"{ray_url}/v2/models/iris/infer",
                "ray+logger": f"{ray_url}/v2/models/iris-logged/infer",
            }
            print(">> warm-up", flush=True)
            for url in urls.values():
                load(url, 16, min(3.0, duration))
            runs: dict[str, list[Result]] = {}
            for conns in (1, 16):
                for i in range(args.rounds):
                    for target in ("pods", "ray") if i % 2 == 0 else ("ray", "pods"):
                        r = load(urls[target], conns, duration)
                        print(f">> {target} @{conns} round {i + 1}: {r}", flush=True)
                        runs.setdefault(f"{target}@{conns}", []).append(r)
            load(urls["ray+logger"], 16, min(3.0, duration))  # iris-logged may have scaled to zero meanwhile
            for i in range(args.rounds):  # logger on (mode all, both components) against off, same run
                for target in ("ray", "ray+logger") if i % 2 == 0 else ("ray+logger", "ray"):
                    r = load(urls[target], 16, duration)
                    print(f">> {target} @16 round {i + 1}: {r}", flush=True)
                    runs.setdefault(f"{target}@16", []).append(r)
            pod_pids = [p.process.pid for p in (chain.predictor, chain.entry) if p.process is not None]
            results["memory_mib"] = {"pods": tree_rss_mib(pod_pids), "ray": tree_rss_mib([ray.pid])}
        results["tool"] = runs["ray@1"][0]["tool"]
        results["runs"] = runs
        results["rows"] = {
            key: {
                "rps": mean([r["rps"] for r in rs]),
                "p50": mean([r["p50"] for r in rs]),
                "p99": mean([r["p99"] for r in rs]),
                "errors": sum(r["errors"] for r in rs),
            }
            for key, rs in runs.items()
        }
        rows = results["rows"]
        rps_ratio = rows["ray@16"]["rps"] / rows["pods@16"]["rps"] if rows["pods@16"]["rps"] else None
        p50_ratio = rows["ray@1"]["p50"] / rows["pods@1"]["p50"] if rows["pods@1"]["p50"] else None
        results["ratios"] = {
            "ray/pods req/s @16": {"value": rps_ratio, "goal": ">= 2.0", "verdict": _verdict(rps_ratio, 2.0, True)},
            "ray/pods p50 @1": {"value": p50_ratio, "goal": "<= 0.7", "verdict": _verdict(p50_ratio, 0.7, False)},
        }
        logged, plain = runs["ray+logger@16"], runs["ray@16"][-len(runs["ray+logger@16"]) :]
        log_ratio = mean([r["rps"] for r in logged]) / mean([r["rps"] for r in plain])  # type: ignore[operator]
        results["ratios"]["logger on/off req/s @16"] = {
            "value": log_ratio,
            "goal": ">= 0.9",
            "verdict": _verdict(log_ratio, 0.9, True),
        }
        time.sleep(3)  # let the loggers drain
        results["events_stored"] = stored_events(workdir)
        print(">> cold start after scale-to-zero (iris-zero)", flush=True)
        results["cold_start"] = cold_start(ray_url)
    finally:
        print(">> stopping isvc up (Serve and Ray)", flush=True)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
        try:
            stop_group(ray)
        finally:
            signal.signal(signal.SIGINT, previous)
    return results


def _verdict(value: float | None, goal: float, at_least: bool) -> str:
    if value is None:
        return "-"
    return "PASS" if (value >= goal if at_least else value <= goal) else "MISS"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per measurement")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement (%(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per load level (%(default)s)")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = benchmark(args)
    except KeyboardInterrupt:
        print("interrupted; processes stopped", file=sys.stderr)
        return 130
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The measured scenarios, in one run: paired, alternating rounds of the same request on each side.

``rounds`` runs the targets of a scenario back to back at each concurrency, forward on even rounds and
reversed on odd ones (A B / B A), recording per round the result, the replicas each side had (``isvc
get``: ``status.localRuntime.replicas``; the pods: one process per component) and the CPU the idle
runtime used meanwhile (it should be ~0: no background work skews the measured one). Only the
services of the scenario under way are deployed. Each function returns a JSON-able dict and appends
its rounds to ``Bench.records``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import coldstart, manifests, procs
from bench.load import LoadResult, load
from bench.stats import answered, logger_counters, placement_mode, replica_processes
from local.processes import ComponentProcess, free_port, start_chain

Log = Callable[[str], None]
PODS_REPLICAS = {"transformer": 1, "predictor": 1}


@dataclass
class Target:
    """One side of a comparison: where to send the request, which runtime serves it, its replicas."""

    name: str
    url: str
    body: str
    runtime: str  # "ray" or "pods"
    replicas: Callable[[], Any]
    status: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bench:
    duration_s: float
    rounds: int
    conns: Sequence[int]
    cold_cycles: int
    workdir: Path
    log: Log
    paths: dict[str, Path] = field(default_factory=dict)
    isvc: procs.IsvcUp | None = None
    runtimes: dict[str, list[psutil.Process]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str | None] = field(default_factory=dict)  # target -> a failed request, as sampled

    def warm(self, target: Target, conns: int = 16) -> LoadResult:
        return load(target.url, target.body, conns, min(3.0, self.duration_s))

    def ray_target(self, name: str, body: str = manifests.IRIS_BODY) -> Target:
        assert self.isvc is not None
        isvc = self.isvc
        return Target(name, isvc.infer_url(name), body, "ray", lambda: isvc.local_status(name).get("replicas"))


def rounds(bench: Bench, scenario: str, targets: Sequence[Target], conns_list: Sequence[int]) -> None:
    for conns in conns_list:
        for index in range(bench.rounds):
            order = list(targets) if index % 2 == 0 else list(reversed(targets))
            for target in order:
                others = [p for runtime, ps in bench.runtimes.items() if runtime != target.runtime for p in ps]
                cpu_before = procs.cpu_seconds(others)
                result = load(target.url, target.body, conns, bench.duration_s)
                idle_cpu = (procs.cpu_seconds(others) - cpu_before) / max(result.duration_s, 1e-9)
                record = {
                    "replica_processes": _replica_processes(bench, target),
                    "scenario": scenario,
                    "target": target.name,
                    "runtime": target.runtime,
                    "conns": conns,
                    "round": index,
                    "order": [t.name for t in order],
                    "result": result.to_dict(),
                    "replicas": target.replicas(),
                    "idle_runtime_cpu": round(idle_cpu, 3) if others else None,  # cores the other side used
                    "loadavg_1m": round(os.getloadavg()[0], 2),  # others' work on the machine shows here
                }
                if result.errors and target.name not in bench.failures:
                    bench.failures[target.name] = procs.sample_failure(target.url, target.body, conns)
                    record["failure_sample"] = bench.failures[target.name]
                bench.records.append(record)
                p99 = f"{result.p99_ms:.1f}" if result.p99_ms is not None else "-"
                bench.log(
                    f"   {scenario:9} {target.name:14} c={conns:<3} r{index + 1}: {result.rps:7.0f} req/s "
                    f"p99 {p99:>6} ms  errors {result.errors}  replicas {record['replicas']}"
                )


def _replica_processes(bench: Bench, target: Target) -> int:
    """Serve replica processes the service really has (the pods: one process per component)."""
    if target.runtime != "ray" or bench.isvc is None:
        return len(target.replicas() or {})
    titles = []
    for proc in bench.isvc.processes():
        with contextlib.suppress(psutil.Error, IndexError):
            titles.append(proc.cmdline()[0])
    return replica_processes(titles, target.name)


def start_ray(bench: Bench, sink: bool, attempts: int = 2) -> dict[str, Any]:
    """``isvc up`` serving only ``iris``; seconds to its first 200 on the chain request.

    A start that fails (on an overloaded machine Ray's head can time out) is recorded and tried once
    more, so the other scenarios still run; the start-up goal then fails with the reason.
    """
    failures: list[str] = []
    for attempt in range(attempts):
        isvc = procs.IsvcUp([bench.paths["iris"]], bench.workdir, free_port(), sink=sink)
        bench.isvc = isvc
        isvc.start()
        bench.log(f">> isvc up on {isvc.url} (log {isvc.log_path}); sink {'on' if sink else 'off'}")
        try:
            seconds = procs.wait_200(isvc.infer_url("iris"), manifests.IRIS_BODY, 300.0, isvc.proc)
            break
        except (RuntimeError, TimeoutError) as exc:
            tail = isvc.log_tail(600)
            failures.append(f"{exc}: ...{tail[-300:]}")
            isvc.stop()
            if attempt + 1 == attempts:
                raise SystemExit(f"isvc up failed: {exc}\n{tail}") from exc
            bench.log(f">> isvc up failed to start ({exc}); trying once more")
            sink = sink and procs.port_free(procs.SINK_PORT)
    bench.runtimes["ray"] = isvc.processes()
    status = isvc.local_status("iris")
    bench.log(f">> isvc up -> first 200: {seconds:.1f} s; placement {placement_mode(status.get('placement'))}")
    return {"isvc_up_s": seconds, "iris_status": status, "failed_starts": failures}


def chain(bench: Bench) -> dict[str, Any]:
    """The pod chain against ``iris`` (batching off) and ``iris-batch`` (on), 1/4/16/32 clients."""
    from bench import memory

    assert bench.isvc is not None
    out: dict[str, Any] = {}
    common = ["--model_name=iris", "--model_dir=models/iris/v1", "--enable_grpc=false"]
    started = time.monotonic()
    with start_chain("predictors.sklearn", common, "transformers.iris", common) as pods:
        pods_url = f"{pods.url}/v2/models/iris/infer"
        procs.wait_200(pods_url, manifests.IRIS_BODY, 60.0)
        out["pods_first_200_s"] = time.monotonic() - started  # spawn -> first 200, as for isvc up
        pod_pids = [c.process.pid for c in (pods.predictor, pods.transformer) if c and c.process]
        bench.runtimes["pods"] = procs.session_processes(pod_pids)
        pod = Target("pods", pods_url, manifests.IRIS_BODY, "pods", lambda: PODS_REPLICAS)
        ray = bench.ray_target("iris")
        bench.log(">> warm-up; memory (PSS) of iris + sink and of the pod chain")
        for target in (pod, ray):
            bench.warm(target)
        time.sleep(1.0)
        out["memory"] = {"ray": memory.summary(bench.isvc.processes()), "pods": memory.summary(bench.runtimes["pods"])}
        if bench.isvc.proc is not None:
            out["memory"]["ray"]["runtime_pss_mib"] = memory.runtime_pss_mib([bench.isvc.proc.pid])
        ok, message = bench.isvc.apply(bench.paths["iris-batch"])
        batch_status = bench.isvc.local_status("iris-batch")
        warnings = batch_status.get("warnings") or []
        honoured = ok and not any("batcher" in w for w in warnings)
        out["batching"] = {"applied": ok, "honoured": honoured, "warnings": warnings, "message": message[-500:]}
        targets = [pod, ray]
        if honoured:
            batch = bench.ray_target("iris-batch")
            bench.warm(batch)
            targets.append(batch)
        else:
            bench.log(">> batcher not honoured by the local runtime: batching rounds n/a")
        bench.runtimes["ray"] = bench.isvc.processes()
        out["placement"] = {t.name: bench.isvc.local_status(t.name).get("placement") for t in targets[1:]}
        rounds(bench, "chain", targets, bench.conns)
        bench.isvc.delete("iris-batch")
    bench.runtimes.pop("pods", None)
    return out


def _drain(db: Path, service: str, expected: int, deadline_s: float = 20.0) -> int | None:
    """Stored events, once they reach ``expected`` or stop growing for 3 s."""
    stored, last_change, started = procs.stored_events(db, service), time.monotonic(), time.monotonic()
    while time.monotonic() - started < deadline_s and (stored or 0) < expected:
        time.sleep(0.5)
        now = procs.stored_events(db, service)
        if now != stored:
            stored, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 3.0:
            break
    return stored


def logger(bench: Bench, conns: int = 16) -> dict[str, Any]:
    """``iris`` against ``iris-logged`` (mode all, both components, into the kit's sink)."""
    assert bench.isvc is not None
    if not bench.isvc.sink:
        return {"note": f"port {procs.SINK_PORT} was taken: no sink of this run, logger scenario n/a"}
    ok, message = bench.isvc.apply(bench.paths["iris-logged"])
    if not ok:
        return {"note": f"iris-logged not ready: {message[-300:]}"}
    bench.runtimes["ray"] = bench.isvc.processes()
    logged, plain = bench.ray_target("iris-logged"), bench.ray_target("iris")
    client_ok = bench.warm(logged).ok  # the warm-up's requests are logged too
    bench.warm(plain)
    before = len(bench.records)
    rounds(bench, "logger", [plain, logged], [conns])
    mine = [r["result"] for r in bench.records[before:] if r["target"] == logged.name]
    client_ok += sum(r["requests"] - r["non2xx"] for r in mine)
    # wrk counts only the requests that completed before it stopped; the gateway also answered the
    # ones in flight then, and logged them: the expected count is the gateway's.
    served = answered(bench.isvc.metrics(), logged.name)
    expected = 4 * (served if served is not None else client_ok)  # 2 components x (request + response)
    stored = _drain(bench.isvc.events_db, logged.name, expected)
    if stored is None:
        stored = procs.stored_events_cli(bench.isvc.events_db, logged.name)
    counters = logger_counters(bench.isvc.metrics(), logged.name)
    bench.isvc.delete("iris-logged")
    bench.log(f">> events stored {stored} of {expected} expected; logger counters {counters}")
    return {
        "expected_events": expected,
        "stored_events": stored,
        "answered_gateway": served,
        "answered_client": client_ok,
        "counters": counters,
    }


def predictor_only(bench: Bench) -> dict[str, Any]:
    """``iris-predictor`` (no transformer) against a bare KServe ModelServer serving the same predictor."""
    assert bench.isvc is not None
    bench.isvc.delete("iris")
    ok, message = bench.isvc.apply(bench.paths["iris-predictor"])
    if not ok:
        return {"note": f"iris-predictor not ready: {message[-300:]}"}
    args = ["--model_name=iris", "--model_dir=models/iris/v1", "--enable_grpc=false"]
    bare = ComponentProcess("predictors.sklearn", args)
    try:
        started = time.monotonic()
        bare.start()
        url = f"{bare.url}/v2/models/iris/infer"
        procs.wait_200(url, manifests.PREDICTOR_BODY, 60.0, bare.process)
        spawn_s = time.monotonic() - started
        assert bare.process is not None
        bench.runtimes["pods"] = procs.session_processes([bare.process.pid])
        bench.runtimes["ray"] = bench.isvc.processes()
        server = Target("modelserver", url, manifests.PREDICTOR_BODY, "pods", lambda: {"predictor": 1})
        ray = bench.ray_target("iris-predictor", manifests.PREDICTOR_BODY)
        for target in (server, ray):
            bench.warm(target)
        rounds(bench, "predictor", [server, ray], bench.conns)
    finally:
        bare.stop()
        bench.runtimes.pop("pods", None)
        bench.isvc.delete("iris-predictor")
    return {"modelserver_first_200_s": spawn_s}


def pod_spawn(cycles: int) -> list[float]:
    """A fresh predictor process: spawn -> first 200, ``cycles`` times."""
    args = ["--model_name=iris", "--model_dir=models/iris/v1", "--enable_grpc=false"]
    seconds = []
    for _ in range(cycles):
        pod = ComponentProcess("predictors.sklearn", args)
        try:
            started = time.monotonic()
            pod.start()
            procs.wait_200(f"{pod.url}/v2/models/iris/infer", manifests.PREDICTOR_BODY, 60.0, pod.process)
            seconds.append(time.monotonic() - started)
        finally:
            pod.stop()
    return seconds


def cold_start(bench: Bench) -> dict[str, Any]:
    """``iris-zero`` at zero replicas -> one request's 200, with the controller log's breakdown."""
    assert bench.isvc is not None
    isvc = bench.isvc
    ok, message = isvc.apply(bench.paths["iris-zero"])
    if not ok and not isvc.get("iris-zero"):
        return {"note": f"iris-zero not applied: {message[-300:]}", "cycles": []}
    session = coldstart.session_dir(p.cmdline() for p in _alive(isvc.processes()))
    cycles = []
    for index in range(bench.cold_cycles):
        to_zero, replicas = coldstart.wait_at_zero(isvc.local_status, "iris-zero", 120.0)
        if to_zero is None:
            cycles.append({"error": f"not at zero after 120 s: {replicas}"})
            break
        sent = time.time()
        response = procs.post(isvc.infer_url("iris-zero"), manifests.IRIS_BODY, timeout=60.0)
        answered = time.time()
        time.sleep(1.0)  # the controller's log line follows the replica's start
        events = coldstart.parse_controller_log(coldstart.controller_lines(session))
        cycle = coldstart.breakdown(events, sent, answered, "iris-zero")
        cycle |= {"status": response.status_code if response is not None else 0, "to_zero_s": to_zero}
        cycles.append(cycle)
        bench.log(f">> cold start {index + 1}: {cycle['total_s']:.2f} s (HTTP {cycle['status']}) {cycle}")
    isvc.delete("iris-zero")
    spawn = pod_spawn(bench.cold_cycles)
    bench.log(f">> pod process spawn -> first 200: {', '.join(f'{s:.2f}' for s in spawn)} s")
    return {"session_dir": str(session) if session else None, "cycles": cycles, "pod_spawn_s": spawn}


def _alive(processes: Sequence[psutil.Process]) -> list[Any]:
    alive = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            proc.cmdline()
            alive.append(proc)
    return alive

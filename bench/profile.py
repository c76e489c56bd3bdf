"""``make profile``: where the time of a request goes, by process, from py-spy samples under load.

Two scenarios, the ones whose ``make bench`` goals are hardest on two cores:

* ``predictor``: ``iris-predictor`` (predictor only) through the gateway, against a bare KServe
  ModelServer serving the same predictor (1 client by default: the latency path);
* ``logger``: ``iris`` against ``iris-logged`` (``logger: {mode: all}`` on both components, into the
  kit's sink), 16 clients: what logging adds per request, in the gateway, the replica and the sink.

For each load, ``py-spy record --nonblocking --format raw`` samples the processes that serve it
(the ``isvc up`` gateway, the unit's replica, the sink; or the ModelServer) while the load runs;
``breakdown`` turns the raw stacks into milliseconds of Python per request in a few categories (the
deepest frame that matches one wins; frames waiting in the event loop count as idle). The raw files
land in ``bench/results/profile-*.txt``, loadable in speedscope. Needs py-spy (a Ray dependency) and
ptrace rights (root, or ``kernel.yama.ptrace_scope=0``). One scenario at a time, nothing else heavy
running: a profile of a busy machine shows the machine.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from bench import load, manifests, procs
from local.processes import ComponentProcess, free_port

RESULTS = Path(__file__).resolve().parent / "results"
IDLE_LEAVES = {"Thread.run", "_run_once", "Runner.run", "_worker", "run_forever", "run_until_complete"}
BARE_ARGS = ["--model_name=iris", "--model_dir=models/iris/v1", "--enable_grpc=false"]
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("idle (event loop waiting)", ("EpollSelector.select", "Worker.main_loop", "select (selectors")),
    ("model: sklearn predict", ("SklearnModel.compute", "TabularModel.predict")),
    ("logging + its middleware", ("InferenceLogger", "EventDelivery", "InferenceLogMiddleware", "batch_body")),
    ("sink: parse + store", ("parse_batch", "insert_many", "write_many", "GroupCommitWriter")),
    ("KServe data plane: decode/encode", ("RestInference", "InferRequest", "InferResponse", "dataplane")),
    ("Serve handle: router + gRPC client", ("AsyncioRouter", "UnaryUnaryCall", "replica_wrapper", "request_router")),
    ("Serve replica: gRPC server + wrapping", ("HandleRequestWithRejection", "handle_request_with_rejection",
                                               "_wrap_grpc_call", "grpc_authentication_server")),
    ("HTTP server + middleware", ("httptools_impl", "RequestResponseCycle", "Starlette.__call__", "FastAPI.__call__",
                                  "ServerErrorMiddleware", "ExceptionMiddleware", "ProxyHeadersMiddleware")),
    ("metrics and tracing", ("Metric._record", "Histogram.observe", "tracing_decorator")),
]  # fmt: skip


def breakdown(raw: str, rate_hz: float, requests: int) -> dict[str, float]:
    """Milliseconds of sampled time per request in each category of ``CATEGORIES`` (plus ``other``)."""
    totals: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        leaf = frames[-1].split(" (")[0]
        if leaf in IDLE_LEAVES:
            category = CATEGORIES[0][0]  # a loop or pool thread in native code: waiting (uvloop, grpc, queue)
        elif leaf == "DefaultDialect.do_commit":
            category = "waiting on disk (SQLite commit, fsync)"
        else:
            category = next(
                (name for frame in reversed(frames) for name, keys in CATEGORIES if any(k in frame for k in keys)),
                "other",
            )
        totals[category] += int(count)
    per_sample_ms = 1000.0 / rate_hz
    return {name: round(n * per_sample_ms / max(requests, 1), 3) for name, n in totals.most_common()}


def record(pids: dict[str, int], seconds: float, rate_hz: int, out: Path) -> dict[str, str]:
    """py-spy on every pid at once for ``seconds``; the raw text by name."""
    spy = shutil.which("py-spy") or str(procs.BIN / "py-spy")
    files = {name: out / f"profile-{name}.txt" for name in pids}
    runs = [
        subprocess.Popen(
            [spy, "record", "-p", str(pid), "-r", str(rate_hz), "-d", str(int(seconds)), "-f", "raw",
             "-o", str(files[name]), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]  # fmt: skip
    for run in runs:
        run.wait(timeout=seconds + 60)
    return {name: path.read_text() if path.exists() else "" for name, path in files.items()}


def profile_load(
    label: str, url: str, body: str, conns: int, pids: dict[str, int], seconds: float, rate_hz: int
) -> dict[str, object]:
    """Run the load for ``seconds + 2`` and record ``pids`` during its middle ``seconds``."""
    result: dict[str, load.LoadResult] = {}
    runner = threading.Thread(target=lambda: result.update(r=load.load(url, body, conns, seconds + 2)))
    runner.start()
    time.sleep(1.0)
    raws = record(pids, seconds, rate_hz, RESULTS)
    runner.join()
    stats = result["r"]
    requests = int(stats.rps * seconds)
    for name in list(raws):
        (RESULTS / f"profile-{label}-{name}.txt").write_text(raws[name])
        (RESULTS / f"profile-{name}.txt").unlink(missing_ok=True)
    return {
        "label": label,
        "clients": conns,
        "req_s": round(stats.rps, 1),
        "p50_ms": stats.p50_ms,
        "errors": stats.errors,
        "ms_per_request": {name: breakdown(raw, rate_hz, requests) for name, raw in raws.items()},
    }


def replica_pid(isvc: procs.IsvcUp, service: str) -> int:
    """The replica of ``service``'s unit (its title ``ray::ServeReplica:[namespace.]<service>-...``)."""
    title = re.compile(rf"ServeReplica:(?:[a-z0-9-]+\.)?{re.escape(service)}-(?:predictor|transformer)-")
    for proc in isvc.processes():
        try:
            if title.search(" ".join(proc.cmdline())):
                return proc.pid
        except psutil.Error:
            continue
    raise RuntimeError(f"no replica of {service} found")


def role_pids(isvc: procs.IsvcUp) -> dict[str, int]:
    assert isvc.proc is not None
    roles = {"gateway": isvc.proc.pid}
    for proc in isvc.processes():
        try:
            if "local.cli.main sink" in " ".join(proc.cmdline()):
                roles["sink"] = proc.pid
        except psutil.Error:
            continue
    return roles


def run(scenarios: Sequence[str], conns_predictor: int, conns_logger: int, seconds: float, rate_hz: int) -> list:
    RESULTS.mkdir(parents=True, exist_ok=True)
    reports: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="isvc-profile-") as tmp:
        paths = manifests.write(Path(tmp) / "manifests", manifests.variants())
        files = [paths[name] for name in ("iris", "iris-logged", "iris-predictor")]
        isvc = procs.IsvcUp(files, Path(tmp), free_port(), sink=procs.port_free(procs.SINK_PORT))
        isvc.start()
        try:
            procs.wait_200(isvc.infer_url("iris"), manifests.IRIS_BODY, 300.0, isvc.proc)
            procs.wait_200(isvc.infer_url("iris-predictor"), manifests.PREDICTOR_BODY, 120.0, isvc.proc)
            roles = role_pids(isvc)
            if "predictor" in scenarios:
                pids = {"gateway": roles["gateway"], "replica": replica_pid(isvc, "iris-predictor")}
                url = isvc.infer_url("iris-predictor")
                body = manifests.PREDICTOR_BODY
                reports.append(profile_load("ray-predictor", url, body, conns_predictor, pids, seconds, rate_hz))
                bare = ComponentProcess("predictors.sklearn", BARE_ARGS)
                bare.start()
                try:
                    url = f"{bare.url}/v2/models/iris/infer"
                    procs.wait_200(url, manifests.PREDICTOR_BODY, 60.0, bare.process)
                    assert bare.process is not None
                    pids = {"modelserver": bare.process.pid}
                    reports.append(profile_load("modelserver", url, body, conns_predictor, pids, seconds, rate_hz))
                finally:
                    bare.stop()
            if "logger" in scenarios:
                for service in ("iris", "iris-logged"):
                    pids = {"gateway": roles["gateway"], "replica": replica_pid(isvc, service)}
                    if service == "iris-logged" and "sink" in roles:
                        pids["sink"] = roles["sink"]
                    url = isvc.infer_url(service)
                    reports.append(
                        profile_load(service, url, manifests.IRIS_BODY, conns_logger, pids, seconds, rate_hz)
                    )
        finally:
            isvc.stop()
    return reports


def print_reports(reports: list) -> None:
    for report in reports:
        print(f"\n{report['label']}: {report['clients']} clients, {report['req_s']} req/s, p50 {report['p50_ms']} ms, "
              f"errors {report['errors']}; sampled ms per request:")  # fmt: skip
        for process, categories in report["ms_per_request"].items():
            total = sum(categories.values())
            busy = total - categories.get(CATEGORIES[0][0], 0.0)
            print(f"  {process}: {busy:.3f} ms busy of {total:.3f} sampled")
            for name, ms in categories.items():
                print(f"    {ms:7.3f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="predictor,logger", help="scenarios (%(default)s)")
    parser.add_argument("--predictor-clients", type=int, default=1, help="(%(default)s)")
    parser.add_argument("--logger-clients", type=int, default=16, help="(%(default)s)")
    parser.add_argument("--seconds", type=float, default=8.0, help="sampled seconds per load (%(default)s)")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second (%(default)s)")
    args = parser.parse_args(argv)
    reports = run(args.only.split(","), args.predictor_clients, args.logger_clients, args.seconds, args.rate)
    print_reports(reports)
    import json

    (RESULTS / "profile.json").write_text(json.dumps(reports, indent=2))
    print(f"\nraw profiles (speedscope-compatible): {RESULTS}/profile-*.txt; summary: {RESULTS}/profile.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``make loadtest``: N V2 requests from C clients against iris with every request and response logged.

``.venv/bin/python bench/loadtest.py [--requests 10000] [--clients 16] [--max-load 3]``

1. Waits (up to ``--wait-quiet`` s) for the machine's 1-minute load to fall under ``--max-load``: a
   load test on cores other work is using measures that work.
2. Starts ``isvc up --sink`` in a fresh temporary directory: its own Ray head, revision store, sink
   port and SQLite events database. It serves ``manifests/iris.yaml`` as ``bench/manifests.py`` pins it
   (one replica per component, no scale to zero) with ``logger: {mode: all}`` on both components.
3. Sends exactly N requests (``bench/counted_load.py``): request n carries ``Ce-Id: load-n``; none is
   retried, so every request is logged at most once.
4. Waits for delivery: until the sink holds N events of each (component, type), or its counts and the
   gateway's logger counters stop moving for ``--settle`` s.
5. Counts what the sink stored per component and type with the sink's own query
   (``local.sink.query.counts``, what ``isvc events NAME --count`` prints) and reads the entry
   component's logger counters from the gateway's ``/metrics`` (the predictor logs in its replica).

Prints a table and writes ``bench/results/loadtest.json``. Exit 1 when a goal fails: no errors; N
requests and N responses stored per component, each ce-id once; for the entry component exactly the
ce-ids sent; the gateway answered N with 200; nothing dropped or failed. Not part of ``make test``: it
takes minutes of the whole machine and measures it (bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import counted_load, manifests, procs
from bench.stats import FAIL, PASS, answered, logger_counters

NAME = "iris"
COMPONENTS = ("transformer", "predictor")
TYPES = ("request", "response")
RESULTS = Path(__file__).resolve().parent / "results" / "loadtest.json"
ID_PREFIX = "load-"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000, help="requests to send (%(default)s)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (%(default)s)")
    parser.add_argument("--max-load", type=float, default=3.0, help="start below this 1-min load (%(default)s)")
    parser.add_argument("--wait-quiet", type=float, default=600.0, help="longest wait for it, s (%(default)s)")
    parser.add_argument("--settle", type=float, default=10.0, help="delivery done when still this long (%(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    return parser.parse_args(argv)


def wait_quiet(max_load: float, wait_s: float, log: Any = print) -> float:
    """The 1-minute load average once it is under ``max_load`` (or after ``wait_s``, whatever it is)."""
    deadline = time.monotonic() + wait_s
    while (load := os.getloadavg()[0]) >= max_load and time.monotonic() < deadline:
        log(f">> load {load:.2f} >= {max_load}: waiting for a quieter machine")
        time.sleep(15)
    return load


def expected_counts(requests: int) -> dict[tuple[str, str], int]:
    return {(component, kind): requests for component in COMPONENTS for kind in TYPES}


def stored_counts(db: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(component, request|response) -> (events, distinct ce-ids), by the sink's own query."""
    from local.sink.query import counts
    from local.sink.store import EventStore

    if not db.exists():
        return {}
    store = EventStore(f"sqlite:///{db}", create=False)
    try:
        return {(c.component or "", c.type.rsplit(".", 1)[-1]): (c.events, c.ids) for c in counts(store, NAME)}
    except Exception:  # the sink has not created its table yet
        return {}
    finally:
        store.dispose()


def entry_ids(db: Path, component: str) -> set[str]:
    from sqlalchemy import select

    from local.sink.store import EventStore

    store = EventStore(f"sqlite:///{db}", create=False)
    try:
        table = store.table
        query = select(table.c.id).where(table.c.inferenceservicename == NAME, table.c.component == component)
        with store.engine.connect() as connection:
            return {row[0] for row in connection.execute(query)}
    finally:
        store.dispose()


def wait_delivered(isvc: procs.IsvcUp, requests: int, settle_s: float, deadline_s: float = 300.0) -> float:
    """Seconds until the sink holds everything expected, or nothing moved for ``settle_s``."""
    started = last_change = time.monotonic()
    previous: Any = None
    want = expected_counts(requests)
    while time.monotonic() - started < deadline_s:
        stored = stored_counts(isvc.events_db)
        if all(stored.get(key, (0, 0))[0] >= n for key, n in want.items()):
            break
        now = (stored, logger_counters(isvc.metrics(), NAME))
        if now != previous:
            previous, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > settle_s:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def goals(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, measured, goal, verdict) rows; pure, from the report ``main`` assembles."""
    n = report["requests"]
    load = report["load"]
    rows = [("errors", str(load["errors"]), "0", PASS if load["errors"] == 0 else FAIL)]
    served = report["gateway_answered_200"]
    rows.append(("gateway answered 200", str(served), str(n), PASS if served == n else FAIL))
    for (component, kind), want in expected_counts(n).items():
        events, ids = report["stored"].get(f"{component}/{kind}", (0, 0))
        ok = events == want and ids == want
        rows.append((f"stored {component} {kind}s", f"{events} ({ids} ids)", str(want), PASS if ok else FAIL))
    missing, unexpected = report["entry_ids_missing"], report["entry_ids_unexpected"]
    rows.append(
        (
            "entry ce-ids = sent",
            f"{missing} missing, {unexpected} other",
            "0, 0",
            PASS if missing == unexpected == 0 else FAIL,
        )
    )
    counters = report["logger_counters"]
    for outcome in ("dropped", "failed"):
        value = int(counters.get(outcome, 0))
        rows.append((f"logger {outcome} (gateway)", str(value), "0", PASS if value == 0 else FAIL))
    return rows


def table(report: dict[str, Any]) -> str:
    load = report["load"]
    p50, p99 = load["p50_ms"], load["p99_ms"]
    lines = [
        f"load test: {report['requests']} requests, {report['clients']} clients, {NAME} with logger mode all "
        f"on {' and '.join(COMPONENTS)} ({report['placement']}); load average {report['load_before']:.2f} before, "
        f"{report['load_after']:.2f} after",
        f"  req/s {load['rps']:.0f}   p50 {p50:.2f} ms   p99 {p99:.2f} ms   ({load['seconds']:.1f} s; "
        f"statuses {load['statuses']}; delivery settled {report['delivery_s']:.1f} s after the last answer)"
        if p50 is not None and p99 is not None
        else f"  no request answered (statuses {load['statuses']}, transport errors {load['transport_errors']})",
        f"  gateway logger counters ({COMPONENTS[0]}): "
        + ", ".join(f"{k} {int(v)}" for k, v in sorted(report["logger_counters"].items())),
        "",
        f"  {'what':<30} {'measured':<24} {'goal':<8} verdict",
    ]
    lines += [f"  {what:<30} {value:<24} {goal:<8} {verdict}" for what, value, goal, verdict in goals(report)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from local.processes import free_port

    load_before = wait_quiet(args.max_load, args.wait_quiet)
    workdir = Path(tempfile.mkdtemp(prefix="isvc-loadtest-"))
    document = manifests.variant(manifests.base(), NAME, logger=True)
    path = manifests.write(workdir, {NAME: document})[NAME]
    isvc = procs.IsvcUp([path], workdir, free_port(), sink=True, sink_port=free_port())
    print(f">> isvc up on {isvc.url}, sink on {isvc.sink_port}, events in {isvc.events_db} (log {isvc.log_path})")
    try:
        isvc.start()
        ready = _wait_ready(isvc)
        status = isvc.local_status(NAME)
        print(f">> ready in {ready:.1f} s; placement {status.get('placement', {}).get('mode')}; sending")
        body = manifests.IRIS_BODY.encode()
        result = counted_load.run(
            "127.0.0.1",
            isvc.port,
            f"/v2/models/{NAME}/infer",
            body,
            requests=args.requests,
            clients=args.clients,
            id_prefix=ID_PREFIX,
            is_answer=lambda content: b'"outputs"' in content,
        )
        print(f">> {result.requests} sent in {result.seconds:.1f} s; waiting for the loggers to deliver")
        delivery_s = wait_delivered(isvc, args.requests, args.settle)
        metrics_text = isvc.metrics()
        stored = stored_counts(isvc.events_db)
        ids = entry_ids(isvc.events_db, COMPONENTS[0]) if isvc.events_db.exists() else set()
        sent = {f"{ID_PREFIX}{n}" for n in range(args.requests)}
        report = {
            "requests": args.requests,
            "clients": args.clients,
            "placement": status.get("placement", {}).get("mode"),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "load": result.to_dict(),
            "delivery_s": delivery_s,
            "gateway_answered_200": answered(metrics_text, NAME) or 0,
            "logger_counters": logger_counters(metrics_text, NAME),
            "stored": {f"{component}/{kind}": list(value) for (component, kind), value in sorted(stored.items())},
            "entry_ids_missing": len(sent - ids),
            "entry_ids_unexpected": len(ids - sent),
        }
    finally:
        isvc.stop()
    report["goals"] = [dict(zip(("what", "measured", "goal", "verdict"), row, strict=True)) for row in goals(report)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f">> {RESULTS}")
    if not args.keep:
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(workdir)
    return 0 if all(row[3] == PASS for row in goals(report)) else 1


def _wait_ready(isvc: procs.IsvcUp, deadline_s: float = 300.0) -> float:
    """Seconds until the model answers ready (no inference is sent: every one sent is counted)."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if isvc.proc is not None and isvc.proc.poll() is not None:
            raise SystemExit(f"isvc up exited with {isvc.proc.returncode}:\n{isvc.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{isvc.url}/v2/models/{NAME}/ready", timeout=5).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"{NAME} not ready within {deadline_s:.0f} s:\n{isvc.log_tail()}")


if __name__ == "__main__":
    sys.exit(main())

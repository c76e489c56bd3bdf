"""Cold start from zero replicas, with its breakdown, against a pod process's spawn -> first 200.

The Ray side: ``iris-zero`` (min 0, max 1, 2 s window and retention) is applied; once ``isvc get``
shows 0 replicas for both components, one request is timed. The breakdown comes from Ray Serve's
controller log (``SESSION/logs/serve/controller_*.log``), which logs per deployment
``Upscaling Deployment(...) from 0 to 1 replicas`` (the scaling decision) and per replica
``Replica(...) started successfully ... after X s ... took Y s`` (``ray/serve/_private/deployment_state.py``:
X from the actor's creation to running, Y the constructor, reconfigure and first health check). So:
scaling decision = upscale line - request sent; replica start (worker lease, actor) = X - Y;
constructor (imports + model load) = Y; routing = 200 received - last replica running. Without the
log, only the total is reported. The parsing is pure and unit-tested.

The pod side: a fresh ``python -m predictors.sklearn`` process, from spawn to its first 200.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

_STAMP = r"(?P<stamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
_UPSCALE = re.compile(_STAMP + r".*Upscaling Deployment\(name='(?P<deployment>[^']+)', app='(?P<app>[^']+)'\) from 0")
_STARTED = re.compile(
    _STAMP + r".*Replica\(id='[^']+', deployment='(?P<deployment>[^']+)', app='(?P<app>[^']+)'\) started successfully"
    r".*? after (?P<after>[\d.]+)s(?:.*? took (?P<took>[\d.]+)s)?"
)
_SESSION = re.compile(r"(/[^\s=]*?/session_\d{4}-\d\d-\d\d_[\d_-]+?)(?:/|$|\s)")


@dataclass(frozen=True)
class LogEvent:
    time: float  # wall clock, seconds since the epoch
    kind: str  # "upscale" or "started"
    app: str
    deployment: str
    after_s: float | None = None
    took_s: float | None = None


def _wall(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()  # the controller logs local time


def parse_controller_log(lines: Iterable[str]) -> list[LogEvent]:
    events = []
    for line in lines:
        if match := _UPSCALE.search(line):
            events.append(LogEvent(_wall(match["stamp"]), "upscale", match["app"], match["deployment"]))
        elif match := _STARTED.search(line):
            took = float(match["took"]) if match["took"] else None
            events.append(
                LogEvent(
                    _wall(match["stamp"]), "started", match["app"], match["deployment"], float(match["after"]), took
                )
            )
    return events


def session_dir(cmdlines: Iterable[Sequence[str]]) -> Path | None:
    """The Ray session directory named in the command lines of the session's processes."""
    for cmdline in cmdlines:
        if match := _SESSION.search(" ".join(cmdline) + " "):
            return Path(match.group(1))
    return None


def controller_lines(session: Path | None) -> list[str]:
    if session is None:
        return []
    lines: list[str] = []
    for path in sorted(glob.glob(str(session / "logs" / "serve" / "controller_*.log"))):
        lines += Path(path).read_text(errors="replace").splitlines()
    return lines


def breakdown(events: Sequence[LogEvent], sent: float, answered: float, service: str) -> dict[str, Any]:
    """Split ``answered - sent`` with the controller's events of ``service``'s apps in that window."""
    mine = [e for e in events if service in e.app and sent - 0.5 <= e.time <= answered + 0.5]
    total = answered - sent
    upscales = [e for e in mine if e.kind == "upscale"]
    started = [e for e in mine if e.kind == "started" and e.after_s is not None]
    result: dict[str, Any] = {"total_s": total, "replicas_started": len(started)}
    if not started:
        result["note"] = "no replica start found in the controller log"
        return result
    last = max(started, key=lambda e: e.time)
    decision_at = min(e.time for e in upscales) if upscales else None
    assert last.after_s is not None
    created_at = last.time - last.after_s
    constructor = last.took_s
    result |= {
        "scaling_decision_s": max(0.0, decision_at - sent) if decision_at is not None else None,
        "to_replica_creation_s": max(0.0, created_at - (decision_at if decision_at is not None else sent)),
        "replica_start_s": last.after_s - constructor if constructor is not None else last.after_s,
        "constructor_s": constructor,
        "routing_s": max(0.0, answered - last.time),
        "critical_replica": f"{last.app}/{last.deployment}",
    }
    return result


def wait_at_zero(status_of: Any, name: str, deadline_s: float) -> tuple[float | None, dict[str, int]]:
    """Poll ``status_of(name)`` (status.localRuntime) until every component has 0 replicas."""
    started = time.monotonic()
    replicas: dict[str, int] = {}
    while time.monotonic() - started < deadline_s:
        replicas = status_of(name).get("replicas") or {}
        if replicas and all(n == 0 for n in replicas.values()):
            return time.monotonic() - started, replicas
        time.sleep(0.5)
    return None, replicas

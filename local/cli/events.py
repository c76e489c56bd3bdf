"""``isvc events NAME``: the inference-log events the sink stored for an InferenceService.

One line per inference: request and response joined by ce-id (and component), with the latency between
their ``ce-time``; a request whose response never came (not a 200, ``mode: request``) shows "missing
response". ``-o json`` prints a JSON list with the bodies for scripts; ``--count`` prints how many events
are stored per component and type instead (all of them, not the newest ``--limit``). ``-n NS`` keeps the
events of that namespace (each event carries its ``namespace`` attribute); ``-A`` (the default) every
namespace. Reads ``--db`` / ``$ISVC_SINK_DB``
/ ``.isvc/events.db``. Exit codes: 0 (also when nothing matched), 1 no database or a database error,
2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from local.cli._output import table

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``90s``, ``10m``, ``1h30m``, ``2d`` (ago), or an ISO 8601 time (UTC if it names no offset)."""
    text = value.strip()
    if text and _DURATION.sub("", text) == "":
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a duration (30s, 10m, 1h30m, 2d) nor an ISO 8601 time"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return int(value)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "events",
        help="show stored inference-log events (request/response pairs with latency)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="InferenceService name")
    parser.add_argument("--component", help="only this component (predictor, transformer)")
    parser.add_argument("--since", type=parse_since, help="only newer events: a duration ago (10m) or an ISO time")
    parser.add_argument("--limit", type=_positive, default=50, help="newest N inferences (%(default)s)")
    parser.add_argument("--count", action="store_true", help="events stored per component and type, not the events")
    parser.add_argument("-o", "--output", choices=["table", "json"], default="table", help="format (%(default)s)")
    parser.add_argument("--db", help="SQLAlchemy URL or SQLite file (default: $ISVC_SINK_DB or .isvc/events.db)")
    parser.add_argument("-n", "--namespace", help="only events of this namespace")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="events of every namespace (the default)")
    parser.set_defaults(handler=run)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}ms"


def run(args: argparse.Namespace) -> int:
    from local.sink.query import counts, pairs
    from local.sink.store import EventStore, default_db_url, sqlite_path

    if args.namespace and args.all_namespaces:
        raise SystemExit("isvc events: -A/--all-namespaces and -n/--namespace exclude each other")
    if args.namespace and args.count:
        raise SystemExit("isvc events: --count tallies every namespace; drop -n")
    url = args.db or default_db_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise RuntimeError(f"no event database at {path} (start `isvc sink`, or pass --db)")
    store = EventStore(url, create=False)
    if args.count:
        try:
            tallies = counts(store, args.name, since=args.since)
        finally:
            store.dispose()
        if args.output == "json":
            print(json.dumps([tally.to_json() for tally in tallies], indent=2))
        else:
            counted = [(t.component or "", t.type.rsplit(".", 1)[-1], t.events, t.ids) for t in tallies]
            print(table(["COMPONENT", "TYPE", "EVENTS", "IDS"], counted) if counted else f"no events for {args.name}")
        return 0
    try:
        found = pairs(store, args.name, component=args.component, since=args.since, limit=args.limit)
    finally:
        store.dispose()
    if args.namespace:
        found = [pair for pair in found if pair.namespace == args.namespace]
    if args.output == "json":
        print(json.dumps([pair.to_json() for pair in found], indent=2))
        return 0
    if not found:
        print(f"no events for {args.name}")
        return 0
    rows = [
        (
            pair.id,
            pair.component,
            pair.endpoint,
            pair.started.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            _ms(pair.latency_ms),
            pair.status,
            len(pair.request.body) if pair.request else "",
            len(pair.response.body) if pair.response else "",
        )
        for pair in found
    ]
    print(table(["ID", "COMPONENT", "ENDPOINT", "TIME (UTC)", "LATENCY", "STATUS", "REQ BYTES", "RESP BYTES"], rows))
    return 0

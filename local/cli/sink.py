"""``isvc sink``: run the kit's CloudEvents sink locally, storing inference-log events for ``isvc events``.

Listens on 127.0.0.1:8099 by default, where a ``logger`` without a ``url`` sends its events, and stores
them in ``.isvc/events.db`` (or ``--db`` / ``$ISVC_SINK_DB``: any SQLAlchemy URL, ``postgresql://`` too).
Serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from local.logger.events import DEFAULT_SINK_URL
from local.sink.server import add_server_arguments, serve

DEFAULT_PORT = urlsplit(DEFAULT_SINK_URL).port or 8099


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sink",
        help="run the CloudEvents sink that stores inference-log events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_arguments(parser, default_port=DEFAULT_PORT)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    serve(args.db, args.host, args.port, args.max_body)
    return 0

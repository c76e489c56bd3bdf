"""``python -m local.sink [--db URL] [--host H] [--port P]``: the event sink, and the container's entrypoint.

The port defaults to ``$PORT`` (Knative sets it) else 8080.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from local.sink.server import add_server_arguments, serve
from local.sink.settings import SinkSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sink", description=__doc__)
    add_server_arguments(parser, default_port=SinkSettings.from_env().port)
    args = parser.parse_args(argv)
    serve(args.db, args.host, args.port, args.max_body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

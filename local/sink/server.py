"""Run the sink under uvicorn: shared by ``python -m local.sink`` (the container) and ``isvc sink``.

Defaults: bind ``$ISVC_BIND_HOST`` else 127.0.0.1; store into ``$ISVC_SINK_DB`` else ``.isvc/events.db``
(read when called, never at import). Must not import ``ray``.
"""

from __future__ import annotations

import argparse

from local.sink.app import DEFAULT_MAX_BODY


def add_server_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    parser.add_argument(
        "--db", default=None, help="SQLAlchemy URL or SQLite file (default: $ISVC_SINK_DB or .isvc/events.db)"
    )
    parser.add_argument("--host", default=None, help="bind address (default: $ISVC_BIND_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help="HTTP port (%(default)s)")
    parser.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest event accepted, in bytes (%(default)s)"
    )


def serve(db: str | None, host: str | None, port: int, max_body: int = DEFAULT_MAX_BODY) -> None:
    """Serve until interrupted."""
    import uvicorn

    from local.sink.app import create_app
    from local.sink.settings import SinkSettings
    from local.sink.store import EventStore, default_db_url

    store = EventStore(db or default_db_url())
    bind = host or SinkSettings.from_env().bind_host
    where = store.engine.url.render_as_string(hide_password=True)
    print(f"event sink on http://{bind}:{port}/ storing into {where}", flush=True)
    try:
        uvicorn.run(create_app(store, max_body=max_body), host=bind, port=port, log_level="warning")
    finally:
        store.dispose()

"""The environment variables the event sink reads, in one place.

The sink's image carries Starlette, uvicorn, SQLAlchemy and the cloudevents SDK only (no pydantic), so
its three settings are read here with the standard library rather than by ``local.settings``:

* ``ISVC_SINK_DB``: the SQLAlchemy URL (or SQLite file) events are stored in; default ``.isvc/events.db``;
* ``ISVC_BIND_HOST``: the address it listens on (the image sets ``0.0.0.0``); default 127.0.0.1;
* ``PORT``: its port (Knative sets it); default 8080.

``SinkSettings.from_env()`` reads them when called, never at import; an empty variable counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DB_ENV = "ISVC_SINK_DB"
BIND_HOST_ENV = "ISVC_BIND_HOST"
PORT_ENV = "PORT"
DEFAULT_DB_PATH = Path(".isvc") / "events.db"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class SinkSettings:
    db_url: str = f"sqlite:///{DEFAULT_DB_PATH}"
    bind_host: str = "127.0.0.1"
    port: int = DEFAULT_PORT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SinkSettings:
        env = os.environ if environ is None else environ
        defaults = cls()
        port = env.get(PORT_ENV) or str(defaults.port)
        if not port.isdigit():
            raise ValueError(f"{PORT_ENV}: expected a port number, got {port!r}")
        return cls(
            db_url=env.get(DB_ENV) or defaults.db_url,
            bind_host=env.get(BIND_HOST_ENV) or defaults.bind_host,
            port=int(port),
        )

"""Notice that the Ray cluster under ``isvc up`` is gone, so ``isvc up`` says so and exits instead of hanging.

Without its GCS or raylet nothing can be served, and Ray's own reaction is slow: with the GCS gone,
every call to Serve hangs, and 60 s later the driver's core worker ends the process ("Failed to connect
to GCS within 60 seconds", ``gcs_rpc_server_reconnect_timeout_s``). ``RayWatch`` is a daemon thread
that asks a ``check`` every ``interval_s`` and calls ``on_lost(reason)`` once when it answers a reason:

* a head of the runtime's own (``LocalHead.lost``): its GCS or raylet process exited (they are
  children of ``isvc up``, so this is a ``poll`` of each, no Ray call);
* a cluster given with ``--ray-address`` (``gcs_reachable``): its GCS port refused ``failures``
  connections in a row.

Imports no Ray: the checks are plain process and socket probes.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
Check = Callable[[], "str | None"]


class RayWatch:
    """Calls ``on_lost`` once, from its own thread, when ``check`` reports the cluster gone."""

    def __init__(self, check: Check, on_lost: Callable[[str], None], interval_s: float = 0.5):
        self._check = check
        self._on_lost = on_lost
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reason: str | None = None

    def start(self) -> RayWatch:
        self._thread = threading.Thread(target=self._run, name="isvc-ray-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (before a stop that ends Ray on purpose)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                reason = self._check()
            except Exception as exc:  # a probe that fails is no verdict
                log.debug("ray watch: %s", exc)
                continue
            if reason is not None and not self._stop.is_set():
                self.reason = reason
                self._stop.set()
                self._on_lost(reason)
                return


def gcs_reachable(address: str, failures: int = 3, timeout_s: float = 1.0) -> Check:
    """A check for a Ray cluster at ``address`` (GCS ``host:port``): gone after ``failures`` refusals in a row."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    target = (host.strip("[]") or "127.0.0.1", int(port))
    missed = 0

    def check() -> str | None:
        nonlocal missed
        try:
            with socket.create_connection(target, timeout=timeout_s):
                missed = 0
                return None
        except OSError as exc:
            missed += 1
            if missed >= failures:
                return f"the Ray cluster's GCS at {address} does not answer ({exc.strerror or exc})"
            return None

    return check

"""A snapshot of the runtime's statuses, refreshed by a daemon thread: no Ray call on the reader's thread.

``runtime.statuses()`` is a blocking call to the Serve controller; readers on the gateway's event loop
(the ``/metrics`` collector) take ``LiveStatuses.snapshot()`` instead, at most ``interval_s`` old (empty
until the first refresh). The snapshot is replaced whole, never mutated. Must not import ``ray``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any


class LiveStatuses:
    """Starts its refresher on the first ``snapshot()``; the thread is a daemon (it ends with the process)."""

    def __init__(self, statuses: Callable[[], dict[str, Any]], interval_s: float = 1.0) -> None:
        self._statuses = statuses
        self.interval_s = interval_s
        self._snapshot: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def snapshot(self) -> dict[str, Any]:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._refresh, name="isvc-status-refresh", daemon=True)
                    thread.start()
                    self._thread = thread
        return self._snapshot

    def _refresh(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the runtime is stopping: keep the last snapshot
                self._snapshot = dict(self._statuses())
            time.sleep(self.interval_s)

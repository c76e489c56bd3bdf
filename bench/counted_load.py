"""An exact-count load generator: N POSTs from C client threads, every request counted, none retried.

Unlike ``bench/load.py`` (wrk or httpx for a duration), this sends exactly ``requests`` requests, so
what a logger stored can be compared one for one with what was sent. Each client thread keeps one
keep-alive connection (``http.client``: far less Python per request than httpx, the load tool shares
the cores with the server) and takes request numbers from a shared counter; request ``n`` carries
the header ``Ce-Id: {id_prefix}{n}`` (KServe's logger keeps an incoming ce-id as the event id). A
request that fails is counted as an error and never sent again (a retry would be logged twice); its
connection is opened anew. No knowledge of the runtimes here.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.load import percentile


@dataclass
class CountedResult:
    """What ``run`` saw: statuses by code, transport errors by kind, latencies of the answered requests."""

    requests: int
    clients: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    bad_bodies: int = 0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0) - self.bad_bodies

    @property
    def errors(self) -> int:
        """Requests without a good 200: other statuses, transport errors, 200s whose body was not an answer."""
        return self.requests - self.ok

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def p(self, q: float) -> float | None:
        return percentile(sorted(self.latencies_ms), q)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "clients": self.clients,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": self.p(0.50),
            "p99_ms": self.p(0.99),
            "errors": self.errors,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "transport_errors": dict(self.transport_errors),
            "bad_bodies": self.bad_bodies,
        }


def run(
    host: str,
    port: int,
    path: str,
    body: bytes,
    *,
    requests: int,
    clients: int,
    id_prefix: str = "load-",
    timeout_s: float = 30.0,
    is_answer: Callable[[bytes], bool] = lambda _: True,
) -> CountedResult:
    """Send exactly ``requests`` POSTs of ``body`` to ``http://host:port{path}`` from ``clients`` threads."""
    numbers = itertools.count()
    take = threading.Lock()
    merge = threading.Lock()
    result = CountedResult(requests, clients, 0.0)

    def client() -> None:
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        latencies: list[float] = []
        bad = 0
        connection: http.client.HTTPConnection | None = None
        while True:
            with take:
                n = next(numbers)
            if n >= requests:
                break
            if connection is None:
                connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
            headers = {"content-type": "application/json", "ce-id": f"{id_prefix}{n}"}
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                connection.close()
                connection = None
                continue
            latencies.append((time.perf_counter() - started) * 1e3)
            statuses[response.status] += 1
            if response.status == 200 and not is_answer(content):
                bad += 1
            if response.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with merge:
            result.statuses.update(statuses)
            result.transport_errors.update(errors)
            result.latencies_ms.extend(latencies)
            result.bad_bodies += bad

    threads = [threading.Thread(target=client, name=f"load-client-{i}", daemon=True) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result

"""Load generation: ``wrk -t1 -cN --latency`` with ``v2_infer.lua``, or a small httpx fallback.

``parse_wrk`` turns wrk's report into a ``LoadResult`` (req/s, p50/p99, requests, non-2xx and socket
errors); it is pure and unit-tested. Both generators send the same body to the same URL for the same
duration, so only figures from the same tool are compared (the tool is recorded in every result).
No knowledge of the runtimes here.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).with_name("v2_infer.lua")
WRK_TIMEOUT_S = 10
_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


@dataclass(frozen=True)
class LoadResult:
    """One measurement: ``conns`` connections for ``duration_s`` seconds against one URL."""

    rps: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    non2xx: int
    socket_errors: int
    tool: str
    conns: int = 0
    duration_s: float = 0.0

    @property
    def errors(self) -> int:
        """Requests that failed: non-2xx answers plus socket errors (connect, read, write, timeout)."""
        return self.non2xx + self.socket_errors

    @property
    def ok(self) -> int:
        """Requests answered 2xx (what the loggers must have logged)."""
        return max(0, self.requests - self.non2xx)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"errors": self.errors}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(text: str, conns: int = 0, duration_s: float = 0.0) -> LoadResult:
    """wrk's ``--latency`` report -> LoadResult; a report without a req/s line is an error."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if rps is None:
        raise ValueError(f"not a wrk report:\n{text[-500:]}")
    latency = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return LoadResult(
        rps=float(rps.group(1)),
        p50_ms=latency.get("50"),
        p99_ms=latency.get("99"),
        requests=int(total.group(1)) if total else 0,
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
        tool="wrk",
        conns=conns,
        duration_s=duration_s,
    )


def wrk_command(url: str, conns: int, duration_s: float) -> list[str]:
    seconds = max(1, round(duration_s))
    return [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        "--latency",
        "-s",
        str(LUA),
        url,
    ]


def run_wrk(url: str, body: str, conns: int, duration_s: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-body-", delete=False) as handle:
        handle.write(body)
    try:
        env = os.environ | {"BENCH_BODY_FILE": handle.name}
        out = subprocess.run(
            wrk_command(url, conns, duration_s), capture_output=True, text=True, check=True, env=env
        ).stdout
    finally:
        os.unlink(handle.name)
    return parse_wrk(out, conns, max(1, round(duration_s)))


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _httpx_load(url: str, body: str, conns: int, duration_s: float) -> LoadResult:
    import httpx

    latencies: list[float] = []
    non2xx = socket_errors = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=float(WRK_TIMEOUT_S)) as client:
        stop = time.monotonic() + duration_s

        async def worker() -> None:
            nonlocal non2xx, socket_errors
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    non2xx += response.status_code >= 300
                except httpx.HTTPError:
                    socket_errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1e3)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return LoadResult(
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        requests=len(latencies) + socket_errors,
        non2xx=non2xx,
        socket_errors=socket_errors,
        tool="httpx",
        conns=conns,
        duration_s=duration_s,
    )


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "httpx"


def load(url: str, body: str, conns: int, duration_s: float) -> LoadResult:
    """Drive ``url`` with ``conns`` connections for ``duration_s`` s, by wrk when installed."""
    if tool() == "wrk":
        return run_wrk(url, body, conns, duration_s)
    return asyncio.run(_httpx_load(url, body, conns, duration_s))

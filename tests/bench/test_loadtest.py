"""The load test's parts without a runtime: exact counting with no retry, and its goals."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench import counted_load
from bench.loadtest import expected_counts, goals
from bench.stats import FAIL, PASS


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server
    seen: Counter[str]
    lock: threading.Lock

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        ce_id = self.headers["ce-id"]
        with self.lock:
            self.seen[ce_id] += 1
        if ce_id == "t-13":  # the connection dies without an answer
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, body = (500, b'{"error": "boom"}') if ce_id == "t-7" else (200, b'{"outputs": []}')
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, Counter[str]]]:
    seen: Counter[str] = Counter()
    handler = type("Handler", (_Handler,), {"seen": seen, "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_exactly_n_requests_each_id_once_errors_counted_never_retried(server: tuple[int, Counter[str]]) -> None:
    port, seen = server
    result = counted_load.run(
        "127.0.0.1", port, "/infer", b"{}", requests=200, clients=8, id_prefix="t-", is_answer=lambda b: b"outputs" in b
    )
    assert seen == Counter({f"t-{n}": 1 for n in range(200)})  # every request once: no retry after a failure
    assert result.statuses == Counter({200: 198, 500: 1})
    assert sum(result.transport_errors.values()) == 1
    assert (result.ok, result.errors) == (198, 2)
    assert len(result.latencies_ms) == 199 and result.p(0.5) is not None and result.rps > 0


def test_a_200_that_is_not_an_answer_is_an_error(server: tuple[int, Counter[str]]) -> None:
    port, _ = server
    result = counted_load.run("127.0.0.1", port, "/infer", b"{}", requests=5, clients=2, is_answer=lambda b: False)
    assert (result.ok, result.errors, result.bad_bodies) == (0, 5, 5)


def _report(**changes: Any) -> dict[str, Any]:
    n = 100
    report: dict[str, Any] = {
        "requests": n,
        "load": {"errors": 0},
        "gateway_answered_200": n,
        "stored": {f"{c}/{k}": [count, count] for (c, k), count in expected_counts(n).items()},
        "entry_ids_missing": 0,
        "entry_ids_unexpected": 0,
        "logger_counters": {"produced": 2 * n, "sent": 2 * n, "dropped": 0, "failed": 0},
    }
    report.update(changes)
    return report


def test_every_goal_passes_when_everything_was_stored_once() -> None:
    assert {verdict for *_, verdict in goals(_report())} == {PASS}


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"load": {"errors": 1}}, "errors"),
        ({"gateway_answered_200": 99}, "gateway answered 200"),
        ({"stored": {"transformer/request": [100, 100]}}, "stored predictor responses"),
        (
            {"stored": {f"{c}/{k}": [100, 99] for c in ("transformer", "predictor") for k in ("request", "response")}},
            "stored transformer requests",
        ),
        ({"entry_ids_missing": 3}, "entry ce-ids = sent"),
        ({"logger_counters": {"dropped": 2}}, "logger dropped (gateway)"),
        ({"logger_counters": {"failed": 1}}, "logger failed (gateway)"),
    ],
)
def test_a_missed_goal_fails(changes: dict[str, Any], failing: str) -> None:
    verdicts = {what: verdict for what, _, _, verdict in goals(_report(**changes))}
    assert verdicts[failing] == FAIL

"""wrk's report parsed into a LoadResult: rates, percentiles in ms, and every kind of error counted."""

from __future__ import annotations

import pytest

from bench.load import parse_wrk, percentile, wrk_command

REPORT = """Running 2s test @ http://127.0.0.1:8080/v2/models/iris/infer
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.12ms    1.23ms  20.00ms   80.00%
    Req/Sec     3.12k   100.00     3.30k    70.00%
  Latency Distribution
     50%  812.00us
     75%    5.50ms
     90%    6.30ms
     99%    1.25s
  6234 requests in 2.00s, 1.23MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:   3117.00
Transfer/sec:      0.62MB
"""


def test_parse_wrk_reads_rate_percentiles_and_errors() -> None:
    result = parse_wrk(REPORT, conns=16, duration_s=2)
    assert result.rps == 3117.0
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1250.0)
    assert result.requests == 6234
    assert (result.non2xx, result.socket_errors, result.errors) == (12, 10, 22)
    assert result.ok == 6234 - 12
    assert result.to_dict()["errors"] == 22


def test_a_clean_report_has_no_errors() -> None:
    clean = "\n".join(line for line in REPORT.splitlines() if "errors" not in line and "Non-2xx" not in line)
    result = parse_wrk(clean)
    assert result.errors == 0
    assert result.ok == result.requests == 6234


def test_output_without_a_rate_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_wrk_command_one_thread_n_connections_latency_and_the_lua_body() -> None:
    cmd = wrk_command("http://h/x", 32, 2.4)
    assert cmd[:4] == ["wrk", "-t1", "-c32", "-d2s"]
    assert "--latency" in cmd
    assert cmd[cmd.index("-s") + 1].endswith("v2_infer.lua")
    assert cmd[-1] == "http://h/x"


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([], 0.5) is None

"""The controller log read into a cold-start breakdown; the Ray session directory found in command lines."""

from __future__ import annotations

from datetime import datetime

import pytest

from bench.coldstart import breakdown, parse_controller_log, session_dir

LOG = [
    "INFO 2026-12-01 21:00:00,000 controller 123 -- Deploying new version of Deployment(name='x', app='other')",
    "INFO 2026-12-01 21:00:10,200 controller 123 -- Upscaling Deployment(name='iris-zero-transformer', "
    "app='iris-zero-transformer-00001') from 0 to 1 replicas. Current ongoing requests: 1.00, current running: 0.",
    "INFO 2026-12-01 21:00:10,300 controller 123 -- Adding 1 replica to Deployment(name='iris-zero-transformer').",
    "INFO 2026-12-01 21:00:12,300 controller 123 -- Replica(id='abc', deployment='iris-zero-transformer', "
    "app='iris-zero-transformer-00001') started successfully on node 'n1' after 2.0s (PID: 77). "
    "Replica constructor, reconfigure method, and initial health check took 1.5s.",
]


def wall(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_upscale_and_started_lines_are_parsed() -> None:
    events = parse_controller_log(LOG)
    assert [e.kind for e in events] == ["upscale", "started"]
    started = events[1]
    assert (started.app, started.deployment) == ("iris-zero-transformer-00001", "iris-zero-transformer")
    assert (started.after_s, started.took_s) == (2.0, 1.5)
    assert started.time == wall("2026-12-01 21:00:12,300")


def test_breakdown_splits_the_total() -> None:
    sent, answered = wall("2026-12-01 21:00:10,000"), wall("2026-12-01 21:00:12,500")
    parts = breakdown(parse_controller_log(LOG), sent, answered, "iris-zero")
    assert parts["total_s"] == pytest.approx(2.5)
    assert parts["scaling_decision_s"] == pytest.approx(0.2)
    assert parts["to_replica_creation_s"] == pytest.approx(0.1)  # created at 12.3 - 2.0 = 10.3
    assert parts["replica_start_s"] == pytest.approx(0.5)
    assert parts["constructor_s"] == pytest.approx(1.5)
    assert parts["routing_s"] == pytest.approx(0.2)


def test_breakdown_without_log_lines_reports_the_total_only() -> None:
    parts = breakdown([], 100.0, 101.5, "iris-zero")
    assert parts["total_s"] == pytest.approx(1.5)
    assert "note" in parts
    assert "constructor_s" not in parts


def test_events_of_other_services_or_other_times_are_ignored() -> None:
    sent = wall("2026-12-01 22:00:00,000")
    assert breakdown(parse_controller_log(LOG), sent, sent + 3, "iris-zero")["replicas_started"] == 0
    early = wall("2026-12-01 21:00:10,000")
    assert breakdown(parse_controller_log(LOG), early, early + 3, "iris")["replicas_started"] == 1
    assert breakdown(parse_controller_log(LOG), early, early + 3, "mnist")["replicas_started"] == 0


def test_session_dir_from_a_raylet_command_line() -> None:
    cmdlines = [
        ["/venv/bin/python", "-m", "bench"],
        ["/venv/lib/ray/core/src/ray/raylet/raylet", "--session_dir=/tmp/ray/session_2026-12-01_21-00-00_123456_42"],
    ]
    assert str(session_dir(cmdlines)) == "/tmp/ray/session_2026-12-01_21-00-00_123456_42"
    logs = [["log_monitor.py", "--logs-dir=/tmp/ray/session_2026-12-01_21-00-00_123456_42/logs"]]
    assert str(session_dir(logs)) == "/tmp/ray/session_2026-12-01_21-00-00_123456_42"
    assert session_dir([["python", "-m", "x"]]) is None

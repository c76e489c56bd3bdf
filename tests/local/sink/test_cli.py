"""``isvc events`` and ``isvc sink`` through ``local.cli.main.main``: tables, JSON, exit codes."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local.cli.events import parse_since
from local.cli.main import main
from local.sink.query import REQUEST_TYPE, RESPONSE_TYPE
from local.sink.store import EventRow, EventStore


def row(event_id: str, ce_type: str, at: datetime, component: str = "predictor", body: bytes = b"{}") -> EventRow:
    return EventRow(
        id=event_id,
        type=ce_type,
        source="iris-" + component,
        time=at,
        received_at=at,
        inferenceservicename="iris",
        namespace="default",
        component=component,
        endpoint="default",
        metadata="{}",
        content_type="application/json",
        extensions=None,
        body=body,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    now = datetime.now(UTC)
    store = EventStore(url)
    store.insert_many(
        [
            row("old", REQUEST_TYPE, now - timedelta(hours=2)),
            row("old", RESPONSE_TYPE, now - timedelta(hours=2) + timedelta(milliseconds=5)),
            row("ok-1", REQUEST_TYPE, now - timedelta(seconds=10), body=b'{"in": 1}'),
            row("ok-1", RESPONSE_TYPE, now - timedelta(seconds=10) + timedelta(milliseconds=12.5), body=b'{"o": 1}'),
            row("lost", REQUEST_TYPE, now - timedelta(seconds=5), component="transformer", body=b"\xff\x00"),
        ]
    )
    store.dispose()
    return url


def test_table_for_humans(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "iris", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "COMPONENT", "ENDPOINT"]
    assert [line.split()[0] for line in lines[1:]] == ["lost", "ok-1", "old"]
    assert "missing response" in lines[1] and "12.5ms" in lines[2] and "5.0ms" in lines[3]


def test_json_for_scripts_with_filters(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "iris", "--db", db, "-o", "json", "--since", "1m"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(e["id"], e["status"]) for e in out] == [("lost", "missing response"), ("ok-1", "ok")]
    assert out[1]["latency_ms"] == pytest.approx(12.5)
    assert out[1]["request"]["body"] == '{"in": 1}' and out[1]["response"]["body"] == '{"o": 1}'
    assert out[0]["response"] is None and out[0]["request"]["body_base64"] == "/wA="

    assert main(["events", "iris", "--db", db, "-o", "json", "--component", "predictor", "--limit", "1"]) == 0
    assert [e["id"] for e in json.loads(capsys.readouterr().out)] == ["ok-1"]


def test_nothing_found_is_success(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "nobody", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "no events for nobody"
    assert main(["events", "nobody", "--db", db, "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_default_database_comes_from_the_environment(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ISVC_SINK_DB", db)
    assert main(["events", "iris", "-o", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_missing_database_is_exit_1_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISVC_SINK_DB", raising=False)
    assert main(["events", "iris"]) == 1
    assert "no event database at .isvc/events.db" in capsys.readouterr().err
    assert not (tmp_path / ".isvc").exists()


@pytest.mark.parametrize(
    "argv", [["events"], ["events", "iris", "--since", "soon"], ["events", "iris", "--limit", "0"]]
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_parse_since() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-05-01T10:00:00", now) == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert parse_since("2026-05-01T12:00:00+02:00", now) == datetime(2026, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_since("10 minutes", now)


def test_sink_subcommand_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sink", "--help"])
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--port PORT" in help_text and "(8099)" in help_text


def test_count_per_component_and_type(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "iris", "--db", db, "--count", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"component": "predictor", "type": REQUEST_TYPE, "events": 2, "ids": 2},
        {"component": "predictor", "type": RESPONSE_TYPE, "events": 2, "ids": 2},
        {"component": "transformer", "type": REQUEST_TYPE, "events": 1, "ids": 1},
    ]
    assert main(["events", "iris", "--db", db, "--count", "--since", "1m"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["COMPONENT", "TYPE", "EVENTS", "IDS"]
    assert [line.split() for line in lines[1:]] == [
        ["predictor", "request", "1", "1"],
        ["predictor", "response", "1", "1"],
        ["transformer", "request", "1", "1"],
    ]

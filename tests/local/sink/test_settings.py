"""The sink's settings: ``ISVC_SINK_DB``, ``ISVC_BIND_HOST``, ``PORT``, read when asked."""

from __future__ import annotations

import pytest

from local.sink.settings import SinkSettings


def test_defaults_and_empty_variables_are_unset() -> None:
    assert SinkSettings.from_env({}) == SinkSettings("sqlite:///.isvc/events.db", "127.0.0.1", 8080)
    assert SinkSettings.from_env({"ISVC_SINK_DB": "", "PORT": ""}) == SinkSettings.from_env({})


def test_each_variable_is_read() -> None:
    env = {"ISVC_SINK_DB": "postgresql://u@h/db", "ISVC_BIND_HOST": "0.0.0.0", "PORT": "9000"}
    assert SinkSettings.from_env(env) == SinkSettings("postgresql://u@h/db", "0.0.0.0", 9000)


def test_a_port_that_is_no_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="PORT: expected a port number"):
        SinkSettings.from_env({"PORT": "http"})


def test_the_command_line_port_defaults_to_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m local.sink`` listens on ``$PORT`` (Knative sets it) unless ``--port`` says otherwise."""
    import local.sink.__main__ as entrypoint

    served: list[tuple[object, ...]] = []
    monkeypatch.setattr(entrypoint, "serve", lambda *args: served.append(args))
    monkeypatch.setenv("PORT", "9123")
    assert entrypoint.main([]) == 0
    assert entrypoint.main(["--port", "9200"]) == 0
    assert [args[2] for args in served] == [9123, 9200]

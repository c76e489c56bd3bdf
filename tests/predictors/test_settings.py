"""The pod's settings: read from ``ISVC_*`` when asked, defaults for what is unset, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictors.settings import PodSettings, SettingsError, load_settings
from predictors.storage import StorageSettings


def test_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAX_BODY_BYTES", "MAX_TENSOR_ELEMENTS", "BIND_HOST", "PVC_DIR", "STORAGE_CACHE_DIR"):
        monkeypatch.delenv(f"ISVC_{name}", raising=False)
    assert load_settings() == PodSettings(
        max_body_bytes=32 << 20,
        max_tensor_elements=16 << 20,
        bind_host="127.0.0.1",
        pvc_dir=Path(".isvc/pvc"),
        storage_cache_dir=Path(".isvc/storage"),
    )


def test_each_variable_is_read_and_an_empty_one_is_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ISVC_BIND_HOST", "0.0.0.0")
    monkeypatch.setenv("ISVC_PVC_DIR", str(tmp_path / "claims"))
    monkeypatch.setenv("ISVC_STORAGE_CACHE_DIR", "")
    settings = load_settings()
    assert settings.bind_host == "0.0.0.0" and settings.pvc_dir == tmp_path / "claims"
    assert settings.storage_cache_dir == Path(".isvc/storage")
    assert StorageSettings.from_env() == StorageSettings(pvc_dir=tmp_path / "claims", cache_dir=Path(".isvc/storage"))


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISVC_MAX_TENSOR_ELEMENTS", "-3")
    with pytest.raises(SettingsError, match="ISVC_MAX_TENSOR_ELEMENTS"):
        load_settings()


def test_the_serving_parser_binds_where_the_setting_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from predictors.serving import build_parser

    monkeypatch.setenv("ISVC_BIND_HOST", "0.0.0.0")
    assert build_parser().parse_args([]).bind_host == "0.0.0.0"
    monkeypatch.delenv("ISVC_BIND_HOST")
    assert build_parser().parse_args([]).bind_host == "127.0.0.1"

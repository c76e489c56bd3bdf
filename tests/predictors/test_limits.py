"""predictors/limits.py: the request limits, their defaults and their environment variables."""

from __future__ import annotations

import pytest

from predictors.limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TENSOR_ELEMENTS, LimitsError, load_limits


def test_defaults_are_32_mib_and_16_mi_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISVC_MAX_BODY_BYTES", raising=False)
    monkeypatch.delenv("ISVC_MAX_TENSOR_ELEMENTS", raising=False)
    limits = load_limits()
    assert (limits.max_body_bytes, limits.max_tensor_elements) == (32 * 1024 * 1024, 16 * 1024 * 1024)
    assert (DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_TENSOR_ELEMENTS) == (33554432, 16777216)


def test_the_environment_sets_them_when_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISVC_MAX_BODY_BYTES", "1024")
    monkeypatch.setenv("ISVC_MAX_TENSOR_ELEMENTS", "8")
    limits = load_limits()
    assert (limits.max_body_bytes, limits.max_tensor_elements) == (1024, 8)


@pytest.mark.parametrize(("variable", "value"), [("ISVC_MAX_BODY_BYTES", "0"), ("ISVC_MAX_TENSOR_ELEMENTS", "many")])
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(LimitsError, match=variable):
        load_limits()

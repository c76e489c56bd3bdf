"""local/ray_layer/preload.py: heavy imports happen only in an idle Ray worker."""

from __future__ import annotations

from local.ray_layer import preload


def test_a_process_that_is_not_an_idle_worker_imports_nothing() -> None:
    assert not preload.is_idle_worker()  # pytest's title is not ray::IDLE
    assert preload.warm(("json",), settle_s=0) == []


def test_an_idle_worker_imports_the_modules(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(preload, "is_idle_worker", lambda: True)
    assert preload.warm(("json", "no_such_module_anywhere"), settle_s=0) == ["json"]

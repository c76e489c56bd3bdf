"""local/ray_layer/preload.py: heavy imports happen only in an idle Ray worker."""

from __future__ import annotations

from local.ray_layer import preload


def test_a_process_that_is_not_an_idle_worker_imports_nothing() -> None:
    assert not preload.is_idle_worker()  # pytest's title is not ray::IDLE
    assert preload.warm(("json",), settle_s=0) == []


def test_an_idle_worker_imports_the_modules(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(preload, "is_idle_worker", lambda: True)
    assert preload.warm(("json", "no_such_module_anywhere"), settle_s=0) == ["json"]


def test_the_specs_modules_come_first_and_a_failing_one_is_skipped(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('not importable')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(preload, "is_idle_worker", lambda: True)
    monkeypatch.setenv(preload.PRELOAD_ENV, "explodes_on_import,predictors.sklearn")
    monkeypatch.setattr(preload, "HEAVY_MODULES", ("json",))
    assert preload.warm(settle_s=0) == ["predictors.sklearn", "json"]


def test_the_runtime_derives_the_list_from_the_specs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from local.gateway.server import spec_modules
    from local.spec import load_inference_services

    services = load_inference_services("manifests/iris.yaml")
    assert spec_modules(services) == ["transformers.iris", "predictors.sklearn"]

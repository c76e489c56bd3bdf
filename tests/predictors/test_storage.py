"""storageUri through KServe's storage library: local paths, file://, pvc:// mapping, http:// cached once."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest
from kserve.errors import ModelMissingError

from predictors.storage import StorageError, StorageSettings, cache_entry, find_model_file, resolve_model_dir
from tests.conftest import IRIS_V1
from tests.predictors.loopback import serve_directory


@pytest.fixture
def settings(tmp_path: Path) -> StorageSettings:
    return StorageSettings(pvc_dir=tmp_path / "pvc", cache_dir=tmp_path / "cache")


def test_local_path_and_file_uri_are_used_in_place(settings: StorageSettings) -> None:
    assert resolve_model_dir(str(IRIS_V1), settings) == IRIS_V1
    assert resolve_model_dir(IRIS_V1.as_uri(), settings) == IRIS_V1
    assert not settings.cache_dir.exists()
    with pytest.raises(StorageError, match="no such file"):
        resolve_model_dir(str(IRIS_V1 / "missing"), settings)


def test_pvc_uri_maps_to_the_local_claim_directory(settings: StorageSettings) -> None:
    claim = settings.pvc_dir / "models" / "iris" / "v1"
    shutil.copytree(IRIS_V1, claim)
    assert resolve_model_dir("pvc://models/iris/v1", settings) == claim
    with pytest.raises(StorageError, match="does not exist"):
        resolve_model_dir("pvc://other/x", settings)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ISVC_PVC_DIR", raising=False)
    monkeypatch.delenv("ISVC_STORAGE_CACHE_DIR", raising=False)
    assert StorageSettings.from_env() == StorageSettings(pvc_dir=Path(".isvc/pvc"), cache_dir=Path(".isvc/storage"))
    monkeypatch.setenv("ISVC_PVC_DIR", str(tmp_path / "p"))
    monkeypatch.setenv("ISVC_STORAGE_CACHE_DIR", str(tmp_path / "c"))
    assert StorageSettings.from_env() == StorageSettings(pvc_dir=tmp_path / "p", cache_dir=tmp_path / "c")


def test_http_file_downloaded_once_then_served_from_the_cache(settings: StorageSettings, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(IRIS_V1 / "model.joblib", served / "model.joblib")
    with serve_directory(served) as (base, hits):
        uri = f"{base}/model.joblib"
        first = resolve_model_dir(uri, settings)
        assert first == cache_entry(uri, settings.cache_dir)
        assert (first / "model.joblib").read_bytes() == (IRIS_V1 / "model.joblib").read_bytes()
        assert resolve_model_dir(uri, settings) == first
        assert hits == ["/model.joblib"]
    assert resolve_model_dir(uri, settings) == first  # the server is gone: the cache answers
    assert [p.name for p in settings.cache_dir.iterdir()] == [first.name]  # no staging directory left


def test_http_archive_is_unpacked(settings: StorageSettings, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "model.tar.gz", "w:gz") as archive:
        archive.add(IRIS_V1 / "model.joblib", arcname="model.joblib")
        archive.add(IRIS_V1 / "metadata.json", arcname="metadata.json")
    with serve_directory(served) as (base, _):
        local = resolve_model_dir(f"{base}/model.tar.gz", settings)
    assert sorted(p.name for p in local.iterdir() if not p.name.startswith(".")) == ["metadata.json", "model.joblib"]


def test_http_failure_names_the_uri_and_caches_nothing(settings: StorageSettings, tmp_path: Path) -> None:
    with serve_directory(tmp_path) as (base, _):
        uri = f"{base}/absent/model.joblib"
        with pytest.raises(StorageError, match=r"absent/model\.joblib"):
            resolve_model_dir(uri, settings)
    assert list(settings.cache_dir.iterdir()) == []


def test_find_model_file_follows_kserve(tmp_path: Path) -> None:
    extensions = (".joblib", ".pkl", ".pickle")
    with pytest.raises(ModelMissingError):
        find_model_file(tmp_path, extensions)
    (tmp_path / "model.pkl").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    assert find_model_file(tmp_path, extensions) == tmp_path / "model.pkl"
    (tmp_path / "model.joblib").write_bytes(b"x")
    with pytest.raises(StorageError, match="more than one model file"):
        find_model_file(tmp_path, extensions)
    assert find_model_file(tmp_path / "model.joblib", extensions) == tmp_path / "model.joblib"

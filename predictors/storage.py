"""``storageUri`` to a local model directory, through KServe's own storage library (``kserve-storage``).

On a cluster KServe's storage-initializer downloads ``storageUri`` into ``/mnt/models`` before the
server starts, and KServe's built-in servers call ``kserve_storage.Storage.download(model_dir)`` again in
``load()`` (``python/sklearnserver/sklearnserver/model.py``; a local path is a no-op). The kit's
predictors do the same in their ``load()``, so a Ray replica fetches its model where a pod's init
container would, with three local rules on top:

* local paths and ``file://`` are used in place (``Storage.download`` with no ``out_dir`` returns the path,
  so it is not even imported: a pod's image needs ``kserve-storage`` only for remote URIs);
* ``pvc://NAME/path`` is ``<pvc root>/NAME/path`` (KServe's pod webhook downloads nothing: it mounts claim
  ``NAME`` at ``/mnt/models`` with ``subPath: path``, ``storage_initializer_injector.go`` in
  ``pkg/webhook/admission/pod``; the local root is ``$ISVC_PVC_DIR``, default ``.isvc/pvc``);
* everything else (``http(s)://``, ``gs://``, ``s3://``, ``hf://``, Azure, ...) is downloaded once by
  ``Storage.download(uri, out_dir)`` into ``$ISVC_STORAGE_CACHE_DIR`` (default ``.isvc/storage``), one
  directory per URI (named by its sha256), moved into place atomically: every later revision and replica
  that names the same URI reuses it. Credentials are KServe's own environment variables (``AWS_*``,
  ``GOOGLE_APPLICATION_CREDENTIALS``, ...). Delete the directory to fetch again.

Settings are read when a model loads, never at import. Never imports ``local`` or ``ray``.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from predictors.settings import DEFAULT_CACHE_DIR, DEFAULT_PVC_DIR, load_settings

PVC_SCHEME = "pvc://"
FILE_SCHEME = "file://"
PVC_DIR_ENV = "ISVC_PVC_DIR"
CACHE_DIR_ENV = "ISVC_STORAGE_CACHE_DIR"
KSERVE_MOUNT = "/mnt/models"


class StorageError(RuntimeError):
    """A storageUri that cannot be resolved or fetched; the message names the URI."""


@functools.cache
def _model_missing_error() -> type:
    from kserve.errors import ModelMissingError

    class NoModelFileError(ModelMissingError):  # type: ignore[misc, unused-ignore]
        """KServe's ModelMissingError, with a message that says what was looked for."""

        def __init__(self, path: str, message: str):
            super().__init__(path)
            self.message = message

        def __str__(self) -> str:
            return self.message

    return NoModelFileError


class StorageSettings(BaseModel):
    """Where ``pvc://`` claims live locally and where downloads are cached."""

    model_config = ConfigDict(frozen=True)

    pvc_dir: Path = DEFAULT_PVC_DIR
    cache_dir: Path = DEFAULT_CACHE_DIR

    @classmethod
    def from_env(cls) -> StorageSettings:
        """From the pod's settings (``predictors.settings``: ``ISVC_PVC_DIR``, ``ISVC_STORAGE_CACHE_DIR``)."""
        settings = load_settings()
        return cls(pvc_dir=settings.pvc_dir, cache_dir=settings.storage_cache_dir)


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith(FILE_SCHEME)


def pvc_path(uri: str, pvc_dir: Path) -> Path:
    """``pvc://claim/sub/dir`` -> ``<pvc_dir>/claim/sub/dir``."""
    rest = uri[len(PVC_SCHEME) :].strip("/")
    claim, _, sub = rest.partition("/")
    if not claim:
        raise StorageError(f"{uri}: a pvc:// URI names a claim: pvc://NAME[/path]")
    return pvc_dir / claim / sub if sub else pvc_dir / claim


def cache_entry(uri: str, cache_dir: Path) -> Path:
    return cache_dir / hashlib.sha256(uri.encode()).hexdigest()[:32]


def resolve_model_dir(uri: str, settings: StorageSettings | None = None) -> Path:
    """The local directory (or file) holding the model named by ``uri``; downloads at most once."""
    settings = settings or StorageSettings.from_env()
    if uri.startswith(PVC_SCHEME):
        path = pvc_path(uri, settings.pvc_dir)
        if not path.exists():
            raise StorageError(f"{uri}: {path} does not exist (pvc:// claims are directories under ${PVC_DIR_ENV})")
        return path
    if is_local(uri):
        local = uri[len(FILE_SCHEME) :] if uri.startswith(FILE_SCHEME) else uri
        if not Path(local).exists():
            raise StorageError(f"{uri}: no such file or directory")
        return Path(local)  # what Storage.download(uri) returns for a local URI with no out_dir
    from kserve_storage import Storage  # only remote URIs need it (and its cloud SDKs)

    entry = cache_entry(uri, settings.cache_dir)
    if entry.is_dir():
        return entry
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=settings.cache_dir))
    try:
        downloaded = Path(Storage.download(uri, out_dir=str(staging)))
        if downloaded.resolve() != staging.resolve():
            raise StorageError(f"{uri}: downloaded into {downloaded}, outside {staging}")
        (staging / ".uri").write_text(uri + "\n")
        try:
            staging.rename(entry)
        except OSError:
            if not entry.is_dir():  # another replica won the race: keep its copy
                raise
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"{uri}: download failed: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return entry


def find_model_file(model_dir: Path, extensions: tuple[str, ...], uri: str = "") -> Path:
    """The one file of ``model_dir`` ending in one of ``extensions``, as KServe's servers require.

    KServe raises ``ModelMissingError`` for none (so does this, with a message) and refuses more than one
    (``python/sklearnserver/sklearnserver/model.py``, ``python/xgbserver/xgbserver/model.py``,
    ``python/lgbserver/lgbserver/model.py``). A ``storageUri`` naming a single file is accepted too.
    """
    wanted = ", ".join(f"*{extension}" for extension in extensions)
    missing = _model_missing_error()
    if model_dir.is_file():
        if model_dir.name.endswith(extensions):
            return model_dir
        raise missing(str(model_dir), f"{uri or model_dir}: not a model file ({wanted})")
    found = sorted(p for p in model_dir.iterdir() if p.is_file() and p.name.endswith(extensions))
    if not found:
        raise missing(str(model_dir), f"{uri or model_dir}: no model file ({wanted}) in {model_dir}")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise StorageError(f"{uri or model_dir}: more than one model file ({names}); only one is allowed")
    return found[0]

"""Find, fetch, cache and load the InferenceService CRD whose OpenAPI schema ``isvc validate`` checks against.

Where the CRD comes from, in order: an explicit path (``--crd``), the ``ISVC_CRD`` environment variable,
a cached copy under ``~/.cache/isvc-kit/kserve-<version>/`` (``XDG_CACHE_HOME`` honoured), and finally
one download of the pinned KServe release's ``config/crd/full`` file into that cache. Tests always pass
a path or set ``ISVC_CRD``; the download path is written for users and never runs in the test suite.

Depends on PyYAML, jsonschema and the standard library only; knows nothing about lint rules or the CLI.
"""

from __future__ import annotations

import functools
import os
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import yaml

KSERVE_VERSION = "v0.21.0"
CRD_FILENAME = "serving.kserve.io_inferenceservices.yaml"
CRD_URL = f"https://raw.githubusercontent.com/kserve/kserve/{KSERVE_VERSION}/config/crd/full/{CRD_FILENAME}"
CRD_ENV = "ISVC_CRD"
CRD_NAME = "inferenceservices.serving.kserve.io"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CrdError(Exception):
    """The CRD could not be found, fetched or understood."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "isvc-kit" / f"kserve-{KSERVE_VERSION}"


def fetch_crd(destination: Path, url: str = CRD_URL, timeout_s: float = 30.0) -> Path:
    """Download the pinned release's CRD once into ``destination`` (written atomically)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        partial.write_bytes(response.read())
    load_crd_document(partial)  # refuse to cache something that is not the CRD
    partial.replace(destination)
    return destination


def locate_crd(explicit: str | os.PathLike[str] | None = None, *, allow_fetch: bool = True) -> Path:
    """The CRD file to use: explicit path, then $ISVC_CRD, then the cache, then one download."""
    for candidate in (explicit, os.environ.get(CRD_ENV)):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise CrdError(f"CRD file not found: {path}")
            return path
    cached = cache_dir() / CRD_FILENAME
    if cached.is_file():
        return cached
    if not allow_fetch:
        raise CrdError(f"no CRD given (--crd or ${CRD_ENV}) and none cached at {cached}")
    try:
        return fetch_crd(cached)
    except OSError as exc:
        raise CrdError(f"could not fetch the KServe {KSERVE_VERSION} CRD from {CRD_URL}: {exc}") from exc


def load_crd_document(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_Loader)
    if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
        raise CrdError(f"{path} is not a CustomResourceDefinition")
    if document.get("metadata", {}).get("name") != CRD_NAME:
        raise CrdError(f"{path} defines {document.get('metadata', {}).get('name')!r}, expected {CRD_NAME}")
    return document


def openapi_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one served API version of the CRD."""
    for entry in crd.get("spec", {}).get("versions", []):
        if entry.get("name") == version:
            schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    raise CrdError(f"the CRD has no version {version!r}")


@functools.lru_cache(maxsize=4)
def _validators(path: str, mtime_ns: int) -> dict[str, jsonschema.protocols.Validator]:
    crd = load_crd_document(Path(path))
    group = crd["spec"]["group"]
    result: dict[str, jsonschema.protocols.Validator] = {}
    for entry in crd["spec"]["versions"]:
        schema = openapi_schema(crd, entry["name"])
        # The API server checks OpenAPI v3 structural schemas; Draft 7 reads the same keywords.
        result[f"{group}/{entry['name']}"] = jsonschema.Draft7Validator(schema)
    return result


def crd_validators(path: Path) -> dict[str, jsonschema.protocols.Validator]:
    """apiVersion (``serving.kserve.io/v1beta1``) -> a validator for that version's schema; cached per file."""
    resolved = path.resolve()
    return _validators(str(resolved), resolved.stat().st_mtime_ns)

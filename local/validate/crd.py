"""Find, fetch, cache and load the InferenceService CRD whose OpenAPI schema ``isvc validate`` checks against.

Where the CRD comes from, in order: an explicit path (``--crd``), the ``ISVC_CRD`` environment variable,
then, for the pinned KServe release, the copy bundled in this package (``local/validate/schemas/``, see
its README for provenance): ``isvc validate`` works offline on a fresh machine. For another release
(``--kserve-version``): a cached copy under ``~/.cache/isvc-kit/kserve-<version>/`` (``XDG_CACHE_HOME``
honoured), else one download of that release's ``config/crd/full`` file into the cache. ``describe``
names what was used, for the report. Tests read only the bundled copy and ``file://`` URLs.

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

from local.settings import settings

KSERVE_VERSION = "v0.21.0"
CRD_FILENAME = "serving.kserve.io_inferenceservices.yaml"
CRD_URL_TEMPLATE = "https://raw.githubusercontent.com/kserve/kserve/{version}/config/crd/full/" + CRD_FILENAME
CRD_URL = CRD_URL_TEMPLATE.format(version=KSERVE_VERSION)
BUNDLED_CRD = Path(__file__).resolve().parent / "schemas" / CRD_FILENAME
CRD_ENV = "ISVC_CRD"
CRD_NAME = "inferenceservices.serving.kserve.io"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CrdError(Exception):
    """The CRD could not be found, fetched or understood."""


def cache_dir(version: str = KSERVE_VERSION) -> Path:
    base = settings().cache_home or Path.home() / ".cache"
    return base / "isvc-kit" / f"kserve-{version}"


def normalise_version(version: str) -> str:
    return version if version.startswith("v") else f"v{version}"


def fetch_crd(destination: Path, url: str = CRD_URL, timeout_s: float = 30.0) -> Path:
    """Download the pinned release's CRD once into ``destination`` (written atomically)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        partial.write_bytes(response.read())
    load_crd_document(partial)  # refuse to cache something that is not the CRD
    partial.replace(destination)
    return destination


def locate_crd(
    explicit: str | os.PathLike[str] | None = None, *, version: str | None = None, allow_fetch: bool = True
) -> Path:
    """The CRD file to use: explicit path, $ISVC_CRD, the bundled copy (pinned release), else cache or download."""
    for candidate in (explicit, settings().crd):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise CrdError(f"CRD file not found: {path}")
            return path
    version = normalise_version(version or KSERVE_VERSION)
    if version == KSERVE_VERSION:
        if not BUNDLED_CRD.is_file():
            raise CrdError(f"the bundled CRD is missing from the installation: {BUNDLED_CRD}")
        return BUNDLED_CRD
    cached = cache_dir(version) / CRD_FILENAME
    if cached.is_file():
        return cached
    url = CRD_URL_TEMPLATE.format(version=version)
    if not allow_fetch:
        raise CrdError(f"no CRD for KServe {version} given (--crd or ${CRD_ENV}) and none cached at {cached}")
    try:
        return fetch_crd(cached, url=url)
    except OSError as exc:
        raise CrdError(f"could not fetch the KServe {version} CRD from {url}: {exc}") from exc


def describe(path: Path) -> str:
    """What a report says it checked against: ``bundled KServe v0.21 CRD`` or the file's path."""
    resolved = path.resolve()
    if resolved == BUNDLED_CRD:
        return f"bundled KServe {KSERVE_VERSION.rsplit('.', 1)[0]} CRD"
    parent = resolved.parent.name
    if parent.startswith("kserve-v") and resolved.parent.parent.name == "isvc-kit":
        return f"cached KServe {parent.removeprefix('kserve-')} CRD ({path})"
    return f"CRD file {path}"


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

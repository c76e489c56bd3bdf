"""``isvc init``: files for a new component that ``isvc up`` serves and ``pytest`` tests, as they are written.

``scaffold(directory, name, kind)`` renders ``templates/<kind>/*.tmpl`` into ``directory/<package>/``:
the component module (a ``kserve.Model`` following ``predictors.contract.EntrypointModule``, with the
``main()`` a pod runs), an InferenceService manifest naming it, and a test of the model in-process.
A transformer is scaffolded in front of the kit's sklearn predictor (the iris model of this
repository, by ``storageUri``), so it has something to call. Pure file writing: no Ray, no network.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

KINDS = ("predictor", "transformer")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,40}[a-z0-9])?$")


class ScaffoldError(ValueError):
    """A name or target that cannot be scaffolded; the message says why."""


@dataclass(frozen=True)
class Scaffolded:
    package: Path
    module: str  # python -m <module>
    manifest: Path
    test: Path


def package_name(name: str) -> str:
    """``my-model`` -> ``my_model``: the Python package of an InferenceService name."""
    if not _DNS_LABEL.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid InferenceService name: lower-case letters, digits and '-', "
            "starting with a letter, at most 42 characters (KServe's DNS-label rule leaves room for the suffixes)"
        )
    package = name.replace("-", "_")
    if keyword.iskeyword(package):
        raise ScaffoldError(f"{name!r} would make a Python package named after a keyword")
    return package


def scaffold(
    directory: Path, name: str, kind: str, model_dir: str = "models/iris/v1", force: bool = False
) -> Scaffolded:
    """Write the package for component ``kind`` of service ``name`` under ``directory``."""
    if kind not in KINDS:
        raise ScaffoldError(f"--kind must be one of {', '.join(KINDS)} (got {kind!r})")
    package = package_name(name)
    target = directory / package
    if target.exists() and any(target.iterdir()) and not force:
        raise ScaffoldError(f"{target} exists and is not empty (use --force to overwrite its files)")
    target.mkdir(parents=True, exist_ok=True)
    values = {"name": name, "package": package, "module": f"{package}.{kind}", "model_dir": model_dir}
    written = {}
    for source in sorted(resources.files(__package__).joinpath("templates", kind).iterdir(), key=str):
        if not source.name.endswith(".tmpl"):
            continue
        out = target / source.name.removesuffix(".tmpl")
        out.write_text(Template(source.read_text()).substitute(values))
        written[out.name] = out
    return Scaffolded(target, values["module"], written["inferenceservice.yaml"], written[f"test_{kind}.py"])

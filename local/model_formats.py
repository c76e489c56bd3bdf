"""Model-format predictors: ``spec.predictor.model`` and the shorthand ``sklearn`` / ``xgboost`` / ``lightgbm``.

Most InferenceService YAML names a model format and a ``storageUri`` rather than a container::

    predictor:
      model:
        modelFormat: {name: sklearn}
        storageUri: gs://kfserving-examples/models/sklearn/1.0/model

On a cluster KServe picks a ClusterServingRuntime that supports the format and starts its container
with ``--model_name={{.Name}} --model_dir=/mnt/models`` after the storage-initializer has downloaded
``storageUri`` (``config/runtimes/kserve-sklearnserver.yaml``, ``kserve-xgbserver.yaml``,
``kserve-lgbserver.yaml``; xgboost and lightgbm add ``--nthread=1``). Locally the same spec becomes a
kit entrypoint (module + args) that ``local.components`` builds as it builds any container command:
``predictors.sklearn`` / ``predictors.xgb`` / ``predictors.lgb`` with ``--model_name=<service name>``
and ``--model_dir=<storageUri>``; the predictor fetches the URI in its ``load()``
(``predictors.storage``), in the replica, as the storage-initializer would before the pod starts.

``runtime`` may name one of KServe's built-in runtimes that supports the format; any other runtime
(a custom ServingRuntime) has no local equivalent and is an error. ``protocolVersion`` (v1, v2,
grpc-v2) is accepted: the local data plane answers V1, V2 and gRPC for every model. ``args`` are
appended, as KServe appends them to the runtime's. Other container fields (``resources``, ``env``,
``image``) are kept and reported as not honoured locally.

Pure: pydantic only; never imports ``ray`` or the predictors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from local.errors import SpecError


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class ModelFormat(_Lenient):
    name: str = Field(min_length=1)
    version: str | None = None


class FrameworkSpec(_Lenient):
    """The fields KServe's ``spec.predictor.sklearn`` (and ``.model``) share: a storageUri and the runtime's knobs."""

    storageUri: str | None = None
    protocolVersion: Literal["v1", "v2", "grpc-v2"] | None = None
    runtimeVersion: str | None = None
    args: list[str] = Field(default_factory=list)


class ModelSpec(FrameworkSpec):
    """``spec.predictor.model``: a model format, served by a runtime that supports it."""

    modelFormat: ModelFormat
    runtime: str | None = None


@dataclass(frozen=True)
class Format:
    """How one model format is served: the kit's module and the built-in runtimes that serve it on a cluster."""

    module: str
    runtimes: tuple[str, ...]
    extra_args: tuple[str, ...] = ()
    extra: str | None = None  # the isvc-kit extra that installs its library


FORMATS: dict[str, Format] = {
    "sklearn": Format("predictors.sklearn", ("kserve-sklearnserver", "kserve-mlserver")),
    "xgboost": Format("predictors.xgb", ("kserve-xgbserver", "kserve-mlserver"), ("--nthread=1",), "xgboost"),
    "lightgbm": Format("predictors.lgb", ("kserve-lgbserver", "kserve-mlserver"), ("--nthread=1",), "lightgbm"),
}
SHORTHANDS = tuple(FORMATS)
# Other predictor frameworks KServe knows (the CRD's spec.predictor.<framework>): no local runtime for them.
OTHER_FRAMEWORKS = ("tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "paddle")


def format_entrypoint(
    model: ModelSpec | None,
    shorthands: dict[str, FrameworkSpec | None],
    others: list[str],
    model_name: str,
    where: str,
) -> tuple[str, tuple[str, ...]] | None:
    """(module, args) for a model-format predictor, or None when it names no format."""
    named = [name for name, spec in shorthands.items() if spec is not None]
    given = (["model"] if model is not None else []) + named + others
    if not given:
        return None
    if len(given) > 1:
        raise SpecError(f"{where}: exactly one of model, {', '.join(SHORTHANDS)} may be set, got {', '.join(given)}")
    if others:
        raise SpecError(
            f"{where}.{others[0]}: the {others[0]} format has no local runtime "
            f"(served locally: {', '.join(SHORTHANDS)}; or give a kserve-container with a command)"
        )
    spec: FrameworkSpec | None
    if model is not None:
        format_name, spec, field = model.modelFormat.name.lower(), model, f"{where}.model"
        if format_name not in FORMATS:
            raise SpecError(
                f"{field}.modelFormat.name: {model.modelFormat.name!r} has no local runtime "
                f"(served locally: {', '.join(SHORTHANDS)})"
            )
        if model.runtime is not None and model.runtime not in FORMATS[format_name].runtimes:
            raise SpecError(
                f"{field}.runtime: {model.runtime!r} has no local equivalent for {format_name} "
                f"(built-in runtimes: {', '.join(FORMATS[format_name].runtimes)})"
            )
    else:
        format_name = named[0]
        spec, field = shorthands[format_name], f"{where}.{format_name}"
    assert spec is not None
    if not spec.storageUri:
        raise SpecError(f"{field}.storageUri: required to serve a model format locally")
    served = FORMATS[format_name]
    args = (f"--model_name={model_name}", f"--model_dir={spec.storageUri}", *served.extra_args, *spec.args)
    return served.module, args

"""The InferenceService YAML as typed objects: what the local runtime honours, with KServe's defaults.

``load_inference_services(path)`` reads every ``serving.kserve.io/v1beta1`` InferenceService of a file
(multi-document YAML; other kinds are skipped). Validation errors name the field path
(``spec.predictor.minReplicas: ...``). Fields KServe knows but the local runtime does not honour are
collected as warnings, one per field path, never silently dropped.

A component's Python model is found from its container command: ``python -m predictors.sklearn`` plus
args gives ``EntryPoint(module="predictors.sklearn", args=[...])``.

Pure: depends on pydantic and PyYAML only; never imports ``ray`` or ``fastapi``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from local.errors import SpecError
from local.logger.events import LoggerSpec
from local.model_formats import OTHER_FRAMEWORKS, FrameworkSpec, ModelSpec, format_entrypoint

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
TAG_ROUTING_ANNOTATION = "serving.kserve.io/enable-tag-routing"
KNATIVE_MODES = {"Knative", "Serverless"}
STANDARD_MODES = {"Standard", "RawDeployment"}
# Without the annotation KServe uses the inferenceservice-config ConfigMap's deploy.defaultDeploymentMode,
# shipped as "Serverless", i.e. Knative (see local.modes for where KServe decides it).
DEFAULT_DEPLOYMENT_MODE = "Knative"


DEFAULT_NAMESPACE = "default"
"""Where an object that names no namespace lives, as in Kubernetes."""


class _Lenient(BaseModel):
    """Keeps unknown fields so they can be reported as warnings instead of being dropped."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class Container(_Lenient):
    name: str = "kserve-container"
    image: str | None = None
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: list[dict[str, Any]] = Field(default_factory=list)
    ports: list[dict[str, Any]] = Field(default_factory=list)
    resources: dict[str, Any] = Field(default_factory=dict)
    securityContext: dict[str, Any] | None = None


class BatcherSpec(_Lenient):
    """KServe's ``batcher``; defaults as its agent's (``pkg/batcher/handler.go``: MaxBatchSize 32, MaxLatency 5000)."""

    maxBatchSize: int = Field(default=32, ge=1)
    maxLatency: int = Field(default=5000, ge=1, description="milliseconds")


class ComponentSpec(_Lenient):
    """A predictor or transformer: KServe's ComponentExtensionSpec plus the pod's containers."""

    minReplicas: int = Field(default=1, ge=0)
    maxReplicas: int = Field(default=0, ge=0)
    scaleMetric: Literal["concurrency", "rps", "cpu", "memory"] | None = None
    scaleTarget: int | None = Field(default=None, ge=1)
    containerConcurrency: int = Field(default=0, ge=0)
    canaryTrafficPercent: int | None = Field(default=None, ge=0, le=100)
    timeout: int | None = Field(default=None, ge=1)
    containers: list[Container] = Field(default_factory=list)
    logger: LoggerSpec | None = None
    batcher: BatcherSpec | None = None
    serviceAccountName: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class PredictorSpec(ComponentSpec):
    """``spec.predictor``: a component plus a model format (``model``, or the ``sklearn``/... shorthand)."""

    model: ModelSpec | None = None
    sklearn: FrameworkSpec | None = None
    xgboost: FrameworkSpec | None = None
    lightgbm: FrameworkSpec | None = None


class ObjectMeta(_Lenient):
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    namespace: str = DEFAULT_NAMESPACE
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class InferenceServiceSpec(_Lenient):
    predictor: PredictorSpec
    transformer: ComponentSpec | None = None


class InferenceService(_Lenient):
    apiVersion: Literal["serving.kserve.io/v1beta1"] = "serving.kserve.io/v1beta1"
    kind: Literal["InferenceService"] = "InferenceService"
    metadata: ObjectMeta
    spec: InferenceServiceSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def deployment_mode(self) -> str:
        mode = self.metadata.annotations.get(DEPLOYMENT_MODE_ANNOTATION, DEFAULT_DEPLOYMENT_MODE)
        return "Knative" if mode in KNATIVE_MODES else "Standard" if mode in STANDARD_MODES else mode

    @property
    def tag_routing(self) -> bool:
        """Some component has tag routing on (``tag_routing_of``)."""
        return any(self.tag_routing_of(name) for name in self.components())

    def tag_routing_of(self, component: str) -> bool:
        """``serving.kserve.io/enable-tag-routing: "true"`` on the service or the component: KServe reads
        the merged annotations and compares with ``"true"`` exactly (``ksvc_reconciler.go``)."""
        merged = {**self.metadata.annotations, **self.components()[component].annotations}
        return merged.get(TAG_ROUTING_ANNOTATION) == "true"

    def components(self) -> dict[str, ComponentSpec]:
        """Components in request order: transformer (if any) first, then predictor."""
        found = {"transformer": self.spec.transformer, "predictor": self.spec.predictor}
        return {name: component for name, component in found.items() if component is not None}


@dataclass(frozen=True)
class EntryPoint:
    """``python -m module args...``: how a component's container starts its model server."""

    module: str
    args: tuple[str, ...]


def entrypoint_of(component: ComponentSpec, where: str, model_name: str = "model") -> EntryPoint:
    """The module and args a component's replica builds its model from.

    A predictor naming a model format (``local.model_formats``) is served by the kit's predictor for that
    format, as KServe serves it with its built-in runtime, under ``model_name`` (the service's name, as
    KServe passes ``--model_name={{.Name}}``). Otherwise its ``kserve-container`` command is run.
    """
    if isinstance(component, PredictorSpec):
        others = [name for name in OTHER_FRAMEWORKS if name in (component.model_extra or {})]
        shorthands = {"sklearn": component.sklearn, "xgboost": component.xgboost, "lightgbm": component.lightgbm}
        commands = [c for c in component.containers if c.name == "kserve-container" and c.command]
        if commands and (component.model is not None or any(shorthands.values()) or others):
            raise SpecError(f"{where}: give either a model format or a kserve-container command, not both")
        found = format_entrypoint(component.model, shorthands, others, model_name, where)
        if found is not None:
            return EntryPoint(module=found[0], args=found[1])
    if not component.containers:
        raise SpecError(f"{where}.containers: the local runtime needs a kserve-container with a command")
    index = next((i for i, c in enumerate(component.containers) if c.name == "kserve-container"), 0)
    container = component.containers[index]
    argv = [*container.command, *container.args]
    if len(argv) < 3 or not argv[0].startswith("python") or argv[1] != "-m":
        raise SpecError(
            f"{where}.containers[{index}].command: expected ['python', '-m', '<module>'], got {container.command}"
        )
    return EntryPoint(module=argv[2], args=tuple(argv[3:]))


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"])
        lines.append(f"{source}: {path}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def parse_inference_service(document: dict[str, Any], source: str = "<input>") -> InferenceService:
    try:
        return InferenceService.model_validate(document)
    except ValidationError as exc:
        raise SpecError(_format_validation_error(exc, source)) from exc


def load_documents(text: str, source: str = "<input>") -> list[InferenceService]:
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid YAML: {exc}") from exc
    services = []
    for document in documents:
        if not isinstance(document, dict):
            raise SpecError(f"{source}: expected a mapping at the top of each document")
        if document.get("kind") == KIND:
            services.append(parse_inference_service(document, source))
    if not services:
        raise SpecError(f"{source}: no {KIND} found")
    return services


def load_inference_services(path: str | Path) -> list[InferenceService]:
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    return load_documents(path.read_text(), str(path))


def unhonoured_fields(service: InferenceService) -> list[str]:
    """Field paths present in the YAML that the local runtime does not act on (``local.unhonoured``)."""
    from local.unhonoured import unhonoured  # it reads the spec's types: imported when asked

    return sorted({warning.path for warning in unhonoured(service)})

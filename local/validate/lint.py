"""Lint rules: what the CRD schema cannot see but a KServe cluster (or its users) will trip on.

Each rule has an id, a one-line title and a function from a document to findings that name the field
path. Rules read plain dicts (the schema check has already run) and never raise on odd shapes.

| id      | what it catches |
|---------|-----------------|
| ISVC001 | a ``logger`` block with an empty or missing ``mode`` |
| ISVC002 | ``canaryTrafficPercent`` in Standard (raw) mode, where KServe ignores it |
| ISVC003 | ``minReplicas: 0`` in Standard mode, where an HPA cannot scale to zero |
| ISVC004 | a transformer whose ``--model_name`` differs from its predictor's |
| ISVC005 | a hostname label (``latest-{isvc}-{component}-{namespace}``) over 63 characters |
| ISVC006 | a container image with no tag, or the ``latest`` tag |
| ISVC007 | a container (component) without resource limits (a warning: KServe's own tutorials set none) |
| ISVC008 | a logger URL that is not http(s) |
| ISVC009 | an unknown ``serving.kserve.io/deploymentMode`` |

Depends on ``local.validate.findings`` and the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

from local.validate.findings import Document, Finding, Severity

DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
KNATIVE_MODES = {"Knative", "Serverless"}
STANDARD_MODES = {"Standard", "RawDeployment"}
COMPONENTS = ("predictor", "transformer", "explainer")
DNS_LABEL_MAX = 63
MODEL_FORMAT_KEYS = ("model", "sklearn", "xgboost", "lightgbm", "pytorch", "tensorflow", "onnx", "triton", "pmml")

RULES: dict[str, str] = {
    "ISVC001": "logger.mode is empty",
    "ISVC002": "canaryTrafficPercent has no effect in Standard mode",
    "ISVC003": "minReplicas: 0 is not possible in Standard mode",
    "ISVC004": "transformer and predictor model names differ",
    "ISVC005": "hostname label longer than 63 characters",
    "ISVC006": "image without a pinned tag",
    "ISVC007": "container without resource limits",
    "ISVC008": "logger URL is not http(s)",
    "ISVC009": "unknown deployment mode",
}

# Findings of these rules are warnings: the object is valid and a cluster accepts it.
# ISVC007: KServe's first-InferenceService tutorial sets no limits, and the API server accepts that.
WARNING_RULES = frozenset({"ISVC007"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def deployment_mode(body: dict[str, Any]) -> str:
    """``Knative`` (a default install's ``deploy.defaultDeploymentMode``, see ``local.modes``) or ``Standard``,
    else as written."""
    mode = _dict(_dict(body.get("metadata")).get("annotations")).get(DEPLOYMENT_MODE)
    if mode is None or mode in KNATIVE_MODES:
        return "Knative"
    return "Standard" if mode in STANDARD_MODES else str(mode)


def components(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    spec = _dict(body.get("spec"))
    for name in COMPONENTS:
        if isinstance(spec.get(name), dict):
            yield name, spec[name]


def containers(body: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path, container) for every container that ends up in a pod, by object kind."""
    if kind == "InferenceService":
        for name, component in components(body):
            for i, container in enumerate(_list(component.get("containers"))):
                yield f"spec.{name}.containers[{i}]", _dict(container)
            for key in MODEL_FORMAT_KEYS:
                if isinstance(component.get(key), dict):
                    yield f"spec.{name}.{key}", component[key]
    elif kind in {"Service", "Deployment", "StatefulSet", "DaemonSet", "Job"}:
        pod = _dict(_dict(_dict(body.get("spec")).get("template")).get("spec"))
        for i, container in enumerate(_list(pod.get("containers"))):
            yield f"spec.template.spec.containers[{i}]", _dict(container)


def arg_value(container: dict[str, Any], flag: str) -> str | None:
    """The value of ``--flag=value`` or ``--flag value`` in a container's command + args."""
    words = [str(w) for w in _list(container.get("command")) + _list(container.get("args"))]
    for i, word in enumerate(words):
        if word.startswith(f"{flag}="):
            return word.split("=", 1)[1]
        if word == flag and i + 1 < len(words):
            return words[i + 1]
    return None


def model_name(body: dict[str, Any], component: dict[str, Any]) -> str:
    """The served name: an explicit --model_name, else the InferenceService's name (what KServe passes)."""
    for container in _list(component.get("containers")):
        value = arg_value(_dict(container), "--model_name")
        if value:
            return value
    return str(_dict(body.get("metadata")).get("name", ""))


def image_problem(image: str) -> str | None:
    if "@" in image:
        return None  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag (means :latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image!r} uses the mutable :latest tag"
    return None


Rule = Callable[[Document], Iterator[tuple[str, str, str]]]  # yields (rule id, field path, message)


def rule_logger(doc: Document) -> Iterator[tuple[str, str, str]]:
    for name, component in components(doc.body):
        if "logger" not in component:
            continue
        logger = _dict(component.get("logger"))
        if not logger.get("mode"):
            yield "ISVC001", f"spec.{name}.logger.mode", "logger.mode is empty: set all, request or response"
        url = logger.get("url")
        if url is not None:
            parsed = urlparse(str(url))
            if parsed.scheme not in {"http", "https"} or not parsed.netloc:
                yield "ISVC008", f"spec.{name}.logger.url", f"logger URL {url!r} is not an http(s) URL"


def rule_mode(doc: Document) -> Iterator[tuple[str, str, str]]:
    mode = deployment_mode(doc.body)
    if mode not in {"Knative", "Standard"}:
        known = ", ".join(sorted(KNATIVE_MODES | STANDARD_MODES))
        yield "ISVC009", f"metadata.annotations[{DEPLOYMENT_MODE}]", f"unknown deployment mode {mode!r} ({known})"
        return
    if mode != "Standard":
        return
    for name, component in components(doc.body):
        if "canaryTrafficPercent" in component:
            yield "ISVC002", f"spec.{name}.canaryTrafficPercent", "canaryTrafficPercent is ignored in Standard mode"
        if component.get("minReplicas") == 0:
            yield "ISVC003", f"spec.{name}.minReplicas", "minReplicas: 0 (scale to zero) needs Knative mode"


def rule_model_name(doc: Document) -> Iterator[tuple[str, str, str]]:
    parts = dict(components(doc.body))
    if "transformer" in parts and "predictor" in parts:
        transformer, predictor = model_name(doc.body, parts["transformer"]), model_name(doc.body, parts["predictor"])
        if transformer != predictor:
            yield (
                "ISVC004",
                "spec.transformer.containers[].args",
                f"transformer --model_name {transformer!r} differs from the predictor's {predictor!r}",
            )


def rule_dns(doc: Document) -> Iterator[tuple[str, str, str]]:
    metadata = _dict(doc.body.get("metadata"))
    name, namespace = str(metadata.get("name", "")), str(metadata.get("namespace") or "default")
    prefix = "latest-" if deployment_mode(doc.body) == "Knative" else ""
    for component, _ in components(doc.body):
        label = f"{prefix}{name}-{component}-{namespace}"
        if len(label) > DNS_LABEL_MAX:
            yield (
                "ISVC005",
                "metadata.name",
                f"hostname label {label!r} is {len(label)} characters (> {DNS_LABEL_MAX}): shorten name or namespace",
            )


def rule_containers(doc: Document) -> Iterator[tuple[str, str, str]]:
    for path, container in containers(doc.body, doc.kind):
        image = container.get("image")
        if image is not None:
            problem = image_problem(str(image))
            if problem:
                yield "ISVC006", f"{path}.image", problem
        if not _dict(_dict(container.get("resources")).get("limits")):
            yield "ISVC007", f"{path}.resources.limits", "no resource limits (cpu, memory)"


ISVC_RULES: tuple[Rule, ...] = (rule_logger, rule_mode, rule_model_name, rule_dns, rule_containers)
POD_RULES: tuple[Rule, ...] = (rule_containers,)


def lint(document: Document) -> list[Finding]:
    if document.kind == "InferenceService":
        rules = ISVC_RULES
    elif document.kind in {"Service", "Deployment", "StatefulSet", "DaemonSet", "Job"}:
        rules = POD_RULES
    else:
        return []
    return [
        Finding(
            rule=rule_id,
            severity=Severity.WARNING if rule_id in WARNING_RULES else Severity.ERROR,
            file=document.path,
            document=document.label,
            path=path,
            message=message,
        )
        for rule in rules
        for rule_id, path, message in rule(document)
    ]

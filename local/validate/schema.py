"""Schema checks: InferenceServices against the KServe CRD, core Kubernetes objects against their own schemas.

* ``serving.kserve.io/*`` objects: every error of the CRD's ``openAPIV3Schema`` (jsonschema), rule
  ``CRD001``. The schema allows unknown fields, so typos are left to the linter.
* Core objects (Namespace, ServiceAccount, Role, RoleBinding, Deployment, HPA, ...): the strict
  schemas of the pinned Kubernetes minor shipped by ``kubernetes-validate`` (no network), rule ``K8S001``.
* Knative ``serving.knative.dev/v1`` Services: their ``spec.template`` is a pod template plus a few
  Knative fields, so it is checked as a core ``PodTemplate`` with those fields removed (``KN001``).
* ``kustomize.config.k8s.io`` files are not objects and are handled by ``local.validate.kustomize``.
  Any other kind has no schema here and is reported as a warning (``K8S002``), never silently passed.

Depends on jsonschema, kubernetes-validate and ``local.validate.crd`` / ``findings``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate

from local.validate.crd import crd_validators
from local.validate.findings import Document, Finding, Severity, dotted

KUBERNETES_VERSION = "1.33"
KNATIVE_SERVICE_API = "serving.knative.dev/v1"
KNATIVE_REVISION_FIELDS = (
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
)
KUSTOMIZE_GROUP = "kustomize.config.k8s.io"


def check_crd(document: Document, crd_path: Path) -> list[Finding]:
    validators = crd_validators(crd_path)
    validator = validators.get(document.api_version)
    if validator is None:
        return [
            Finding(
                rule="CRD001",
                file=document.path,
                document=document.label,
                path="apiVersion",
                message=f"{document.api_version!r} is not served by the CRD (served: {', '.join(sorted(validators))})",
            )
        ]
    return [
        Finding(
            rule="CRD001",
            file=document.path,
            document=document.label,
            path=dotted(list(error.absolute_path)) or "(root)",
            message=error.message,
        )
        for error in sorted(validator.iter_errors(document.body), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _core(body: dict[str, Any], document: Document, rule: str, prefix: list[Any]) -> list[Finding]:
    try:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [
            Finding(
                rule=rule,
                file=document.path,
                document=document.label,
                path=dotted(prefix + list(error.absolute_path)) or "(root)",
                message=f"{error.message} (Kubernetes {KUBERNETES_VERSION} schema)",
            )
        ]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [
            Finding(
                rule="K8S002",
                severity=Severity.WARNING,
                file=document.path,
                document=document.label,
                message=f"not checked: {error.message}",
            )
        ]
    return []


def knative_service_as_pod_template(body: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy((body.get("spec") or {}).get("template") or {})
    spec = template.get("spec")
    if isinstance(spec, dict):
        for field in KNATIVE_REVISION_FIELDS:
            spec.pop(field, None)
    return {"apiVersion": "v1", "kind": "PodTemplate", "metadata": body.get("metadata", {}), "template": template}


def check_schema(document: Document, crd_path: Path) -> list[Finding]:
    """Schema findings for one document, chosen by its apiVersion."""
    group = document.api_version.split("/")[0] if "/" in document.api_version else ""
    if group == "serving.kserve.io":
        return check_crd(document, crd_path)
    if document.api_version == KNATIVE_SERVICE_API and document.kind == "Service":
        # the PodTemplate's "template" is the Service's spec.template, hence the "spec" prefix
        return _core(knative_service_as_pod_template(document.body), document, "KN001", ["spec"])
    return _core(document.body, document, "K8S001", [])

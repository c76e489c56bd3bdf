"""``isvc validate``: InferenceService YAML checked offline before it reaches a cluster.

* ``crd``: find, fetch once, cache and load the KServe CRD (the schema the API server enforces).
* ``schema``: CRD schema for KServe objects, kubernetes-validate for core objects, Knative Services
  as pod templates.
* ``lint``: rules with ids for what the schema cannot see (modes, names, images, limits, logger).
* ``kustomize``: the tiny offline renderer the overlays need.
* ``runner``: walks files and directories and builds the report.

Nothing here imports ``ray``, ``fastapi`` or the local runtime.
"""

from local.validate.crd import CrdError, locate_crd
from local.validate.findings import Finding, Severity
from local.validate.lint import RULES
from local.validate.runner import Report, validate_paths

__all__ = ["RULES", "CrdError", "Finding", "Report", "Severity", "locate_crd", "validate_paths"]

"""The revision template of a component: what KServe puts on it, so a change of it makes a revision. Pure.

Knative makes a revision whenever a Knative Service's template changes. KServe builds each component's
template from the component's spec (``canaryTrafficPercent`` aside: it is route-only), the service's labels
and its annotations but ``serviceAnnotationDisallowedList`` and the ``managedKsvcAnnotations``
(``components/predictor.go``: ``buildObjectMeta``; ``reconcilers/knative/ksvc_reconciler.go``).
``spec_hash`` hashes the same; ``same_template`` also recognises a revision stored with the first scheme.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from local.autoscaling import ANNOTATION_PREFIX
from local.spec import ComponentSpec, InferenceService

if TYPE_CHECKING:
    from local.plan import Revision

# KServe's default serviceAnnotationDisallowedList (pkg/constants/constants.go): annotations kept off the
# revision template, so a change of them makes no revision.
ANNOTATIONS_OFF_THE_TEMPLATE = frozenset(
    {
        ANNOTATION_PREFIX + "min-scale",
        ANNOTATION_PREFIX + "max-scale",
        "internal.serving.kserve.io/storage-initializer-sourceuri",
        "kubectl.kubernetes.io/last-applied-configuration",
        "modelFormat",
        # managedKsvcAnnotations (ksvc_reconciler.go): moved off the template onto the Knative Service
        "serving.knative.dev/rollout-duration",
        "serving.knative.openshift.io/enablePassthrough",
    }
)
# RevisionTemplateLabelDisallowedList (pkg/constants/constants.go): labels kept off the template.
LABELS_OFF_THE_TEMPLATE = frozenset({"networking.knative.dev/visibility"})
KIT_ANNOTATION_PREFIX = "isvc-kit.io/"
"""The kit's own annotations (``isvc-kit.io/placement``) say how the local runtime runs a revision, not
what it is: a change of them makes no revision (on a cluster they mean nothing)."""
SPEC_HASH_SCHEME = "t2-"
"""Prefix of hashes that cover the revision template as KServe builds it; unprefixed ones are of the
first scheme (component and Knative annotations only), still honoured for revisions stored with them."""


def spec_hash(component: ComponentSpec, service: InferenceService) -> str:
    """Hash of what KServe puts on a component's revision template, so a change of it makes a revision:
    the component's spec (not ``canaryTrafficPercent``), the service's labels and its annotations but
    those of ``serviceAnnotationDisallowedList`` (``components/predictor.go``: ``buildObjectMeta``) and the
    kit's own."""
    content = component.model_dump(mode="json", exclude={"canaryTrafficPercent"})
    annotations = {
        key: value
        for key, value in service.metadata.annotations.items()
        if key not in ANNOTATIONS_OFF_THE_TEMPLATE and not key.startswith(KIT_ANNOTATION_PREFIX)
    }
    labels = {key: value for key, value in service.metadata.labels.items() if key not in LABELS_OFF_THE_TEMPLATE}
    template = [content, annotations, labels]
    return SPEC_HASH_SCHEME + hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


def _first_scheme_hash(component: ComponentSpec, annotations: dict[str, str]) -> str:
    """The hash of the first scheme, of the component as that version dumped it: the fields added since
    are left out at their defaults (``logger.metadataAnnotations``) or as they defaulted then (the
    batcher's ``maxLatency``, 500 ms until it became KServe's 5000)."""
    content = component.model_dump(mode="json", exclude={"canaryTrafficPercent"})
    logger = content.get("logger")
    if isinstance(logger, dict) and not logger.get("metadataAnnotations"):
        logger.pop("metadataAnnotations", None)
    if component.batcher is not None and "maxLatency" not in component.batcher.model_fields_set:
        content["batcher"]["maxLatency"] = 500
    knative = {k: v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)}
    return hashlib.sha256(json.dumps([content, knative], sort_keys=True).encode()).hexdigest()[:16]


def same_template(revision: Revision, component: ComponentSpec, service: InferenceService, digest: str) -> bool:
    """Whether ``revision`` was made from this template (a stored revision may carry a first-scheme hash)."""
    if revision.spec_hash.startswith(SPEC_HASH_SCHEME):
        return revision.spec_hash == digest
    return revision.spec_hash == _first_scheme_hash(component, service.metadata.annotations)

"""What ``isvc up`` prints of the fields the local runtime does not act on: short, grouped, nothing lost."""

from __future__ import annotations

import yaml

from local.spec import load_documents
from local.unhonoured import summary_lines, unhonoured
from tests.conftest import REPO_ROOT


def test_fields_kept_for_the_cluster_are_one_line_grouped_by_parent() -> None:
    (service,) = load_documents((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    lines = summary_lines(service)
    assert lines == [
        "kept for the cluster, not acted on locally: "
        "spec.predictor.containers[0].{image,ports,resources,securityContext}, "
        "spec.transformer.containers[0].{image,ports,resources,securityContext}"
    ]
    assert len(unhonoured(service)) == 8  # every field is still named


def test_a_field_whose_meaning_changes_locally_gets_a_warning_line_of_its_own() -> None:
    document = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    document["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] = "Standard"
    document["metadata"]["labels"] = {"team": "a"}
    document["spec"]["predictor"]["canaryTrafficPercent"] = 10
    (service,) = load_documents(yaml.safe_dump(document))
    lines = summary_lines(service)
    assert lines[0].startswith("kept for the cluster, not acted on locally: metadata.labels, ")
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert "warning: spec.predictor.canaryTrafficPercent: ignored in Standard mode: a Deployment has no revisions" in (
        warnings
    )
    assert any(line.startswith("warning: spec.predictor.minReplicas: 0 becomes 1") for line in warnings)

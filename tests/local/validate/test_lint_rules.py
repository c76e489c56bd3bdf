"""Lint helpers on small inputs: image tags, deployment modes, model names, argument forms."""

from __future__ import annotations

from typing import Any

import pytest

from local.validate.findings import Document, dotted
from local.validate.lint import arg_value, deployment_mode, image_problem, lint, model_name


@pytest.mark.parametrize(
    ("image", "bad"),
    [
        ("isvc-kit/predictor:0.1.0", False),
        ("localhost:5000/isvc-kit/predictor:0.1.0", False),
        ("localhost:5000/isvc-kit/predictor", True),
        ("ghcr.io/x/y@sha256:" + "0" * 64, False),
        ("python", True),
        ("python:latest", True),
    ],
)
def test_image_problem(image: str, bad: bool) -> None:
    assert (image_problem(image) is not None) is bad


@pytest.mark.parametrize(
    ("annotation", "mode"),
    [(None, "Knative"), ("RawDeployment", "Standard"), ("Serverless", "Knative"), ("Knative", "Knative"), ("x", "x")],
)
def test_deployment_mode(annotation: str | None, mode: str) -> None:
    annotations = {} if annotation is None else {"serving.kserve.io/deploymentMode": annotation}
    assert deployment_mode({"metadata": {"annotations": annotations}}) == mode


def test_arg_value_both_forms() -> None:
    assert arg_value({"args": ["--model_name=a"]}, "--model_name") == "a"
    assert arg_value({"command": ["python", "-m", "m", "--model_name", "b"]}, "--model_name") == "b"
    assert arg_value({"args": ["--model_name"]}, "--model_name") is None


def _isvc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "flowers", "annotations": {"serving.kserve.io/deploymentMode": "Knative"}},
        "spec": spec,
    }


def test_model_name_defaults_to_the_isvc_name() -> None:
    body = _isvc(predictor={"model": {"modelFormat": {"name": "sklearn"}}})
    assert model_name(body, body["spec"]["predictor"]) == "flowers"
    limits = {"resources": {"limits": {"cpu": "1"}}}
    transformer = {"containers": [{"image": "t:1", "args": ["--model_name=iris"], **limits}]}
    predictor = {"model": {"modelFormat": {"name": "sklearn"}, **limits}}
    findings = lint(Document("f.yaml", 0, _isvc(transformer=transformer, predictor=predictor)))
    assert [f.rule for f in findings] == ["ISVC004"]


def test_model_format_predictor_without_limits() -> None:
    findings = lint(Document("f.yaml", 0, _isvc(predictor={"model": {"modelFormat": {"name": "sklearn"}}})))
    assert [(f.rule, f.path) for f in findings] == [("ISVC007", "spec.predictor.model.resources.limits")]


def test_dns_label_boundary() -> None:
    # latest-{name}-predictor-default is 7 + len(name) + 18 characters: 63 passes, 64 fails
    ok = _isvc(predictor={"containers": [{"image": "p:1", "resources": {"limits": {"cpu": "1"}}}]})
    ok["metadata"]["name"] = "n" * 38
    assert lint(Document("f.yaml", 0, ok)) == []
    ok["metadata"]["name"] = "n" * 39
    assert [f.rule for f in lint(Document("f.yaml", 0, ok))] == ["ISVC005"]


def test_dotted_paths() -> None:
    assert dotted(["spec", "predictor", "containers", 0, "image"]) == "spec.predictor.containers[0].image"
    assert dotted([]) == ""

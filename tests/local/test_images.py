"""local/images.py: a component's image is read off its InferenceService (packages, models, command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.errors import SpecError
from local.images import plan_image, render_dockerfile, write_image
from local.scaffold import scaffold
from local.spec import load_inference_services

REPO = Path(__file__).resolve().parents[2]


def iris() -> object:
    return load_inference_services(REPO / "manifests" / "iris.yaml")[0]


def test_the_iris_images_follow_the_spec() -> None:
    predictor = plan_image(iris(), "predictor", REPO)  # type: ignore[arg-type]
    assert predictor.packages == ("predictors",)
    assert predictor.model_dirs == ("models/iris/v1",)
    assert predictor.command[:3] == ("python", "-m", "predictors.sklearn")
    assert predictor.tag == "isvc-kit/predictor:0.1.0"  # the container's image: what the cluster pulls
    transformer = plan_image(iris(), "transformer", REPO)  # type: ignore[arg-type]
    assert transformer.packages == ("predictors", "transformers")  # the kit's transformers use predictors/
    text = render_dockerfile(transformer)
    assert 'CMD ["python", "-m", "transformers.iris"' in text
    assert "USER 10001:10001" in text and "COPY transformers/ transformers/" in text


def test_a_scaffold_gets_a_self_contained_build_context(tmp_path: Path) -> None:
    scaffold(tmp_path, "churn", "predictor")
    (tmp_path / "churn" / "requirements.txt").write_text("tabulate==0.9.0\n")
    (tmp_path / "churn" / "__pycache__").mkdir()
    service = load_inference_services(tmp_path / "churn" / "inferenceservice.yaml")[0]
    plan = plan_image(service, "predictor", tmp_path)
    assert plan.packages == ("churn",) and plan.extra_requirements == "churn/requirements.txt"
    dockerfile = write_image(plan, tmp_path, tmp_path / "out")
    files = sorted(str(p.relative_to(dockerfile.parent)) for p in dockerfile.parent.rglob("*") if p.is_file())
    assert "churn/predictor.py" in files and "requirements-serving.txt" in files
    assert not any("__pycache__" in name for name in files)
    assert "pip install --no-cache-dir -r /tmp/extra-requirements.txt" in dockerfile.read_text()


def test_a_model_format_needs_no_image() -> None:
    wine = load_inference_services(REPO / "manifests" / "wine.yaml")[0]
    with pytest.raises(SpecError, match="KServe serves it with its own runtime"):
        plan_image(wine, "predictor", REPO)
    with pytest.raises(SpecError, match="has no transformer"):
        plan_image(wine, "transformer", REPO)

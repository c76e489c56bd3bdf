"""The variant InferenceServices: equal replicas, loggers only where asked, batcher, predictor only."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.manifests import BATCHER, PLACEMENT_ANNOTATION, base, variant, variants, write
from local.spec import load_inference_services


def test_every_variant_pins_replicas_and_names_its_model() -> None:
    docs = variants()
    for name, doc in docs.items():
        assert doc["metadata"]["name"] == name
        for component in ("transformer", "predictor"):
            if component not in doc["spec"]:
                continue
            spec = doc["spec"][component]
            expected = (0, 1) if name == "iris-zero" else (1, 1)
            assert (spec["minReplicas"], spec["maxReplicas"]) == expected
            assert f"--model_name={name}" in spec["containers"][0]["args"]


def test_loggers_only_on_the_logged_variant_in_mode_all() -> None:
    docs = variants()
    for name, doc in docs.items():
        loggers = [doc["spec"][c].get("logger") for c in ("transformer", "predictor") if c in doc["spec"]]
        if name == "iris-logged":
            assert all(logger and logger["mode"] == "all" for logger in loggers)
            assert len(loggers) == 2
        else:
            assert not any(loggers)


def test_batcher_predictor_only_placement_and_window() -> None:
    source = base()
    assert variant(source, "b", batcher=True)["spec"]["predictor"]["batcher"] == BATCHER
    assert "transformer" not in variant(source, "p", predictor_only=True)["spec"]
    annotations = variant(source, "z", window_s=2, placement="separate")["metadata"]["annotations"]
    assert annotations[PLACEMENT_ANNOTATION] == "separate"
    assert annotations["autoscaling.knative.dev/window"] == "2s"
    assert annotations["autoscaling.knative.dev/scale-to-zero-pod-retention-period"] == "2s"
    assert source["spec"]["predictor"]["minReplicas"] == 0  # the source is not modified


def test_written_variants_are_valid_inference_services(tmp_path: Path) -> None:
    paths = write(tmp_path, variants())
    for name, path in paths.items():
        (service,) = load_inference_services(path)
        assert service.metadata.name == name
        assert yaml.safe_load(path.read_text())["kind"] == "InferenceService"

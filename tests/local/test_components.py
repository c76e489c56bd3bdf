"""Building a component's model from its container command: the kit's contract and unchanged KServe modules."""

from __future__ import annotations

import asyncio

import pytest

from local.components import build_component_model, served_models
from local.errors import SpecError

CUSTOM = "tests.fixtures.custom_models.kserve_custom_predictor"


def test_an_unmodified_kserve_module_is_built_from_its_main_block() -> None:
    from kserve.model_server import ModelServer

    start = ModelServer.start
    model = build_component_model(CUSTOM, ["--model_name=threshold", "--threshold=3"])
    assert ModelServer.start is start  # the interception is undone
    assert model.name == "threshold" and model.ready and model.threshold == 3.0
    response, _ = asyncio.run(model({"instances": [[1.0, 1.0], [2.0, 2.5]]}))  # as KServe's data plane calls it
    assert response == {"predictions": ["low", "high"]}


def test_the_kits_own_modules_follow_the_contract() -> None:
    import predictors.sklearn
    import transformers.iris
    from predictors.contract import EntrypointModule

    assert isinstance(predictors.sklearn, EntrypointModule)
    assert isinstance(transformers.iris, EntrypointModule)
    model = build_component_model("predictors.sklearn", ["--model_name=iris", "--model_dir=models/iris/v1"])
    assert model.name == "iris" and model.ready


def test_a_module_that_never_starts_a_server_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="neither exposes build_model"):
        served_models("tests.fixtures.custom_models.not_a_server", [])


def test_a_module_that_exits_names_the_command() -> None:
    with pytest.raises(SpecError, match=r"exited \(2\)"):
        build_component_model(CUSTOM, ["--threshold=not-a-number"])


def test_a_module_that_cannot_be_imported_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="cannot import module 'no_such_module_here'"):
        build_component_model("no_such_module_here", [])

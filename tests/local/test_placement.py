"""local/placement.py: which placement the planner picks, the units it runs, how failures are blamed."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from local.errors import SpecError
from local.placement import (
    PLACEMENT_ANNOTATION,
    Outcome,
    Unit,
    choose_placement,
    entry_unit,
    replicas_per_revision,
    revision_outcomes,
    units_for,
)
from local.plan import plan_service, route_traffic
from local.spec import InferenceService
from tests.conftest import REPO_ROOT


def iris(**changes: Any) -> InferenceService:
    document = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    for path, value in changes.items():
        *parents, leaf = path.split(".", 2) if path.startswith("metadata.annotations.") else path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[leaf] = value
    return InferenceService.model_validate(document)


def test_iris_colocates_its_transformer_and_predictor() -> None:
    plan = plan_service(iris())
    placement = choose_placement(iris().metadata.annotations, plan.components)
    assert placement.mode == "colocated"
    assert [unit.name for unit in units_for(placement, plan.components)] == [
        "iris-transformer-00001+iris-predictor-00001"
    ]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"spec.predictor.maxReplicas": 3}, "minReplicas/maxReplicas"),
        ({"spec.transformer.minReplicas": 1}, "minReplicas/maxReplicas"),
        ({"spec.predictor.containerConcurrency": 8}, "containerConcurrency"),
        ({f"metadata.annotations.{PLACEMENT_ANNOTATION}": "separate"}, "annotation"),
    ],
)
def test_separate_where_colocation_would_break_the_spec_or_is_refused(changes: dict[str, Any], reason: str) -> None:
    service = iris(**changes)
    plan = plan_service(service)
    placement = choose_placement(service.metadata.annotations, plan.components)
    assert placement.mode == "separate" and reason in placement.reason
    assert sorted(unit.name for unit in units_for(placement, plan.components)) == [
        "iris-predictor-00001",
        "iris-transformer-00001",
    ]


def test_a_predictor_alone_is_one_unit_per_revision() -> None:
    document = yaml.safe_load((REPO_ROOT / "manifests" / "iris.yaml").read_text())
    del document["spec"]["transformer"]
    service = InferenceService.model_validate(document)
    plan = plan_service(service)
    placement = choose_placement(service.metadata.annotations, plan.components)
    assert placement.mode == "separate"
    assert [unit.name for unit in units_for(placement, plan.components)] == ["iris-predictor-00001"]
    assert entry_unit(placement, {"predictor": "iris-predictor-00001"}) == ("iris-predictor-00001", None)


def test_an_unknown_placement_names_the_annotation() -> None:
    service = iris(**{f"metadata.annotations.{PLACEMENT_ANNOTATION}": "sideways"})
    with pytest.raises(SpecError, match=PLACEMENT_ANNOTATION):
        choose_placement(service.metadata.annotations, plan_service(service).components)


def test_a_predictor_canary_is_two_pairs_and_each_pair_reaches_its_predictor() -> None:
    first = plan_service(iris())
    ready = {"iris-transformer-00001", "iris-predictor-00001"}
    states = {name: route_traffic(p.state, None, ready).state for name, p in first.components.items()}
    canary = iris(**{"spec.predictor.canaryTrafficPercent": 20, "spec.predictor.containers": [
        {"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"],
         "args": ["--model_name=iris", "--model_dir=models/iris/v2"]}
    ]})  # fmt: skip
    plan = plan_service(canary, states)
    placement = choose_placement(canary.metadata.annotations, plan.components)
    units = units_for(placement, plan.components)
    assert [unit.name for unit in units] == [
        "iris-transformer-00001+iris-predictor-00001",
        "iris-transformer-00001+iris-predictor-00002",
    ]
    chosen = {"transformer": "iris-transformer-00001", "predictor": "iris-predictor-00002"}
    assert entry_unit(placement, chosen) == ("iris-transformer-00001+iris-predictor-00002", None)
    replicas = replicas_per_revision(units, {units[0].name: 1, units[1].name: 2})
    assert replicas == {"iris-transformer-00001": 3, "iris-predictor-00001": 1, "iris-predictor-00002": 2}


class _Result:
    def __init__(self, ready: bool, message: str = "", status: str = "RUNNING"):
        self.ready, self.message, self.status = ready, message, status


def test_a_failed_pair_is_blamed_on_the_revision_its_message_names() -> None:
    plan = plan_service(iris())
    (pair,) = units_for(choose_placement({}, plan.components), plan.components)
    message = "iris-predictor-00001: StorageError: no model"
    outcomes = revision_outcomes([pair], {pair.name: _Result(False, message, "DEPLOY_FAILED")}, set())
    assert outcomes == {"iris-predictor-00001": Outcome(False, message, "DEPLOY_FAILED")}


def test_without_a_name_the_failure_goes_to_the_members_not_yet_proven_ready() -> None:
    plan = plan_service(iris())
    (pair,) = units_for(choose_placement({}, plan.components), plan.components)
    outcomes = revision_outcomes(
        [pair], {pair.name: _Result(False, "timeout", "DEPLOY_FAILED")}, {"iris-transformer-00001"}
    )
    assert set(outcomes) == {"iris-predictor-00001"} and not outcomes["iris-predictor-00001"].ready


def test_a_revision_is_ready_once_any_unit_holding_it_runs() -> None:
    plan = plan_service(iris())
    (pair,) = units_for(choose_placement({}, plan.components), plan.components)
    other = Unit("other", pair.members)
    results = {pair.name: _Result(True), other.name: _Result(False, "iris-predictor-00001 failed")}
    outcomes = revision_outcomes([pair, other], results, set())
    assert outcomes["iris-predictor-00001"].ready and outcomes["iris-transformer-00001"].ready

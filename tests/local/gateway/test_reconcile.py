"""The reconcile as a pure function: (desired, observed) in, actions out; no runtime, fake or real.

Each test builds what the applier would observe (the published record, the store's states, the deploy's
outcomes) and checks the actions KServe's controller and Knative would lead to: which units to deploy,
the traffic split published, what is retired and deleted, what is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml

from local.errors import ConflictError
from local.gateway.inference_log import NewLogger, entry_logger_spec
from local.gateway.reconcile import (
    Action,
    DeleteUnits,
    Deploy,
    Desired,
    NewModel,
    Observed,
    Publish,
    RetireLogger,
    Save,
    held_units,
    reconcile,
    reconcile_delete,
)
from local.gateway.record import ServiceRecord
from local.gateway.routing import IsvcModel
from local.placement import PLACEMENT_ANNOTATION
from local.spec import InferenceService, load_documents
from tests.conftest import iris_manifest

NOW = "2026-12-02T00:00:00+00:00"
PAIR_1 = "iris-transformer-00001+iris-predictor-00001"


@dataclass(frozen=True)
class Status:
    """A unit's status as the runtime reports it."""

    status: str
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.status == "RUNNING"


def iris(**changes: Any) -> InferenceService:
    """manifests/iris.yaml in the default namespace; ``predictor``/``transformer``/``annotations`` merged in."""
    document = yaml.safe_load(iris_manifest())
    document["metadata"]["namespace"] = "default"
    document["metadata"]["annotations"].update(changes.pop("annotations", {}))
    for component, fields in changes.items():
        document["spec"][component].update(fields)
        for field, value in fields.items():
            if value is None:
                del document["spec"][component][field]
    return load_documents(yaml.safe_dump(document))[0]


def observed(current: ServiceRecord | None = None, **fields: Any) -> Observed:
    return Observed(current, fields.pop("stored", {}), fields.pop("peers", {}), NOW, **fields)


def settle(desired: Desired, seen: Observed, statuses: dict[str, Status] | None = None) -> list[Action]:
    """Reconcile, deploy as ``statuses`` say (RUNNING when not named), reconcile again."""
    first = reconcile(desired, seen)
    if not first or not isinstance(first[0], Deploy):
        return first
    deploy = first[0]
    assert len(first) == 1 and isinstance(deploy, Deploy)
    results = {unit.name: (statuses or {}).get(unit.name, Status("RUNNING")) for unit, _ in deploy.items}
    return reconcile(desired, replace(seen, deployed=results))


def published(actions: list[Action], current: ServiceRecord | None = None) -> ServiceRecord:
    """The record the applier would publish (a fresh model where one is asked for)."""
    publish = actions[0]
    assert isinstance(publish, Publish) and publish.state is not None
    model = publish.model if isinstance(publish.model, IsvcModel) else None
    if model is None:
        assert isinstance(publish.model, NewModel)
        model = IsvcModel(publish.model.name, publish.key[1], lambda name: None, publish.key[0])
    logger = current.logger if current is not None and publish.logger is current.logger else None
    return ServiceRecord.of(publish.state, model, logger)


def traffic(record: ServiceRecord, component: str) -> list[tuple[str, int, str | None]]:
    return [(t.revision, t.percent, t.tag) for t in record.plans[component].traffic]


def with_logger(record: ServiceRecord) -> ServiceRecord:
    """``record`` with the entry logger its spec asks for, as the applier makes it."""
    wanted = entry_logger_spec(record.service, Desired(record.service).local_sink_url)
    assert wanted is not None
    return replace(record, logger=wanted.make())


def applied(service: InferenceService, current: ServiceRecord | None = None, **statuses: Status) -> ServiceRecord:
    return published(settle(Desired(service), observed(current), dict(statuses)), current)


def test_a_new_service_first_deploys_its_units_with_loggers_for_the_components_behind_the_entry() -> None:
    actions = reconcile(Desired(iris()), observed())
    assert len(actions) == 1 and isinstance(actions[0], Deploy)
    [(unit, loggers)] = actions[0].items
    assert unit.name == PAIR_1
    assert loggers["iris-transformer-00001"] is None  # the gateway logs the entry component
    assert loggers["iris-predictor-00001"]["component"] == "predictor"  # type: ignore[index]


def test_once_deployed_the_service_is_published_then_saved_with_all_traffic_on_its_first_revisions() -> None:
    actions = settle(Desired(iris()), observed())
    assert [type(action) for action in actions] == [Publish, Save]
    publish, save = actions
    assert isinstance(publish, Publish) and isinstance(save, Save)
    assert publish.model == NewModel("iris") and isinstance(publish.logger, NewLogger)
    assert publish.refresh_models == ("iris",)
    record = published(actions)
    assert record.created == NOW and record.ready_units == {PAIR_1}
    assert traffic(record, "predictor") == [("iris-predictor-00001", 100, None)]
    assert save.key == ("default", "iris") and save.document is not None
    assert save.states["predictor"].latest_rolled_out == "iris-predictor-00001"


def test_an_unchanged_spec_deploys_nothing_and_keeps_model_logger_and_record() -> None:
    current = with_logger(applied(iris()))
    actions = reconcile(Desired(iris()), observed(current))
    assert not any(isinstance(action, Deploy | DeleteUnits | RetireLogger) for action in actions)
    publish = actions[0]
    assert isinstance(publish, Publish)
    assert publish.model is current.model and publish.logger is current.logger
    assert publish.state is not None and publish.state.plans == current.plans
    assert publish.state.ready_units == current.ready_units and publish.state.created == current.created


def test_a_canary_deploys_only_the_new_revision_and_splits_traffic_keeping_the_old_unit() -> None:
    annotations = {PLACEMENT_ANNOTATION: "separate"}
    current = applied(iris(annotations=annotations))
    canary = iris(annotations=annotations, predictor={"canaryTrafficPercent": 10, "scaleTarget": 4})
    first = reconcile(Desired(canary), observed(current))
    assert isinstance(first[0], Deploy)
    assert [unit.name for unit, _ in first[0].items] == ["iris-predictor-00002"]
    actions = settle(Desired(canary), observed(current))
    record = published(actions, current)
    assert traffic(record, "predictor") == [
        ("iris-predictor-00002", 10, None),
        ("iris-predictor-00001", 90, "prev"),
    ]
    assert not any(isinstance(action, DeleteUnits) for action in actions)
    promoted = applied(iris(annotations=annotations, predictor={"scaleTarget": 4}), record)
    assert traffic(promoted, "predictor") == [("iris-predictor-00002", 100, None)]
    assert promoted.plans["predictor"].state.previous_rolled_out == "iris-predictor-00001"


def test_a_failed_canary_gets_no_traffic_is_deleted_and_its_failure_is_kept_for_the_status() -> None:
    annotations = {PLACEMENT_ANNOTATION: "separate"}
    current = applied(iris(annotations=annotations))
    canary = iris(annotations=annotations, predictor={"canaryTrafficPercent": 10, "scaleTarget": 4})
    failure = Status("DEPLOY_FAILED", "iris-predictor-00002: model did not load")
    actions = settle(Desired(canary), observed(current), {"iris-predictor-00002": failure})
    record = published(actions, current)
    # Knative's latestRevision target resolves to the latest ready revision: the rolled-out one.
    assert traffic(record, "predictor") == [("iris-predictor-00001", 10, None), ("iris-predictor-00001", 90, "prev")]
    assert record.plans["predictor"].state.failed == {"iris-predictor-00002": failure.message}
    assert DeleteUnits(("iris-predictor-00002",)) in actions
    assert "iris-predictor-00002" not in record.ready_units


def test_a_model_name_served_by_another_service_of_the_namespace_is_a_conflict() -> None:
    with pytest.raises(ConflictError, match="already served by InferenceService 'other'"):
        reconcile(Desired(iris()), observed(peers={"iris": "other"}))


def test_a_changed_logger_is_made_anew_and_the_old_one_retired_a_removed_one_only_retired() -> None:
    current = with_logger(applied(iris()))
    old_logger = current.logger
    assert old_logger is not None
    quieter = iris(transformer={"logger": {"mode": "request"}})
    actions = settle(Desired(quieter), observed(current))
    publish = actions[0]
    assert isinstance(publish, Publish) and isinstance(publish.logger, NewLogger)
    assert publish.logger.spec.mode == "request"
    assert RetireLogger(old_logger) in actions
    silent = settle(Desired(iris(transformer={"logger": None})), observed(current))
    assert isinstance(silent[0], Publish) and silent[0].logger is None
    assert RetireLogger(old_logger) in silent


def test_after_a_restart_revisions_continue_from_the_store() -> None:
    before = applied(iris(predictor={"scaleTarget": 4}), applied(iris()))
    stored = {name: plan.state for name, plan in before.plans.items()}
    actions = reconcile(Desired(iris(predictor={"scaleTarget": 5})), observed(stored=stored))
    assert isinstance(actions[0], Deploy)
    assert [unit.name for unit, _ in actions[0].items] == ["iris-transformer-00001+iris-predictor-00003"]


def test_a_delete_unpublishes_before_it_deletes_and_forgets_last() -> None:
    record = with_logger(applied(iris()))
    assert record.logger is not None
    actions = reconcile_delete(record)
    assert actions == [
        Publish(("default", "iris"), None, refresh_models=("iris",)),
        RetireLogger(record.logger),
        DeleteUnits((PAIR_1,)),
        Save(("default", "iris"), None),
    ]


def test_held_units_are_those_of_the_service_and_its_namespace_only() -> None:
    record = applied(iris())
    apps = [PAIR_1, "iris-predictor-00001", "team-a.iris-predictor-00001", "other-predictor-00001"]
    assert held_units(record, apps) == sorted([PAIR_1, "iris-predictor-00001"])


def test_logger_metadata_annotations_reach_the_entry_and_the_replica_loggers() -> None:
    """KServe passes the annotations a logger's ``metadataAnnotations`` names (those the pod has) to its agent."""
    service = iris(
        annotations={"team": "a"},
        transformer={"logger": {"mode": "all", "metadataAnnotations": ["team", "absent"]}},
        predictor={"logger": {"mode": "all", "metadataAnnotations": ["team"]}, "annotations": {"team": "b"}},
    )
    (deploy,) = reconcile(Desired(service), observed())
    assert isinstance(deploy, Deploy)
    [(_, loggers)] = deploy.items
    assert loggers["iris-predictor-00001"]["annotations"] == [["team", "b"]]  # type: ignore[index]
    publish = settle(Desired(service), observed())[0]
    assert isinstance(publish, Publish) and isinstance(publish.logger, NewLogger)
    assert publish.logger.context.annotations == (("team", "a"),)


def test_an_entry_logger_is_made_anew_when_an_annotation_it_stamps_changes() -> None:
    logged = {"transformer": {"logger": {"mode": "all", "metadataAnnotations": ["team"]}}}
    current = with_logger(applied(iris(annotations={"team": "a"}, **logged)))
    same = settle(Desired(iris(annotations={"team": "a"}, **logged)), observed(current))[0]
    assert isinstance(same, Publish) and same.logger is current.logger
    moved = settle(Desired(iris(annotations={"team": "b"}, **logged)), observed(current))
    publish = moved[0]
    assert isinstance(publish, Publish) and isinstance(publish.logger, NewLogger)
    assert publish.logger.context.annotations == (("team", "b"),)
    assert current.logger is not None and RetireLogger(current.logger) in moved

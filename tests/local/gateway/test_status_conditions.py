"""Truthful status without Ray: KServe's conditions for a failed revision, per mode, and `isvc apply`'s exit.

A fake Serve fails the units holding a revision named in ``failing`` (as a replica whose model does not
load); the controller, the planner and the status rendering are the real ones.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import yaml
from kserve.model_repository import ModelRepository

from local.cli import apply as apply_cli
from local.errors import ConflictError
from local.gateway.conditions import service_conditions
from local.gateway.controller import Controller
from local.plan import ComponentState, plan_service, route_traffic
from local.spec import InferenceService, load_documents
from tests.conftest import iris_manifest


@dataclass(frozen=True)
class Status:
    status: str
    replicas: int = 1
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.status == "RUNNING"


class FailingServe:
    """Serve as the controller sees it; a unit holding a revision in ``failing`` ends DEPLOY_FAILED."""

    def __init__(self) -> None:
        self.apps: dict[str, Status] = {}
        self.failing: set[str] = set()

    def deploy_many(self, items: list[Any]) -> dict[str, Any]:
        results = {}
        for unit, _ in items:
            bad = [member.name for member in unit.members if member.name in self.failing]
            if bad:
                results[unit.name] = Status("DEPLOY_FAILED", 0, f"{bad[0]}: FileNotFoundError: models/iris/missing")
            else:
                results[unit.name] = self.apps[unit.name] = Status("RUNNING")
        return results

    def delete(self, app_name: str) -> None:
        self.apps.pop(app_name, None)

    def statuses(self) -> dict[str, Any]:
        return dict(self.apps)

    def client(self, app_name: str) -> Any:
        raise AssertionError("no request is sent here")


def iris(model_dir: str, canary: int | None = None, mode: str = "Knative") -> InferenceService:
    document = yaml.safe_load(
        iris_manifest("iris", "iris", **{"serving.kserve.io/deploymentMode": mode, "isvc-kit.io/placement": "separate"})
    )
    for component in ("transformer", "predictor"):
        document["spec"][component].pop("logger", None)
        document["spec"][component]["minReplicas"] = 1
    predictor = document["spec"]["predictor"]
    args = predictor["containers"][0]["args"]
    predictor["containers"][0]["args"] = [
        f"--model_dir={model_dir}" if a.startswith("--model_dir=") else a for a in args
    ]
    if canary is not None:
        predictor["canaryTrafficPercent"] = canary
    (service,) = load_documents(yaml.safe_dump(document))
    return service


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


@pytest.fixture
def serve() -> FailingServe:
    return FailingServe()


@pytest.fixture
def controller(serve: FailingServe) -> Iterator[Controller]:
    yield Controller(serve, ModelRepository(), "http://127.0.0.1:8080")


def test_a_failed_canary_is_not_ready_with_its_revisions_reason_and_message(
    controller: Controller, serve: FailingServe
) -> None:
    controller.apply(iris("models/iris/v1"))
    serve.failing.add("iris-predictor-00002")
    status = controller.apply(iris("models/iris/missing", canary=20))
    found = conditions(status)
    expected = 'Revision "iris-predictor-00002" failed with message: iris-predictor-00002: FileNotFoundError'
    for kind in ("Ready", "PredictorReady", "PredictorConfigurationReady"):
        assert found[kind]["status"] == "False", kind
        assert found[kind]["reason"] == "RevisionFailed", kind
        assert found[kind]["message"].startswith(expected), kind
    assert found["PredictorRouteReady"]["status"] == "True"  # the rolled-out revision still serves
    assert found["IngressReady"]["status"] == "True"
    assert found["TransformerReady"]["status"] == "True"
    assert found["LatestDeploymentReady"] == {
        "type": "LatestDeploymentReady",
        "status": "False",
        "reason": "PredictorConfigurationReady not ready",
    }
    predictor = status["components"]["predictor"]
    # As Knative shows it: the latest target resolves to the latest *ready* revision, the rolled-out one.
    assert predictor["traffic"] == [
        {"revisionName": "iris-predictor-00001", "percent": 20, "latestRevision": True},
        {"revisionName": "iris-predictor-00001", "percent": 80, "latestRevision": False, "tag": "prev"},
    ]
    assert status["modelStatus"]["transitionStatus"] == "BlockedByFailedLoad"
    # The rolled-out model still serves; the target failed, with KServe's FailureInfo.
    assert status["modelStatus"]["states"] == {"activeModelState": "Loaded", "targetModelState": "FailedToLoad"}
    failure = status["modelStatus"]["lastFailureInfo"]
    assert (failure["reason"], failure["modelRevisionName"]) == ("ModelLoadFailed", "iris-predictor-00002")
    assert failure["message"].startswith("iris-predictor-00002: FileNotFoundError")


def test_the_failure_clears_when_a_later_revision_is_ready_and_stays_with_its_revision(
    controller: Controller, serve: FailingServe
) -> None:
    controller.apply(iris("models/iris/v1"))
    serve.failing.add("iris-predictor-00002")
    controller.apply(iris("models/iris/missing", canary=20))
    status = controller.apply(iris("models/iris/v2", canary=20))
    found = conditions(status)
    assert all(c["status"] == "True" for c in found.values()), found
    assert not any("message" in c for c in found.values())
    assert [(t["revisionName"], t["percent"]) for t in status["components"]["predictor"]["traffic"]] == [
        ("iris-predictor-00003", 20),
        ("iris-predictor-00001", 80),
    ]
    revisions = {r["metadata"]["name"]: r["status"]["conditions"][0] for r in controller.revisions("iris")}
    assert revisions["iris-predictor-00002"]["status"] == "False"  # its own failure is kept on it
    assert revisions["iris-predictor-00003"]["status"] == "True"


def test_a_failed_update_without_canary_is_never_rolled_out(controller: Controller, serve: FailingServe) -> None:
    """Blue-green (no canaryTrafficPercent): a new revision that fails leaves all traffic where it was."""
    controller.apply(iris("models/iris/v1"))
    serve.failing.add("iris-predictor-00002")
    status = controller.apply(iris("models/iris/missing"))
    predictor = status["components"]["predictor"]
    assert predictor["latestRolledoutRevision"] == "iris-predictor-00001"
    assert [t["revisionName"] for t in predictor["traffic"]] == ["iris-predictor-00001"]
    assert conditions(status)["Ready"]["reason"] == "RevisionFailed"


def test_the_latest_failure_is_shown_not_the_greatest_name() -> None:
    """Two failed revisions: the status speaks of the latest one (it once sorted names)."""
    service = iris("models/iris/v1")
    state = plan_service(service).components["predictor"].state
    for model_dir in ("a", "b"):
        state = plan_service(iris(model_dir), {"predictor": state}).components["predictor"].state
    names = [r.name for r in state.revisions]
    state = ComponentState(state.revisions, names[0], None, {names[2]: "second", names[1]: "first"})
    plans = {"predictor": route_traffic(state, None, ready={names[0]})}
    ready = next(c for c in service_conditions("iris", plans, {names[0]}, standard=False) if c.type == "Ready")
    assert ready.message == f'Revision "{names[2]}" failed with message: second.'


def test_a_failed_transformer_revision_is_not_ready_either() -> None:
    """KServe's Ready set is PredictorReady + IngressReady; locally TransformerReady counts as well."""
    service = iris("models/iris/v1")
    first = plan_service(service)
    states = {name: plan.state for name, plan in first.components.items()}
    document = service.model_dump(mode="json", exclude_none=True)
    document["spec"]["transformer"]["containers"][0]["args"].append("--log_level=debug")
    (changed,) = load_documents(yaml.safe_dump(document))
    plans = plan_service(changed, states).components
    transformer = plans["transformer"].state
    failed = transformer.revisions[-1].name
    ready = {first.components["transformer"].state.revisions[0].name, plans["predictor"].state.revisions[0].name}
    broken = replace(transformer, latest_rolled_out=transformer.revisions[0].name, failed={failed: "boom"})
    settled = {"transformer": route_traffic(broken, None, ready), "predictor": plans["predictor"]}
    found = {c.type: c for c in service_conditions("iris", settled, ready, standard=False)}
    assert found["PredictorReady"].is_true and found["IngressReady"].is_true
    assert (found["Ready"].status, found["Ready"].reason) == ("False", "RevisionFailed")
    assert found["Ready"].message == f'Revision "{failed}" failed with message: boom.'


def test_a_first_revision_that_fails_has_no_route(controller: Controller, serve: FailingServe) -> None:
    serve.failing.add("iris-predictor-00001")
    found = conditions(controller.apply(iris("models/iris/missing")))
    assert found["PredictorRouteReady"]["reason"] == "RevisionMissing"
    assert found["Ready"]["status"] == "False"
    assert found["Ready"]["message"] == 'Configuration "iris-predictor" does not have any ready Revision.'
    assert found["IngressReady"] == {
        "type": "IngressReady",
        "status": "False",
        "reason": "Predictor ingress not created",
    }


def test_standard_mode_status_has_no_revisions_and_a_failed_update_is_not_ready(
    controller: Controller, serve: FailingServe
) -> None:
    status = controller.apply(iris("models/iris/v1", mode="Standard"))
    assert status["deploymentMode"] == "Standard"
    assert status["components"]["predictor"] == {"url": "http://127.0.0.1:8080/v2/models/iris"}
    found = conditions(status)
    assert "PredictorConfigurationReady" not in found and "RoutesReady" not in found
    assert found["PredictorReady"]["reason"] == "NewReplicaSetAvailable"
    assert found["Ready"]["status"] == "True"
    serve.failing.add("iris-predictor-00002")
    found = conditions(controller.apply(iris("models/iris/missing", canary=30, mode="Standard")))
    assert found["Ready"]["status"] == "False"
    assert found["Ready"]["reason"] == "ProgressDeadlineExceeded"
    assert found["Ready"]["message"].startswith('ReplicaSet "iris-predictor-00002" has timed out progressing: ')
    record = controller.get("iris")
    assert [(t.revision, t.percent) for t in record.plans["predictor"].traffic] == [("iris-predictor-00001", 100)]
    assert any(w.startswith("spec.predictor.canaryTrafficPercent: ignored in Standard mode") for w in record.warnings)


@pytest.mark.parametrize(("action", "percent"), [("canary", 20), ("promote", None), ("rollback", None)])
def test_standard_mode_refuses_rollout_actions(controller: Controller, action: str, percent: int | None) -> None:
    controller.apply(iris("models/iris/v1", mode="Standard"))
    with pytest.raises(ConflictError, match="Standard mode has no revisions"):
        controller.rollout("iris", action, percent=percent)


class ControllerClient:
    """`isvc apply`'s gateway client, answered by a controller in-process (as the gateway's API does)."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def apply(self, text: str, source: str) -> list[dict[str, Any]]:
        resources = []
        for service in load_documents(text, source):
            self.controller.apply(service)
            resources.append(self.controller.as_resource(service.name))
        return resources


def test_isvc_apply_exits_1_with_the_message_when_not_ready_and_0_after_a_good_one(
    controller: Controller, serve: FailingServe, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any
) -> None:
    monkeypatch.setattr(apply_cli, "GatewayClient", lambda server: ControllerClient(controller))

    def apply(service: InferenceService) -> int:
        path = tmp_path / "isvc.yaml"
        path.write_text(yaml.safe_dump(service.model_dump(mode="json", exclude_none=True)))
        return apply_cli.run(argparse.Namespace(filename=[str(path)], server="unused"))

    assert apply(iris("models/iris/v1")) == 0
    serve.failing.add("iris-predictor-00002")
    capsys.readouterr()
    assert apply(iris("models/iris/missing", canary=20)) == 1
    out = capsys.readouterr().out
    assert "inferenceservice/iris applied (Ready=False)" in out
    assert 'Ready: RevisionFailed Revision "iris-predictor-00002" failed with message:' in out
    assert "  warning: spec.predictor.containers[0].image: not acted on by the local runtime" in out
    assert apply(iris("models/iris/v2", canary=20)) == 0
    assert "(Ready=True)" in capsys.readouterr().out


def test_url_and_address_are_scheme_and_host_as_kserve_writes_them(controller: Controller) -> None:
    """KServe's ingress reconciler (reconcilers/ingress/ingress_reconciler.go) sets ``status.url`` and
    ``status.address.url`` (http, host only); each component has its ``url``."""
    status = controller.apply(iris("models/iris/v1"))
    assert status["url"] == "http://127.0.0.1:8080"
    assert status["address"] == {"url": "http://127.0.0.1:8080"}
    assert {name: component["url"] for name, component in status["components"].items()} == {
        "transformer": "http://127.0.0.1:8080/v2/models/iris",
        "predictor": "http://127.0.0.1:8080/v2/models/iris",
    }


def test_a_served_model_is_up_to_date_and_loaded(controller: Controller) -> None:
    model_status = controller.apply(iris("models/iris/v1"))["modelStatus"]
    assert model_status == {
        "transitionStatus": "UpToDate",
        "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
    }

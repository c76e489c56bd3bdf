"""The controller without Ray: immutable records swapped after the deploy, delete that waits for Serve.

A fake runtime stands in for Serve: deploys can be held, and a deleted application lingers as
DELETING for a few status polls, as Serve's does while its replicas drain.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from kserve.model_repository import ModelRepository

from local.errors import NotReadyError
from local.gateway.controller import Controller
from local.gateway.record import ServiceRecord
from local.gateway.routing import ComponentRoute, IsvcModel, RouteTable
from local.placement import Placement
from local.spec import InferenceService, load_documents
from local.traffic import TrafficTarget
from tests.conftest import iris_manifest


@dataclass(frozen=True)
class Status:
    status: str
    replicas: int = 1
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.status == "RUNNING"


class FakeServe:
    """Serve as the controller sees it; ``hold`` blocks deploys until set, deletes take ``linger`` polls."""

    def __init__(self, linger: int = 0) -> None:
        self.apps: dict[str, Status] = {}
        self.deleting: dict[str, int] = {}
        self.linger = linger
        self.hold = threading.Event()
        self.hold.set()
        self.deploying = threading.Event()
        self.deployed: list[str] = []
        self.deleted: list[str] = []
        self.on_delete: Any = None

    def deploy_many(self, items: list[Any]) -> dict[str, Any]:
        self.deploying.set()
        assert self.hold.wait(timeout=10)
        for unit, _ in items:
            if unit.name in self.deleting:  # Serve cannot run an application it is still deleting
                raise RuntimeError(f"{unit.name} is being deleted")
            self.apps[unit.name] = Status("RUNNING")
            self.deployed.append(unit.name)
        return {unit.name: self.apps[unit.name] for unit, _ in items}

    def delete(self, app_name: str) -> None:
        if self.on_delete is not None:
            self.on_delete(app_name)
        self.deleted.append(app_name)
        if app_name in self.apps:
            self.apps[app_name] = Status("DELETING", 0)
            self.deleting[app_name] = self.linger

    def statuses(self) -> dict[str, Any]:
        for name, polls in list(self.deleting.items()):
            if polls <= 0:
                del self.deleting[name], self.apps[name]
            else:
                self.deleting[name] = polls - 1
        return dict(self.apps)

    def client(self, app_name: str) -> Any:
        raise AssertionError("no request is sent here")


def iris(model_dir: str = "models/iris/v1", **annotations: str) -> InferenceService:
    document = yaml.safe_load(iris_manifest("iris", "iris", **annotations))
    for component in ("transformer", "predictor"):
        document["spec"][component].pop("logger", None)
        document["spec"][component]["minReplicas"] = 1
    args = document["spec"]["predictor"]["containers"][0]["args"]
    document["spec"]["predictor"]["containers"][0]["args"] = [
        f"--model_dir={model_dir}" if a.startswith("--model_dir=") else a for a in args
    ]
    (service,) = load_documents(yaml.safe_dump(document))
    return service


def model_dir_of_spec(record: ServiceRecord) -> str:
    args = record.service.spec.predictor.containers[0].args
    return next(a for a in args if a.startswith("--model_dir="))


def model_dir_of_plan(record: ServiceRecord) -> str:
    latest = record.plans["predictor"].state.latest
    assert latest is not None
    return next(a for a in latest.entrypoint.args if a.startswith("--model_dir="))


@pytest.fixture
def serve() -> FakeServe:
    return FakeServe()


@pytest.fixture
def controller(serve: FakeServe) -> Iterator[Controller]:
    yield Controller(serve, ModelRepository(), "http://127.0.0.1:8080")


def test_readers_during_an_apply_see_the_old_record_whole_then_the_new_one(
    controller: Controller, serve: FakeServe
) -> None:
    controller.apply(iris("models/iris/v1"))
    before = controller.services
    mixed: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            record = controller.services[("isvc-kit", "iris")]
            if model_dir_of_spec(record) != model_dir_of_plan(record):
                mixed.append(f"{model_dir_of_spec(record)} with {model_dir_of_plan(record)}")

    thread = threading.Thread(target=reader)
    thread.start()
    serve.hold.clear()
    serve.deploying.clear()
    applying = threading.Thread(target=controller.apply, args=(iris("models/iris/v2"),))
    applying.start()
    try:
        assert serve.deploying.wait(timeout=10)
        time.sleep(0.05)
        during = controller.get("iris")  # the deploy is under way: still the old record, whole
        assert model_dir_of_spec(during) == "--model_dir=models/iris/v1"
        assert during.plans["predictor"].traffic[0].revision == "iris-predictor-00001"
        table = during.model._table
        assert table is not None and table.components["predictor"].targets[0].revision == "iris-predictor-00001"
    finally:
        serve.hold.set()
        applying.join(timeout=10)
        stop.set()
        thread.join(timeout=10)
    after = controller.get("iris")
    assert model_dir_of_spec(after) == model_dir_of_plan(after) == "--model_dir=models/iris/v2"
    assert mixed == []
    assert model_dir_of_spec(before[("isvc-kit", "iris")]) == "--model_dir=models/iris/v1"  # a snapshot never changes
    with pytest.raises(TypeError):
        before[("isvc-kit", "other")] = after  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.units = ()  # type: ignore[misc]


def test_retired_revisions_are_deleted_only_after_the_new_routes_are_in(
    controller: Controller, serve: FakeServe
) -> None:
    controller.apply(iris("models/iris/v1"))
    model = controller.get("iris").model

    def routed(app: str) -> bool:
        table = model._table
        assert table is not None
        return all(table.component_of(part) is not None for part in app.split("+"))

    still_routed: list[str] = []
    serve.on_delete = lambda app: still_routed.append(app) if routed(app) else None
    controller.apply(iris("models/iris/v2"))
    assert serve.deleted, "the v1 unit was retired"
    assert still_routed == []


def test_delete_returns_once_serve_has_deleted_and_a_reapply_follows_at_once(controller: Controller) -> None:
    serve = controller.runtime
    assert isinstance(serve, FakeServe)
    serve.linger = 5  # five status polls in DELETING
    controller.apply(iris())
    units = set(controller.get("iris").ready_units)
    controller.delete("iris")
    assert not units & set(serve.statuses()), "delete answered while Serve still had the applications"
    status = controller.apply(iris())  # the same revision names again: the store was not kept
    assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert set(controller.get("iris").ready_units) == units


def test_delete_gives_up_after_its_timeout_with_a_503(controller: Controller) -> None:
    serve = controller.runtime
    assert isinstance(serve, FakeServe)
    serve.linger = 10**6
    controller.apply(iris())
    with pytest.raises(NotReadyError, match="still deletes"):
        controller.delete("iris", timeout_s=0.3)
    assert ("isvc-kit", "iris") not in controller.services  # no longer served, whatever Serve still does


def test_a_request_routes_by_one_table_while_tables_are_swapped() -> None:
    def table(n: int) -> RouteTable:
        return RouteTable(
            "transformer",
            {
                "transformer": ComponentRoute((TrafficTarget(f"iris-transformer-0000{n}", 100, None),)),
                "predictor": ComponentRoute((TrafficTarget(f"iris-predictor-0000{n}", 100, None),)),
            },
            placement=Placement("colocated", "one unit per pair"),
        )

    model = IsvcModel("iris", "iris", lambda _: None)
    tables = [table(1), table(2)]
    model.set_routes(tables[0])
    stop = threading.Event()
    seen: set[tuple[str, str]] = set()

    def swapper() -> None:
        rng = random.Random(0)
        while not stop.is_set():
            model.set_routes(rng.choice(tables))

    thread = threading.Thread(target=swapper)
    thread.start()
    try:
        for _ in range(20_000):
            chosen, unit, _ = model._route({}, None)
            seen.add((chosen["transformer"][-1], chosen["predictor"][-1]))
            assert unit == f"{chosen['transformer']}+{chosen['predictor']}"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert seen <= {("1", "1"), ("2", "2")}


def test_retired_loggers_are_handed_over_once_and_closed_by_kept_tasks(serve: FakeServe) -> None:
    import asyncio

    from local.gateway.app import _close_retired_loggers

    controller = Controller(serve, ModelRepository(), "http://127.0.0.1:8080")
    document = yaml.safe_load(iris_manifest())
    for component in ("transformer", "predictor"):
        document["spec"][component]["minReplicas"] = 1
    (logged,) = load_documents(yaml.safe_dump(document))
    controller.apply(logged)
    first = controller.get("iris").logger
    document["spec"]["transformer"]["logger"]["mode"] = "request"
    (changed,) = load_documents(yaml.safe_dump(document))
    controller.apply(changed)
    assert controller.get("iris").logger is not first

    async def scenario() -> tuple[int, int]:
        tasks: set[asyncio.Task[Any]] = set()
        _close_retired_loggers(controller, tasks)
        held = len(tasks)
        await asyncio.gather(*tasks)
        return held, len(tasks)

    held, left = asyncio.run(scenario())
    assert (held, left) == (1, 0)  # kept while closing, discarded when done
    assert controller.take_retired_loggers() == []


def test_a_deploy_that_raises_publishes_nothing_and_leaves_nothing_running() -> None:
    class BreakingServe(FakeServe):
        def deploy_many(self, items: list[Any]) -> dict[str, Any]:
            unit, _ = items[0]
            self.apps[unit.name] = Status("RUNNING")  # started, then Serve's controller goes away
            raise RuntimeError("the Serve controller died")

    breaking = BreakingServe()
    controller = Controller(breaking, ModelRepository(), "http://127.0.0.1:8080")
    with pytest.raises(RuntimeError, match="Serve controller died"):
        controller.apply(iris())
    assert controller.lookup("iris") is None and controller.repository.get_model("iris") is None
    assert breaking.deleted == ["isvc-kit.iris-transformer-00001+iris-predictor-00001"]
    assert all(status.status == "DELETING" for status in breaking.apps.values())

"""The console honours namespaces: one name in two namespaces is two services, each with its own page.

Without Ray: the real gateway app, controller and console (``LocalBackend`` through the gateway's own
API, in process) over a fake Serve. Both namespaces deploy ``console-ns`` with the same revision names
(revision names are unique per namespace only); team-a's revisions run 2 replicas, team-b's 1, and
requests are sent to each namespace by its Host, team-b's half failing. Each namespace's page must show
that namespace's figures only: replicas, requests, req/s and error rate, revisions (a revision added in
one namespace is that one's only) and events (from a real sink app holding both namespaces' events). A
name-only URL is 409 while two namespaces hold the name, and resolves (307 to the namespaced URL) once
one does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository

from local.console import backend, render
from local.gateway import metrics
from local.gateway.app import build_gateway_app
from local.gateway.controller import Controller
from local.sink.app import create_app
from local.sink.store import EventStore
from tests.local.gateway.test_controller_records import FakeServe, Status
from tests.local.gateway.test_isvc_api import iris_object, path

NAME = "console-ns"  # this module's own name: the gateway's counters are process-wide
INFER = f"/v2/models/{NAME}/infer"
BODY = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
PREDICTOR = f"{NAME}-predictor-00001"
STATUS_HEADER = "x-test-status"
REPLICAS = {"team-a": 2, "team-b": 1}


class StatusApp:
    """A Serve application answering with the status of the request's ``x-test-status`` (200 without)."""

    async def infer_rest(
        self, protocol: str, model: str, body: bytes, headers: dict[str, str], downstream: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        return int(headers.get(STATUS_HEADER, "200")), b"{}", {"content-type": "application/json"}

    async def metadata(self) -> dict[str, Any]:
        return {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}], "outputs": []}


class TwoTeamsServe(FakeServe):
    """Serve whose applications of namespace ``ns`` run ``REPLICAS[ns]`` replicas."""

    def deploy_many(self, items: list[Any]) -> dict[str, Any]:
        deployed = super().deploy_many(items)
        for app_name in deployed:
            namespace = app_name.split(".", 1)[0]
            self.apps[app_name] = Status("RUNNING", REPLICAS.get(namespace, 1))
        return {app_name: self.apps[app_name] for app_name in deployed}

    def client(self, app_name: str) -> Any:
        assert app_name in self.apps, f"{app_name} is not deployed"
        return StatusApp()


@pytest.fixture
def gateway() -> Iterator[tuple[TestClient, Controller]]:
    before = list(metrics._GATEWAY.controllers)  # the collector is process-wide: leave it as found
    serve: Any = TwoTeamsServe()  # the part of the controller's runtime it uses
    controller = Controller(serve, ModelRepository(), "http://127.0.0.1:8080")
    try:
        with TestClient(build_gateway_app(controller)) as client:
            for namespace in ("team-a", "team-b"):
                created = client.post(path(namespace), json=iris_object(namespace, NAME))
                assert created.status_code == 201, created.text
            yield client, controller
    finally:
        metrics._GATEWAY.controllers = before


def ce_headers(namespace: str, event_id: str, kind: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": f"{NAME}-predictor",
        "ce-type": f"org.kubeflow.serving.inference.{kind}",
        "ce-time": "2026-01-02T03:04:05.000000Z",
        "ce-inferenceservicename": NAME,
        "ce-namespace": namespace,
        "ce-component": "predictor",
        "content-type": "application/json",
    }


@pytest.fixture
def sink(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A real sink app the console reads its events from (in process: no socket)."""
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    app = create_app(store)
    monkeypatch.setattr(backend, "_sink_client", lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=app)))
    try:
        with TestClient(app) as client:
            yield client
    finally:
        store.dispose()


def page_url(namespace: str) -> str:
    return render.service_url(namespace, NAME)


def cells(html: str, section: str, revision: str) -> list[str]:
    """The text of each cell of the row of ``revision`` in the page's ``section``."""
    part = html[html.index(f'<section id="{section}"') :]
    part = part[: part.index("</section>")]
    row = re.search(rf'<tr data-revision="{re.escape(revision)}">(.*?)</tr>', part)
    assert row, part
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def test_two_namespaces_of_one_name_show_their_own_figures(gateway: tuple[TestClient, Controller]) -> None:
    client, _ = gateway

    # The list: kubectl get -A's layout, the namespace first, one row per namespace and component.
    index = client.get("/console")
    assert index.status_code == 200, index.text
    assert "<thead><tr><th>namespace</th><th>service</th>" in index.text
    rows = re.findall(
        rf'<tr data-namespace="([^"]+)" data-service="{NAME}"><td class="namespace">([^<]+)</td>', index.text
    )
    assert [namespace for namespace, _ in rows] == ["team-a", "team-a", "team-b", "team-b"]
    assert all(namespace == shown for namespace, shown in rows)
    for namespace in ("team-a", "team-b"):
        assert f'href="{page_url(namespace)}"' in index.text

    # A first scrape, then the traffic: 3 good requests to team-a, 1 good and 1 failed to team-b.
    assert client.get(render.service_url("team-a", NAME, "/metrics")).status_code == 200
    time.sleep(0.05)  # the two scrapes must span some time for a rate
    for _ in range(3):
        assert client.post(INFER, json=BODY, headers={"host": f"{NAME}.team-a"}).status_code == 200
    assert client.post(INFER, json=BODY, headers={"x-isvc-namespace": "team-b"}).status_code == 200
    failed = client.post(INFER, json=BODY, headers={"x-isvc-namespace": "team-b", STATUS_HEADER: "503"})
    assert failed.status_code == 503

    pages: dict[str, str] = {}
    deadline = time.monotonic() + 10  # replicas are read from a status snapshot refreshed every second
    while True:
        pages = {namespace: client.get(page_url(namespace)).text for namespace in ("team-a", "team-b")}
        shown = {namespace: cells(html, "status", PREDICTOR)[5] for namespace, html in pages.items()}
        if shown == {"team-a": "2", "team-b": "1"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shown == {"team-a": "2", "team-b": "1"}  # each namespace's own isvc_replicas

    for namespace, other in (("team-a", "team-b"), ("team-b", "team-a")):
        html = pages[namespace]
        assert f"<title>{namespace}/{NAME} · isvc console</title>" in html
        assert f'namespace <span class="namespace">{namespace}</span>' in html
        assert f'<small class="service">{namespace}/{NAME}</small>' in html  # the traffic panel says whose
        for part in ("status", "metrics", "events"):
            assert f'hx-get="{render.service_url(namespace, NAME, "/" + part)}"' in html
        for part in ("rollout", "try"):
            assert f'action="{render.service_url(namespace, NAME, "/" + part)}"' in html
        assert render.service_url(other, NAME) not in html
        assert html.count(f'<tr data-revision="{PREDICTOR}">') == 2  # status and traffic: one row each

    # The traffic panel: req/s, errors, requests of that namespace only (same revision name in both).
    component_a, revision_a, rps_a, errors_a, _, requests_a = cells(pages["team-a"], "metrics", PREDICTOR)
    component_b, revision_b, rps_b, errors_b, _, requests_b = cells(pages["team-b"], "metrics", PREDICTOR)
    assert (component_a, revision_a) == (component_b, revision_b) == ("predictor", PREDICTOR)
    assert (requests_a, requests_b) == ("3", "2")
    assert (errors_a, errors_b) == ("0.0%", "50.0%")
    assert float(rps_a) > float(rps_b) > 0

    # The fragments htmx polls are the namespace's too.
    fragment = client.get(render.service_url("team-b", NAME, "/metrics")).text
    assert cells(fragment, "metrics", PREDICTOR)[5] == "2"
    status = client.get(render.service_url("team-a", NAME, "/status")).text
    assert cells(status, "status", PREDICTOR)[5] == "2"

    # A new predictor revision in team-b only: its revisions are team-b's, team-a's are untouched.
    document = iris_object("team-b", NAME)
    container = document["spec"]["predictor"]["containers"][0]
    container["args"] = [arg.replace("models/iris/v1", "models/iris/v2") for arg in container["args"]]
    applied = client.post(
        path("team-b"), content=yaml.safe_dump(document), headers={"content-type": "application/yaml"}
    )
    assert applied.status_code == 200, applied.text
    newer = f"{NAME}-predictor-00002"
    team_a, team_b = (client.get(render.service_url(ns, NAME, "/status")).text for ns in ("team-a", "team-b"))
    assert re.findall(r'data-revision="([^"]+-predictor-[^"]+)"', team_a) == [PREDICTOR]
    assert sorted(re.findall(r'data-revision="([^"]+-predictor-[^"]+)"', team_b)) == [PREDICTOR, newer]
    assert cells(team_b, "status", newer)[2] == "100%" and cells(team_a, "status", PREDICTOR)[2] == "100%"


def test_a_name_only_url_is_409_when_two_namespaces_hold_it_and_resolves_when_one_does(
    gateway: tuple[TestClient, Controller],
) -> None:
    client, _ = gateway
    for url in (f"/console/services/{NAME}", f"/console/services/{NAME}/status"):
        ambiguous = client.get(url, follow_redirects=False)
        assert ambiguous.status_code == 409, (url, ambiguous.text)
        assert f"InferenceService &#x27;{NAME}&#x27; exists in namespaces &#x27;team-a&#x27;, &#x27;team-b&#x27;" in (
            ambiguous.text
        )
    page = client.get(f"/console/services/{NAME}").text
    for namespace in ("team-a", "team-b"):  # the 409 page links both
        assert f'<a href="{page_url(namespace)}">{namespace}/{NAME}</a>' in page
    posted = client.post(f"/console/services/{NAME}/rollout", data={"action": "promote"}, follow_redirects=False)
    assert posted.status_code == 409 and "<!doctype html>" in posted.text  # a form posted without htmx: a page
    assert client.get("/console/services/nowhere", follow_redirects=False).status_code == 404
    assert client.get(f"/console/services/{NAME}/nothing", follow_redirects=False).status_code == 404
    assert client.get(render.service_url("team-c", NAME)).status_code == 404  # the namespace is part of the name

    assert client.delete(path("team-a", NAME)).status_code == 200
    moved = client.get(f"/console/services/{NAME}", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"] == page_url("team-b")
    fragment = client.get(f"/console/services/{NAME}/metrics?x=1", follow_redirects=False)
    assert fragment.headers["location"] == render.service_url("team-b", NAME, "/metrics") + "?x=1"
    followed = client.get(f"/console/services/{NAME}")
    assert followed.status_code == 200 and f"<title>team-b/{NAME} · isvc console</title>" in followed.text
    # a form posted to the old URL reaches the namespaced one with its body (307 keeps the POST)
    rolled = client.post(f"/console/services/{NAME}/rollout", data={"action": "canary", "percent": "oops"})
    assert rolled.status_code == 400 and "percent must be an integer" in rolled.text
    assert rolled.url.path == render.service_url("team-b", NAME, "/rollout")


def test_each_namespace_page_shows_its_own_events(gateway: tuple[TestClient, Controller], sink: TestClient) -> None:
    client, _ = gateway
    assert sink.post("/", content=b"{}", headers=ce_headers("team-b", "b-0", "request")).status_code == 200
    for number in range(30):  # team-a is busy since: its pairs crowd team-b's out of the newest 25
        for kind in ("request", "response"):
            sent = sink.post("/", content=b"{}", headers=ce_headers("team-a", f"a-{number}", kind))
            assert sent.status_code == 200, sent.text

    def shown(namespace: str) -> list[str]:
        html = client.get(render.service_url(namespace, NAME, "/events")).text
        assert f"of {namespace}/{NAME} from the sink" in html
        return re.findall(r'<div class="event" data-id="([^"]+)"', html)

    team_a, team_b = shown("team-a"), shown("team-b")
    assert len(team_a) == 25 and all(event_id.startswith("a-") for event_id in team_a)
    assert team_b == ["b-0"]

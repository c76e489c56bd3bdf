"""The console in a real browser (headless Chromium, driven by Playwright) against the local runtime.

One walk through what a platform team does: open the console, find the service and its two predictor
revisions, move the canary split to 30 %, send a request from the "try it" form and see which revision
served it, watch its events arrive from the sink and the rates appear, promote, and see the replicas go
to zero. Screenshots land in ``test-results/console/`` (git-ignored). Debian's ``/usr/bin/chromium`` is
used as it is (``executable_path``): no browser is downloaded. Skipped, saying why, without Chromium or
the ``playwright`` package.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.console import render
from tests.conftest import REPO_ROOT, apply_yaml, iris_manifest

CHROMIUM = os.environ.get("ISVC_CHROMIUM", "/usr/bin/chromium")
RESULTS = REPO_ROOT / "test-results" / "console"
NAME = "iris-ops"  # the iris InferenceService under its own name: the session's `iris` stays as other tests expect
NAMESPACE = "isvc-kit"  # manifests/iris.yaml's
TIMEOUT_MS = 60_000
API = "/apis/serving.kserve.io/v1beta1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.ray,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (dev group)")


def manifest(model_dir: str, percent: int | None = None) -> str:
    """manifests/iris.yaml as NAME, predictor from ``model_dir``, replicas released 5 s after the last request."""
    retention = {"autoscaling.knative.dev/scale-to-zero-pod-retention-period": "5s"}
    document = yaml.safe_load(iris_manifest(NAME, NAME, **retention))
    container = document["spec"]["predictor"]["containers"][0]
    args = container["args"]
    container["args"] = [a if not a.startswith("--model_dir=") else f"--model_dir={model_dir}" for a in args]
    if percent is not None:
        document["spec"]["predictor"]["canaryTrafficPercent"] = percent
    return yaml.safe_dump(document)


@pytest.fixture(scope="module")
def two_revisions(ray_gateway: Any) -> Iterator[Any]:
    """NAME with predictor revisions 00001 (v1, rolled out) and 00002 (v2, a 10 % canary)."""
    import httpx

    apply_yaml(ray_gateway, manifest("models/iris/v1"))
    resource = apply_yaml(ray_gateway, manifest("models/iris/v2", percent=10))
    assert resource["status"]["components"]["predictor"]["latestCreatedRevision"] == f"{NAME}-predictor-00002"
    yield ray_gateway
    httpx.delete(f"{ray_gateway.url}{API}/namespaces/_all/inferenceservices/{NAME}", timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_canary_try_events_promote_in_the_browser(two_revisions: Any, page: Any) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=TIMEOUT_MS)  # cold starts on a loaded 2-core machine take seconds
    gateway = two_revisions
    revision = f"{NAME}-predictor-0000"

    # the list: every InferenceService, its namespace first, with NAME's predictor in canary
    page.goto(f"{gateway.url}/console")
    row = page.locator(f'#services tr[data-namespace="{NAMESPACE}"][data-service="{NAME}"]').filter(
        has_text="predictor"
    )
    expect(row.locator("td").first).to_have_text(NAMESPACE)
    expect(row).to_contain_text("canary")
    expect(row).to_contain_text(f"{revision}2 10%")
    row.get_by_role("link", name=NAME).click()

    # the service, addressed by namespace and name: both predictor revisions, their roles and split
    expect(page).to_have_url(f"{gateway.url}{render.service_url(NAMESPACE, NAME)}")
    expect(page.locator("#status h2")).to_contain_text(NAME)
    expect(page.locator("#status h2 .namespace")).to_have_text(NAMESPACE)
    expect(page.locator("#metrics h2")).to_contain_text(f"{NAMESPACE}/{NAME}")
    predictor = page.locator('#status [data-component="predictor"]')
    expect(predictor.locator(f'tr[data-revision="{revision}1"]')).to_contain_text("rolled-out")
    expect(predictor.locator(f'tr[data-revision="{revision}2"] td.traffic')).to_have_text("10%")

    # move the split to 30 %, through the rollout API the CLI uses
    page.locator("#canary-percent").fill("30")
    page.get_by_role("button", name="Set canary").click()
    expect(page.locator("#rollout-result")).to_contain_text("canary 30% on predictor: done")
    expect(predictor.locator(f'tr[data-revision="{revision}2"] td.traffic')).to_have_text("30%")
    expect(predictor.locator(f'tr[data-revision="{revision}1"] td.traffic')).to_have_text("70%")
    resource = gateway.controller.as_resource(NAME)
    split = {t["revisionName"]: t["percent"] for t in resource["status"]["components"]["predictor"]["traffic"]}
    assert split == {f"{revision}1": 70, f"{revision}2": 30}

    # send a request from the form (built from the V2 metadata) and see who served it
    expect(page.locator('#try input[name="input.sepal_length"]')).to_have_value("5.1")
    page.locator("#try").get_by_role("button", name="Send").click()
    result = page.locator("#try-result")
    expect(result.locator(".http-status")).to_have_text("200", timeout=TIMEOUT_MS)
    expect(result.locator(".response")).to_contain_text("setosa")
    served = result.locator(".served-by").inner_text()
    match = re.search(rf"predictor ({revision}[12])", served)
    assert match, served
    served_revision = match.group(1)
    expect(predictor.locator(f'tr[data-revision="{served_revision}"] td.replicas')).not_to_have_text("0")

    # its events arrive from the sink: a request/response pair per component
    events = page.locator("#events .event")
    expect(events.filter(has_text="transformer").first).to_contain_text("ok")
    expect(events.filter(has_text="predictor").first).to_contain_text("ok")
    # and the rates, read from /metrics
    expect(page.locator(f'#metrics tr[data-revision="{served_revision}"] td').nth(5)).not_to_have_text("0")
    shot(page, "service-canary.png")

    # bodies on click; an opened event stays open while the stream refreshes
    page.evaluate(
        """() => { window.eventSwaps = 0; document.body.addEventListener('htmx:afterRequest', (e) => {
             if (e.detail.pathInfo.requestPath.endsWith('/events')) window.eventSwaps += 1; }); }"""
    )
    events.filter(has_text="transformer").first.locator("summary").click()
    opened = page.locator("#events details[open]")
    expect(opened).to_have_count(1)
    expect(opened).to_contain_text("sepal_length")  # the request body the form sent
    expect(opened).to_contain_text("setosa")  # and the response
    page.wait_for_function("window.eventSwaps >= 2")
    expect(opened).to_have_count(1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.locator("#events").screenshot(path=str(RESULTS / "event-stream.png"))

    # promote: the canary takes 100 % and becomes the rolled-out revision
    page.get_by_role("button", name="Promote").click()
    expect(page.locator("#rollout-result")).to_contain_text("promote on predictor: done")
    latest = predictor.locator(f'tr[data-revision="{revision}2"]')
    expect(latest.locator("td.traffic")).to_have_text("100%")
    expect(latest).to_contain_text("rolled-out")
    status = gateway.controller.as_resource(NAME)["status"]["components"]["predictor"]
    assert status["latestRolledoutRevision"] == f"{revision}2"
    assert status["previousRolledoutRevision"] == f"{revision}1"

    # scale to zero, as it happens: a request wakes the promoted revision, 5 s after it the replica goes
    page.evaluate("() => { document.getElementById('try-result').innerHTML = ''; }")
    page.locator("#try").get_by_role("button", name="Send").click()
    expect(result.locator(".served-by")).to_contain_text(f"predictor {revision}2")
    expect(latest.locator("td.replicas")).to_have_text("1")
    expect(latest.locator("td.replicas.zero")).to_be_visible(timeout=120_000)
    shot(page, "service-promoted.png")


def test_read_only_views_work_without_javascript(two_revisions: Any, browser: Any) -> None:
    """Every panel is in the server's first answer; a plain form post answers the whole page."""
    import time

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{two_revisions.url}/console/services/{NAME}")  # the name-only URL: one namespace holds it
        url = f"{two_revisions.url}{render.service_url(NAMESPACE, NAME)}"
        assert page.url == url, page.url
        assert page.locator(f'#status tr[data-revision="{NAME}-predictor-00002"]').count() == 1
        assert page.locator("#metrics table").count() == 1
        page.locator("#try").get_by_role("button", name="Send").click()
        page.wait_for_load_state()
        assert "HTTP 200" in page.locator("#try-result").inner_text()
        served = page.locator("#try-result .served-by").inner_text()
        deadline = time.monotonic() + 60
        while page.locator("#events .event[data-component='transformer']").count() == 0:
            assert time.monotonic() < deadline, "the request's events never reached the page"
            time.sleep(1)
            page.goto(url)
        assert served.startswith("transformer ")
        assert page.locator("#events details").first.get_attribute("open") is None  # bodies on click
    finally:
        context.close()

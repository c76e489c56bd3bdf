"""The Grafana dashboard and the Prometheus scrape configurations (unit tier; promtool checks where installed).

Every PromQL query of ``manifests/monitoring/grafana-dashboard.json`` (panels and template variables) must
name only metrics the gateway really exports: its ``/metrics``, scraped from the in-process gateway app,
with the sample names each family type yields (``_total``/``_created`` for a counter, ``_bucket``,
``_count``, ``_sum`` for a histogram). Where Debian's ``promtool`` is present, the queries must also
parse as PromQL (as recording rules) and both scrape configurations must load.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from kserve.model_repository import ModelRepository
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO_ROOT

MONITORING = REPO_ROOT / "manifests" / "monitoring"
DASHBOARD = MONITORING / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}
KEYWORDS |= {"inf", "nan"}


class _Runtime:
    def statuses(self) -> dict[str, Any]:
        return {}


@pytest.fixture(scope="module")
def exported() -> Iterator[set[str]]:
    """Sample names at the gateway's /metrics (the in-process app, with KServe's own metrics)."""
    from local.gateway import metrics
    from local.gateway.app import build_gateway_app
    from local.gateway.controller import Controller

    before = list(metrics._GATEWAY.controllers)  # the collector is process-wide: leave it as found
    try:
        app = build_gateway_app(Controller(_Runtime(), ModelRepository(), "http://127.0.0.1:8080"))
        with TestClient(app) as client:
            response = client.get("/metrics")
    finally:
        metrics._GATEWAY.controllers = before
    assert response.status_code == 200
    yield sample_names(response.text)


def sample_names(text: str) -> set[str]:
    names: set[str] = set()
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "gauge": ("",),
    }
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets, and template variables' label_values()."""
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else None
        match = re.fullmatch(r"label_values\((.+),\s*\w+\)", text or "")
        if match:
            found.append(match.group(1))
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords,
    label names (inside ``{}`` or ``by (...)``), durations, strings or Grafana variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group(0).lower() in KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def concrete(expr: str) -> str:
    """A Grafana query with its variables replaced, as Prometheus receives it."""
    for variable in ("$namespace", "$service", "$model"):
        expr = expr.replace(variable, ".*")
    return expr.replace("$__rate_interval", "1m")


def test_the_name_extraction_sees_selectors_only() -> None:
    expr = 'histogram_quantile(0.99, sum by (le, revision) (rate(a_bucket{code=~"5.."}[$__rate_interval]))) / b'
    assert metric_names(expr) == {"a_bucket", "b"}


def test_every_dashboard_query_names_a_metric_the_gateway_exports(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    found = queries(dashboard)
    assert len(found) >= 10
    named = set()
    for expr in found:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= exported, f"{expr!r} names {sorted(names - exported)}, not at the gateway's /metrics"
        named |= names
    # the brief of the dashboard: requests, errors, latency, replicas, logger counters, KServe's histograms
    assert {
        "isvc_requests_total",
        "isvc_request_errors_total",
        "isvc_request_duration_seconds_bucket",
        "isvc_replicas",
        "isvc_logger_events_total",
        "request_predict_seconds_bucket",
    } <= named


def test_the_kits_series_are_told_apart_by_namespace() -> None:
    """One name in two namespaces is two services: every isvc_* query selects and groups by namespace,
    and its legend names it; the service variable lists the names of the chosen namespaces."""
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [t for panel in dashboard["panels"] for t in panel.get("targets", ()) if "isvc_" in t["expr"]]
    assert len(targets) >= 8
    for target in targets:
        expr = target["expr"]
        selectors = re.findall(r"isvc_\w+\{([^}]*)\}", expr)
        assert selectors and all('namespace=~"$namespace"' in s for s in selectors), expr
        groupings = re.findall(r"\bby \(([^)]*)\)", expr)
        assert groupings and all("namespace" in g.split(", ") for g in groupings), expr
        assert "{{namespace}}/{{inferenceservice}}" in target["legendFormat"], target
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["namespace"]["query"]["query"] == "label_values(isvc_requests_total, namespace)"
    assert 'namespace=~"$namespace"' in variables["service"]["query"]["query"]


def test_panels_have_unique_ids_and_sit_on_the_grid() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24


def test_local_scrape_config_targets_the_gateway_metrics() -> None:
    config = json.loads((MONITORING / "prometheus-local.json").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8080"]  # isvc up's default port


def test_cluster_scrape_config_keeps_annotated_pods_and_the_dashboards_labels() -> None:
    configmap = yaml.safe_load((MONITORING / "prometheus-cluster.yaml").read_text())
    config = yaml.safe_load(configmap["data"]["prometheus.yml"])
    [job] = config["scrape_configs"]
    relabel = job["relabel_configs"]
    assert relabel[0] == {
        "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        "action": "keep",
        "regex": "true",
    }
    targets = {rule.get("target_label") for rule in relabel}
    assert {"inferenceservice", "namespace", "component", "revision"} <= targets


@pytest.mark.skipif(PROMTOOL is None, reason="no promtool (Debian package prometheus)")
def test_promtool_parses_every_query_and_loads_both_configs(tmp_path: Path) -> None:
    assert PROMTOOL is not None
    dashboard = json.loads(DASHBOARD.read_text())
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": concrete(e)} for i, e in enumerate(queries(dashboard))
                ],
            }
        ]
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Debian builds Prometheus without Kubernetes discovery: check the rest (relabelling) with a static target.
    configmap = yaml.safe_load((MONITORING / "prometheus-cluster.yaml").read_text())
    cluster = yaml.safe_load(configmap["data"]["prometheus.yml"])
    for job in cluster["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs")
        job["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
    (tmp_path / "cluster.yml").write_text(yaml.safe_dump(cluster))
    for config in (MONITORING / "prometheus-local.json", tmp_path / "cluster.yml"):
        checked = subprocess.run(
            [PROMTOOL, "check", "config", "--syntax-only", str(config)], capture_output=True, text=True
        )
        assert checked.returncode == 0, f"{config}: {checked.stdout}{checked.stderr}"

"""Delete waits for Serve, so the same service applied again at once gets the same revision names (Ray tier)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from local.cli.main import main as isvc
from tests.conftest import SETOSA, apply_yaml, iris_manifest

pytestmark = pytest.mark.ray


def test_delete_then_an_immediate_reapply_serves(ray_gateway: Any) -> None:
    document = yaml.safe_load(iris_manifest("again", "again"))
    for component in ("transformer", "predictor"):
        document["spec"][component]["minReplicas"] = 1
        document["spec"][component].pop("logger", None)
    text = yaml.safe_dump(document)
    first = apply_yaml(ray_gateway, text)
    units = first["status"]["localRuntime"]["placement"]["units"]
    assert isvc(["delete", "again", "--server", ray_gateway.url]) == 0
    left = [app for app in ray_gateway.runtime.statuses() if app in units]
    assert left == [], f"delete answered while Serve still had {left}"
    again = apply_yaml(ray_gateway, text)  # at once: the same revision (and application) names
    assert again["status"]["localRuntime"]["placement"]["units"] == units
    ready = next(c for c in again["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    response = httpx.post(f"{ray_gateway.url}/v1/models/again:predict", json={"instances": [SETOSA]}, timeout=60)
    assert response.status_code == 200 and response.json()["predictions"][0]["label"] == "setosa"
    assert isvc(["delete", "again", "--server", ray_gateway.url]) == 0

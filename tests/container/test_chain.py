"""The process tier's assertions, run against the containers: the images behave as the processes do.

The V1/V2, health/metadata, direct-predictor and bad-input tests are the very functions of
tests/local/test_processes.py, collected here with ``chain`` bound to the container chain (predictor and
transformer run as their pods run them, see conftest.py). What only containers have (published ports,
the pod's user and filesystem, a failing start, SIGTERM) is checked below; and the chain's answers are
compared with the in-process KServe chain, which is what the Ray runtime serves (tests/local/gateway).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import v2_binary_request, v2_feature_request
from tests.container import engine
from tests.container.conftest import ContainerChain
from tests.local.test_processes import (  # the process tier's assertions, reused as they are
    BAD,
    test_bad_input_gets_v2_error_then_service_continues,
    test_health_metadata_and_ready,
    test_predictor_answers_directly,
    test_v1_and_v2_through_the_transformer,
)

pytestmark = [pytest.mark.container, pytest.mark.timeout(900)]
__all__ = [
    "BAD",
    "test_bad_input_gets_v2_error_then_service_continues",
    "test_health_metadata_and_ready",
    "test_predictor_answers_directly",
    "test_v1_and_v2_through_the_transformer",
]

# Rows across the iris feature ranges (the transformer rejects values out of its metadata's range).
ROWS = [[4.3 + 0.18 * i, 2.0 + 0.12 * (i % 7), 1.0 + 0.29 * i, 0.1 + 0.12 * i] for i in range(20)]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def chain(container_chain: ContainerChain) -> ContainerChain:
    return container_chain


@pytest.fixture(scope="module")
def client(chain: ContainerChain) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chain.url, timeout=10.0) as http:
        yield http


def test_transformer_reaches_the_predictor_by_name_on_the_network(chain: ContainerChain) -> None:
    args = chain.entry.inspect()["Args"]
    assert "--predictor_host=iris-predictor:8080" in args
    networks = chain.predictor.inspect()["NetworkSettings"]["Networks"]
    assert chain.network in networks and "iris-predictor" in networks[chain.network]["Aliases"]


def test_containers_run_as_their_pods_run_them(chain: ContainerChain) -> None:
    for component, container in (("predictor", chain.predictor), ("transformer", chain.entry)):
        manifest = engine.manifest_container(component)
        info = container.inspect()
        assert [info["Path"], *info["Args"]][: len(manifest["command"]) + len(manifest["args"])] == [
            *manifest["command"],
            *manifest["args"],
        ]
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert info["Config"]["User"] == "10001:10001"
        identity = engine.docker("exec", container.name, "id", "-u").stdout.strip()
        assert identity == "10001"
        write = engine.docker("exec", container.name, "touch", "/app/x", check=False)
        assert write.returncode != 0 and "Read-only file system" in write.stderr
        capabilities = engine.docker("exec", container.name, "grep", "CapEff", "/proc/self/status").stdout
        assert capabilities.split()[1] == "0000000000000000"


def test_ports_are_published_on_loopback_only(chain: ContainerChain) -> None:
    for container in (chain.predictor, chain.entry):
        bindings = container.inspect()["NetworkSettings"]["Ports"]
        published = [b for entries in bindings.values() if entries for b in entries]
        assert published and all(b["HostIp"] == "127.0.0.1" for b in published), bindings


def test_same_answers_as_the_in_process_chain(
    chain: ContainerChain, client: httpx.Client, transformer_client: Any, predictor_client: Any
) -> None:
    """The Ray runtime serves these same KServe models in-process (tests/local/gateway compares it)."""
    records = [dict(zip(FEATURES, row, strict=True)) for row in ROWS]
    for path, body in (
        ("/v1/models/iris:predict", {"instances": records}),
        ("/v2/models/iris/infer", v2_feature_request(records)),
    ):
        container = client.post(path, json=body)
        local = transformer_client.post(path, json=body)
        assert container.status_code == local.status_code == 200, container.text
        assert_same(container.json(), local.json())
    binary, headers = v2_binary_request(ROWS)
    container = httpx.post(f"{chain.predictor.url}/v2/models/iris/infer", content=binary, headers=headers, timeout=10)
    local = predictor_client.post("/v2/models/iris/infer", content=binary, headers=headers)
    assert container.status_code == local.status_code == 200, container.text
    assert_same(container.json(), local.json())


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """Equal JSON, numbers within 1e-5 (the same float32 model on another machine's BLAS)."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected) - {"id"} | ({"id"} & set(actual)), path
        for key in expected:
            if key != "id":
                assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5, err_msg=path)
    else:
        assert actual == expected, path


def test_a_failed_start_exits_with_the_reason(images: dict[str, str]) -> None:
    network = engine.network()
    container = None
    try:
        manifest = engine.manifest_container("predictor") | {
            "args": ["--model_name=iris", "--model_dir=models/nowhere"]
        }
        container = engine.run_pod_container(images["predictor"], manifest, network, "broken")
        status = engine.docker("wait", container.name, timeout=120).stdout.strip()
        assert status != "0"
        assert "models/nowhere" in container.logs()
    finally:
        if container is not None:
            engine.remove(container.name)
        engine.docker("network", "rm", network, check=False)


def test_sigterm_stops_the_server(images: dict[str, str]) -> None:
    """What the kubelet sends at scale-down: the server exits by itself within the grace period."""
    network = engine.network()
    container = None
    try:
        container = engine.run_pod_container(
            images["predictor"], engine.manifest_container("predictor"), network, "stopping"
        )
        engine.wait_ready(container)
        engine.docker("stop", "--time=20", container.name, timeout=60)
        state = container.inspect()["State"]
        assert state["Running"] is False
        assert state["OOMKilled"] is False and state["ExitCode"] != 137, "killed, not stopped by SIGTERM"
    finally:
        if container is not None:
            engine.remove(container.name)
        engine.docker("network", "rm", network, check=False)

"""Container tier fixtures: the engine, the images (each built once a session), the pod-like chain.

Skipped, with the reason, where no Docker engine answers (a failure instead when
``ISVC_REQUIRE_DOCKER`` is set, as .ci/run sets it). Builds use the Dockerfiles unchanged; only
``PYTHON_IMAGE`` differs: Docker Hub's ``python:3.11-slim`` where it can be pulled, else the local
Debian base (docker/base/build.sh). The images are tagged ``isvc-kit/<name>:test`` so that a run never
replaces the ``0.1.0`` images that ``make images`` built for a cluster.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.container import engine

IMAGES = ("predictor", "transformer", "sink")
BUILD_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = engine.engine_problem()
    if problem and os.environ.get("ISVC_REQUIRE_DOCKER"):
        pytest.fail(f"container tier required (ISVC_REQUIRE_DOCKER is set): {problem}")
    if problem:
        pytest.skip(f"container tier: {problem}")


@pytest.fixture(scope="session")
def python_image(docker_engine: None) -> str:
    try:
        return engine.python_base()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        reason = f"container tier: no Python base image (Docker Hub unreachable, local base not built: {error})"
        if os.environ.get("ISVC_REQUIRE_DOCKER"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def image_builder(python_image: str) -> Any:
    built: dict[str, str] = {}

    def image(name: str) -> str:
        if name not in built:
            tag = f"isvc-kit/{name}:{engine.TEST_TAG}"
            BUILD_SECONDS[name] = engine.build(f"Dockerfile.{name}", tag, {"PYTHON_IMAGE": python_image})
            built[name] = tag
        return built[name]

    return image


@pytest.fixture(scope="session")
def images(image_builder: Any) -> dict[str, str]:
    return {name: image_builder(name) for name in IMAGES}


@dataclass
class ContainerChain:
    """The container counterpart of local.processes.Chain: ``url`` is the entry (the transformer)."""

    network: str
    predictor: engine.Container
    entry: engine.Container

    @property
    def url(self) -> str:
        return self.entry.url


@pytest.fixture(scope="session")
def container_chain(images: dict[str, str]) -> Iterator[ContainerChain]:
    """Predictor and transformer as their pods run them; the transformer finds the predictor by name on a
    user-defined network, as KServe passes it ``--predictor_host`` (the predictor's service host)."""
    network = engine.network()
    started: list[engine.Container] = []
    try:
        predictor = engine.run_pod_container(
            images["predictor"], engine.manifest_container("predictor"), network, "iris-predictor"
        )
        started.append(predictor)
        transformer = engine.run_pod_container(
            images["transformer"],
            engine.manifest_container("transformer"),
            network,
            "iris-transformer",
            ("--predictor_host=iris-predictor:8080",),
        )
        started.append(transformer)
        engine.wait_ready(predictor)
        engine.wait_ready(transformer)
        yield ContainerChain(network, predictor, transformer)
    finally:
        engine.remove(*(c.name for c in started))
        engine.docker("network", "rm", network, check=False)

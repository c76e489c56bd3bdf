"""Paths shared by the ``isvc validate`` tests: the KServe CRD kept beside the repository, and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD = REPO_ROOT.parent / "shared" / "schemas" / "serving.kserve.io_inferenceservices.yaml"


@pytest.fixture(scope="session")
def crd() -> Path:
    assert CRD.is_file(), f"the KServe CRD is expected at {CRD} (shared/schemas beside the repository)"
    return CRD

"""Paths shared by the ``isvc validate`` tests: the KServe CRD bundled in the package, and fixtures.

Nothing here reads outside the repository: the CRD is the copy in ``local/validate/schemas/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local.validate.crd import BUNDLED_CRD

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD = BUNDLED_CRD


@pytest.fixture(scope="session")
def crd() -> Path:
    assert CRD.is_file(), f"the KServe CRD is expected in the package at {CRD}"
    assert CRD.is_relative_to(REPO_ROOT)
    return CRD

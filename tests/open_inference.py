"""The Open Inference Protocol's REST schemas (vendored in ``tests/fixtures/open_inference``), as validators.

``check(document, schema)`` validates one V2 REST answer against a schema of
``components.schemas`` (``inference_response``, ``metadata_model_response``, ...) and names the first
violation; ``nulls_in`` lists the paths of every ``null`` in a document (the protocol defines none).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "open_inference" / "open_inference_rest_schemas.yaml"


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SCHEMAS.read_text())
    return loaded


def check(document: Any, schema: str) -> None:
    """Raise AssertionError naming the first place ``document`` breaks ``components.schemas.<schema>``."""
    validator = Draft202012Validator({**_document(), "$ref": f"#/components/schemas/{schema}"})
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, f"{schema}: {'/'.join(map(str, errors[0].absolute_path)) or '<root>'}: {errors[0].message}"


def nulls_in(document: Any, path: str = "") -> list[str]:
    if document is None:
        return [path or "<root>"]
    if isinstance(document, dict):
        return [hit for key, value in document.items() for hit in nulls_in(value, f"{path}/{key}")]
    if isinstance(document, list):
        return [hit for index, value in enumerate(document) for hit in nulls_in(value, f"{path}/{index}")]
    return []

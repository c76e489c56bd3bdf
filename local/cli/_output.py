"""Output helpers for the `isvc` subcommands: kubectl-style tables, JSON and YAML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[("<none>" if c in (None, "") else str(c)) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def dump(document: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2)
    return yaml.safe_dump(document, sort_keys=False).rstrip()


def ready_of(resource: dict[str, Any]) -> str:
    for condition in resource.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return "Unknown"

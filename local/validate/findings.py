"""What ``isvc validate`` reports: findings, the documents they are about, and how to read manifests.

A ``Document`` is one YAML document of one file (its index within the file, its parsed body). A
``Finding`` names a rule id, the file, the document, a dotted field path (``spec.predictor.minReplicas``)
and a message. Parsed document headers go through pydantic so a malformed header names its field.

Depends on pydantic and PyYAML only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Document:
    path: str
    index: int
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def name(self) -> str:
        metadata = self.body.get("metadata") or {}
        return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else f"document {self.index}"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity = Severity.ERROR
    file: str
    document: str = ""
    path: str = ""
    message: str

    def render(self) -> str:
        where = f"{self.file}: {self.document}" if self.document else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.severity.value} [{self.rule}] {self.message}"


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    namespace: str | None = None


class Header(BaseModel):
    """The part every Kubernetes object shares; checked before anything else."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    api_version: str = Field(alias="apiVersion", min_length=1)
    kind: str = Field(min_length=1)
    metadata: Metadata


def dotted(parts: Sequence[Any]) -> str:
    """``["spec", "predictor", "containers", 0, "image"]`` -> ``spec.predictor.containers[0].image``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def header_findings(document: Document) -> list[Finding]:
    try:
        Header.model_validate(document.body)
    except ValidationError as exc:
        return [
            Finding(
                rule="K8S000",
                file=document.path,
                document=document.label,
                path=dotted([str(p) for p in error["loc"]]),
                message=f"object header: {error['msg']}",
            )
            for error in exc.errors()
        ]
    return []


def read_documents(path: Path) -> tuple[list[Document], list[Finding]]:
    """Every non-empty YAML document of a file, or a finding saying why the file cannot be read."""
    try:
        with path.open(encoding="utf-8") as stream:
            bodies = list(yaml.safe_load_all(stream))
    except (OSError, yaml.YAMLError) as exc:
        return [], [Finding(rule="YAML000", file=str(path), message=f"cannot read YAML: {exc}")]
    documents, findings = [], []
    for index, body in enumerate(bodies):
        if body is None:
            continue
        if not isinstance(body, dict):
            findings.append(
                Finding(rule="YAML000", file=str(path), document=f"document {index}", message="not a mapping")
            )
            continue
        documents.append(Document(str(path), index, body))
    return documents, findings


def yaml_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named on the command line, and every *.yaml / *.yml under the directories named."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        else:
            yield path

"""Run every check of ``isvc validate`` over files and directories, and summarise the result.

For each YAML file: read its documents, check the object header (pydantic), the schema
(``local.validate.schema``) and the lint rules (``local.validate.lint``). A ``kustomization.yaml`` is not
an object: its directory is rendered (``local.validate.kustomize``) and the rendered objects go through
the same checks, labelled ``<dir>/kustomization.yaml (rendered)``.

Depends on the other ``local.validate`` modules; never on the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from local.validate.findings import Document, Finding, Severity, header_findings, read_documents, yaml_files
from local.validate.kustomize import KUSTOMIZATION, KustomizeError, render
from local.validate.lint import lint
from local.validate.schema import KUSTOMIZE_GROUP, check_schema


class Report(BaseModel):
    files: list[str]
    objects: int
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "objects": self.objects,
            "errors": len(self.errors),
            "warnings": len(self.findings) - len(self.errors),
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }


def check_document(document: Document, crd_path: Path) -> list[Finding]:
    findings = header_findings(document)
    if findings:
        return findings
    return check_schema(document, crd_path) + lint(document)


def _check_kustomization(path: Path, crd_path: Path) -> tuple[int, list[Finding]]:
    label = f"{path} (rendered)"
    try:
        objects = render(path.parent)
    except (KustomizeError, OSError, ValueError) as exc:
        return 0, [Finding(rule="KUST001", file=label, message=str(exc))]
    findings: list[Finding] = []
    for index, body in enumerate(objects):
        findings.extend(check_document(Document(label, index, body), crd_path))
    return len(objects), findings


def validate_paths(paths: Sequence[Path], crd_path: Path) -> Report:
    files: list[str] = []
    findings: list[Finding] = []
    objects = 0
    for path in yaml_files(paths):
        files.append(str(path))
        if path.name == KUSTOMIZATION:
            count, found = _check_kustomization(path, crd_path)
            objects += count
            findings.extend(found)
            continue
        documents, problems = read_documents(path)
        findings.extend(problems)
        for document in documents:
            if document.api_version.startswith(KUSTOMIZE_GROUP):
                continue
            objects += 1
            findings.extend(check_document(document, crd_path))
    if not files:
        findings.append(Finding(rule="YAML001", file=", ".join(map(str, paths)), message="no YAML files found"))
    return Report(files=files, objects=objects, findings=findings)

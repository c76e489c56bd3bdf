"""No secret in the repository: every tracked file is scanned, and the scanner is shown to find secrets.

The rules are a small set after gitleaks' default configuration (``config/gitleaks.toml``: private-key,
aws-access-token, github-pat / -oauth / -app-token, gitlab-pat, slack tokens, gcp-api-key, stripe, pypi,
npm, jwt) plus three for configuration text: credentials in a URL, a password-like key with a literal
value (a ``${VAR:-default}`` default counts as literal), and a Kubernetes ``Secret`` carrying data.
References (``${VAR}``, ``$(VAR)``, ``{{ .Values }}``, ``valueFrom``) are not secrets. What is allowed
is listed in ``ALLOWED`` with its reason, and in docs/security.md.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 2_000_000
CONFIG_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".env", ".conf", ".properties"}
CONFIG_NAMES = {"Makefile", ".env"}

# After gitleaks' default rules (ids in brackets).
TOKEN_RULES = {
    "private-key": r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----",
    "aws-access-token": r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    "aws-secret-key": r"(?i)aws_?secret_?access_?key\W{0,4}[A-Za-z0-9/+=]{40}\b",
    "github-token": r"\b(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}\b|\bgithub_pat_[0-9A-Za-z_]{82}\b",
    "gitlab-pat": r"\bglpat-[0-9A-Za-z_-]{20}\b",
    "slack-token": r"\bxox[baprs]-[0-9A-Za-z-]{10,48}\b",
    "gcp-api-key": r"\bAIza[0-9A-Za-z_-]{35}\b",
    "stripe-access-token": r"\b(?:sk|rk)_(?:test|live|prod)_[0-9A-Za-z]{10,99}\b",
    "pypi-upload-token": r"\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_-]{50,}",
    "npm-access-token": r"\bnpm_[0-9A-Za-z]{36}\b",
    "openai-api-key": r"\bsk-(?:proj-)?[0-9A-Za-z_-]{20,}T3BlbkFJ[0-9A-Za-z_-]{20,}",
    "anthropic-api-key": r"\bsk-ant-(?:api|admin)\d\d-[0-9A-Za-z_-]{80,}",
    "jwt": r"\beyJ[0-9A-Za-z_-]{10,}\.eyJ[0-9A-Za-z_-]{10,}\.[0-9A-Za-z_-]{10,}",
}
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s'\"/]+)@")
PASSWORD_KEY = re.compile(
    r"(?i)(?<!\$\{)(?<![\w.-])([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)[\w.-]*)"
    r"[\"']?\s*[:=]\s*[\"']?([^\s\"'#,}]+(?:\}[^\s\"'#,]*)?)"
)
REFERENCE = re.compile(r"^(?:\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$\([^)]*\)|\{\{.*\}\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]+>)$")
DEFAULTED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}$")
NOT_A_VALUE = {"", "null", "none", "true", "false", "required", "optional", "valuefrom", "secretkeyref", "[]", "{}"}

# (path, value) -> why it is not a secret.
ALLOWED = {
    ("compose.yaml", "isvc-local"): (
        "the default password of the local stack's PostgreSQL, which publishes no port (reachable only on "
        "the stack's own network); POSTGRES_PASSWORD overrides it"
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    value: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 8 else f"{self.value[:4]}...{self.value[-2:]}"
        return f"{self.path}:{self.line}: {self.rule} ({shown})"


def _literal(value: str) -> str | None:
    """The secret a configured value carries: None for a reference, the default of ``${VAR:-default}``."""
    value = value.strip().rstrip(",;")
    defaulted = DEFAULTED.match(value)
    if defaulted:
        value = defaulted.group(1)
    if REFERENCE.match(value) or value.lower() in NOT_A_VALUE or len(value) < 4:
        return None
    return value


def _is_config(path: str) -> bool:
    name = Path(path).name
    return Path(path).suffix in CONFIG_SUFFIXES or name in CONFIG_NAMES or name.startswith(("Dockerfile", ".env"))


def scan_text(path: str, text: str) -> list[Finding]:
    """Secrets in one file's text (``path`` decides whether the configuration rules apply)."""
    findings = []
    for number, line in enumerate(text.splitlines(), 1):
        for rule, pattern in TOKEN_RULES.items():
            findings += [Finding(path, number, rule, m.group(0)) for m in re.finditer(pattern, line)]
        for match in URL_CREDENTIALS.finditer(line):
            secret = _literal(match.group(1))
            if secret is not None:
                findings.append(Finding(path, number, "url-credentials", secret))
        if _is_config(path):
            for match in PASSWORD_KEY.finditer(line):
                secret = _literal(match.group(2))
                if secret is not None and not match.group(1).lower().endswith(("_file", "-file", "ref")):
                    findings.append(Finding(path, number, "password-assignment", secret))
    if Path(path).suffix in {".yaml", ".yml"}:
        findings += _kubernetes_secrets(path, text)
    return [f for f in findings if (f.path, f.value) not in ALLOWED]


def _kubernetes_secrets(path: str, text: str) -> list[Finding]:
    """A ``Secret`` with data, and an env entry ``{name: *PASSWORD*, value: literal}`` (not ``valueFrom``)."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return []
    findings = [
        Finding(path, 0, "kubernetes-secret", str(doc.get("metadata", {}).get("name", "?")))
        for doc in documents
        if isinstance(doc, dict) and doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData"))
    ]
    pending: list[object] = list(documents)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            name, value = node.get("name"), node.get("value")
            if isinstance(name, str) and isinstance(value, str) and PASSWORD_KEY.match(f"{name}: x"):
                secret = _literal(value)
                if secret is not None:
                    findings.append(Finding(path, 0, "env-secret", secret))
            pending += node.values()
        elif isinstance(node, list):
            pending += node
    return findings


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def scan_repository() -> list[Finding]:
    findings = []
    for name in tracked_files():
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary: model artifacts
            continue
        findings += scan_text(name, data.decode("utf-8", errors="replace"))
    return findings


def test_no_tracked_file_holds_a_secret() -> None:
    findings = scan_repository()
    assert not findings, "secrets in tracked files:\n" + "\n".join(map(str, findings))


def test_every_allowed_value_is_still_there() -> None:
    """An allowance whose value is gone is stale and would hide a future secret of the same text."""
    for path, value in ALLOWED:
        assert value in (REPO_ROOT / path).read_text(), f"{path}: {value!r} is allowed but no longer present"


# Fake secrets, assembled at run time so that this file itself never matches.
_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----"
_AWS = "AKIA" + "IOSFODNN7EXAMPLE"
_GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.mark.parametrize(
    ("path", "text", "rule"),
    [
        ("deploy/key.pem", _KEY, "private-key"),
        ("local/settings.py", f"KEY_ID = '{_AWS}'", "aws-access-token"),
        ("README.md", f"export GITHUB_TOKEN={_GITHUB}", "github-token"),
        ("manifests/x.yaml", "url: postgresql://isvc:" + "hunter22@db:5432/events", "url-credentials"),
        ("manifests/x.yaml", "env:\n  - name: DB_PASSWORD\n    value: " + "s3cr3t-pw", "env-secret"),
        ("manifests/x.yaml", "auth: {password: " + "s3cr3t-pw}", "password-assignment"),
        ("compose.yaml", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-" + "letmein99}", "password-assignment"),
        (
            "manifests/s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: x}",
            "kubernetes-secret",
        ),
    ],
)
def test_the_scanner_finds_a_planted_secret(path: str, text: str, rule: str) -> None:
    assert rule in {finding.rule for finding in scan_text(path, text)}


@pytest.mark.parametrize(
    "text",
    [
        "ISVC_SINK_DB: postgresql://isvc:${POSTGRES_PASSWORD}@postgres:5432/events",
        "password: ${DB_PASSWORD}",
        "env:\n  - name: DB_PASSWORD\n    valueFrom: {secretKeyRef: {name: db, key: password}}",
        "token_file: /var/run/secrets/token",
        "RAY_AUTH_MODE: token",
    ],
)
def test_references_are_not_secrets(text: str) -> None:
    assert scan_text("manifests/x.yaml", text) == []

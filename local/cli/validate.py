"""``isvc validate [PATH ...]``: check InferenceService YAML against the KServe CRD and the kit's lint rules.

With no path, validates ``manifests/``. Exit code 0 when nothing is wrong (warnings allowed), 1 when any
error is found; ``-o json`` prints one JSON object for CI. The CRD comes from ``--crd``, ``$ISVC_CRD``,
the cache (``~/.cache/isvc-kit/``) or one download of the pinned KServe release (see ``local.validate.crd``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from local.validate import RULES, locate_crd, validate_paths
from local.validate.crd import CRD_ENV, KSERVE_VERSION

DEFAULT_PATH = "manifests"


def register(subparsers: Any) -> None:
    epilog = "lint rules:\n" + "\n".join(f"  {rule}  {title}" for rule, title in RULES.items())
    parser = subparsers.add_parser(
        "validate",
        help="validate InferenceService YAML (CRD schema, core schemas, lint rules)",
        description=__doc__,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"files or directories (default: {DEFAULT_PATH}/)")
    parser.add_argument(
        "--crd",
        metavar="PATH",
        help=f"InferenceService CRD file (default: ${CRD_ENV}, else the cached/downloaded KServe {KSERVE_VERSION} CRD)",
    )
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text", help="report format (%(default)s)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    crd = locate_crd(args.crd)
    paths = [Path(p) for p in (args.paths or [DEFAULT_PATH])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file or directory: {', '.join(missing)}")
    report = validate_paths(paths, crd)
    if args.output == "json":
        print(json.dumps({"crd": str(crd), **report.as_json()}, indent=2))
    else:
        for finding in report.findings:
            print(finding.render())
        verdict = "valid" if report.ok else "INVALID"
        warnings = len(report.findings) - len(report.errors)
        print(
            f"{verdict}: {report.objects} objects in {len(report.files)} files, "
            f"{len(report.errors)} errors, {warnings} warnings (CRD {crd})"
        )
    return 0 if report.ok else 1

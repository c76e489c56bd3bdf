"""``isvc validate [PATH ...]``: check InferenceService YAML against the KServe CRD and the kit's lint rules.

With no path, validates ``manifests/``. Works offline: the schema is the KServe v0.21 CRD bundled in the
package unless ``--crd FILE`` / ``$ISVC_CRD`` or ``--kserve-version`` (cached, else downloaded once) name
another (see ``local.validate.crd``); the report says which one was used. Exit codes: 0 valid (warnings
allowed), 1 invalid, 2 usage (a path or CRD file that does not exist, a CRD that cannot be had).
``-o json`` prints one JSON object for CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.validate import RULES, CrdError, locate_crd, validate_paths
from local.validate.crd import CRD_ENV, KSERVE_VERSION, describe
from local.validate.lint import WARNING_RULES

DEFAULT_PATH = "manifests"
EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    epilog = "lint rules:\n" + "\n".join(
        f"  {rule}  {'warning' if rule in WARNING_RULES else 'error  '}  {title}" for rule, title in RULES.items()
    )
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
        help=f"InferenceService CRD file (default: ${CRD_ENV}, else the bundled KServe {KSERVE_VERSION} CRD)",
    )
    parser.add_argument(
        "--kserve-version",
        metavar="VERSION",
        help=f"check against another KServe release's CRD (cached, else downloaded once; default {KSERVE_VERSION})",
    )
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text", help="report format (%(default)s)")
    parser.set_defaults(handler=run)


def _usage_error(message: str) -> int:
    print(f"isvc validate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    try:
        crd = locate_crd(args.crd, version=args.kserve_version)
    except CrdError as exc:
        return _usage_error(str(exc))
    paths = [Path(p) for p in (args.paths or [DEFAULT_PATH])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return _usage_error(f"no such file or directory: {', '.join(missing)}")
    report = validate_paths(paths, crd)
    schema = describe(crd)
    if args.output == "json":
        print(json.dumps({"crd": str(crd), "schema": schema, **report.as_json()}, indent=2))
    else:
        print(f"schema: {schema}")
        for finding in report.findings:
            print(finding.render())
        verdict = "valid" if report.ok else "INVALID"
        warnings = len(report.findings) - len(report.errors)
        print(
            f"{verdict}: {report.objects} objects in {len(report.files)} files, "
            f"{len(report.errors)} errors, {warnings} warnings (checked against the {schema})"
        )
    return EXIT_VALID if report.ok else EXIT_INVALID

"""``isvc``: the command line of isvc-kit.

Each subcommand lives in its own module of ``local.cli`` exposing ``register(subparsers)``; this module
finds them, assembles the parser and maps failures to exit codes (0 ok, 1 failure, 2 usage, 130
interrupted). Nothing is parsed or started at import.
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
import warnings
from collections.abc import Callable, Sequence
from importlib import import_module

import local.cli

DESCRIPTION = """\
isvc-kit: serve KServe InferenceService YAML locally (Ray Serve) or on a KServe cluster.

Run `isvc COMMAND --help` for the details of a command."""


def subcommand_modules() -> list[str]:
    return sorted(
        f"local.cli.{info.name}"
        for info in pkgutil.iter_modules(local.cli.__path__)
        if info.name not in {"main"} and not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isvc", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in subcommand_modules():
        module = import_module(module_name)
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # KServe's own routes use FastAPI's ORJSONResponse, deprecated upstream: not the user's concern.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the one place a failure becomes an exit code
        print(f"isvc {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

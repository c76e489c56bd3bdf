"""``isvc init NAME --kind predictor|transformer``: a new component, its manifest and its test, ready to serve.

Writes ``NAME/`` (as a Python package, ``-`` becoming ``_``) in the current directory (or ``--dir``):
the component module, ``inferenceservice.yaml`` and ``test_<kind>.py``. Then ``isvc up -f
NAME/inferenceservice.yaml`` serves it at once and ``pytest NAME`` passes; edit the model and keep
``isvc up --reload`` running to see each change answered. The module follows the contract in
``predictors.contract`` (docs/adding-a-model.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  isvc init churn --kind predictor           # ./churn/predictor.py, inferenceservice.yaml, test_predictor.py
  isvc init text-prep --kind transformer     # ./text_prep/transformer.py in front of the kit's sklearn predictor
then:
  pytest churn && isvc up --reload -f churn/inferenceservice.yaml"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="scaffold a predictor or transformer, its InferenceService and its test",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the InferenceService name (a DNS label: a-z, 0-9, '-')")
    parser.add_argument("--kind", choices=("predictor", "transformer"), default="predictor", help="(%(default)s)")
    parser.add_argument("--dir", type=Path, default=Path("."), help="where to create NAME/ (%(default)s)")
    parser.add_argument(
        "--model-dir",
        default=None,
        help="transformer only: the predictor's storageUri (default: this kit's iris model directory)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite the files of an existing NAME/")
    parser.set_defaults(handler=run)


def default_model_dir() -> str:
    """The kit's own iris model directory, absolute, so the scaffold serves from any directory."""
    import local

    return str(Path(local.__file__).resolve().parent.parent / "models" / "iris" / "v1")


def run(args: argparse.Namespace) -> int:
    from local.scaffold import scaffold

    made = scaffold(args.dir, args.name, args.kind, model_dir=args.model_dir or default_model_dir(), force=args.force)
    where = made.package.parent
    print(f"created {made.package}/ ({made.module}, {made.manifest.name}, {made.test.name})")
    print("next:")
    print(f"  cd {where} && pytest {made.package.name}")
    print(f"  isvc up --reload -f {made.package.name}/{made.manifest.name}   # from {where}")
    return 0

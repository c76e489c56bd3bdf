"""Build a component's ``kserve.Model`` from its container command, as its pod's ``main()`` does.

Each entrypoint module of the kit (``predictors.sklearn``, ``transformers.iris``) exposes
``add_model_arguments(parser)`` and ``build_model(args)``; ``main()`` uses them with KServe's
ModelServer parser, and so does the local runtime here, from the args of the InferenceService's
container. The result is the very object a pod would serve.

Never imports ``ray``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any

from local.errors import SpecError


def build_component_model(module_name: str, args: Sequence[str]) -> Any:
    """Import ``module_name`` and build its model from ``args`` (the container's args)."""
    from predictors.serving import build_parser

    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"container command: cannot import module {module_name!r}: {exc}") from exc
    if not hasattr(module, "build_model") or not hasattr(module, "add_model_arguments"):
        raise SpecError(
            f"container command: module {module_name!r} has no build_model/add_model_arguments; "
            "an entrypoint module must expose both so the local runtime can build its model"
        )
    parser = module.add_model_arguments(build_parser(module.__doc__))
    try:
        parsed = parser.parse_args(list(args))
    except SystemExit as exc:
        raise SpecError(f"container args of {module_name}: {' '.join(args)} are not accepted") from exc
    model = module.build_model(parsed)
    if not getattr(model, "ready", False):
        model.load()
    return model


def model_name_of(args: Sequence[str], default: str = "model") -> str:
    """The ``--model_name`` in a container's args (KServe's default is 'model')."""
    for index, arg in enumerate(args):
        if arg.startswith("--model_name="):
            return arg.split("=", 1)[1]
        if arg == "--model_name" and index + 1 < len(args):
            return args[index + 1]
    return default

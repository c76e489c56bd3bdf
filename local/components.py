"""Build a component's ``kserve.Model`` from its container command, as its pod's ``main()`` does.

A module that follows ``predictors.contract.EntrypointModule`` (the kit's own: ``predictors.sklearn``,
``transformers.iris``) is asked for its model: ``add_model_arguments`` on KServe's ModelServer parser,
``build_model`` on the container's args. Any other module is a KServe custom-model module: its
``__main__`` block runs with the container's args as ``sys.argv`` and ``kserve.ModelServer.start`` is
intercepted (``served_models``): the models it is handed are the ones served, nothing listens. Either
way the result is the very object a pod would serve.

Never imports ``ray``.
"""

from __future__ import annotations

import contextlib
import runpy
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from importlib import import_module
from typing import Any

from local.errors import SpecError

_START_LOCK = threading.Lock()  # ModelServer.start is patched process-wide while a module runs


class _Started(BaseException):
    """Raised from the intercepted ``ModelServer.start`` to leave the module's ``__main__`` block."""

    def __init__(self, models: list[Any]):
        super().__init__("ModelServer.start")
        self.models = models


def build_component_model(module_name: str, args: Sequence[str]) -> Any:
    """Import ``module_name`` and build its model from ``args`` (the container's args)."""
    from predictors.contract import EntrypointModule

    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise SpecError(f"container command: cannot import module {module_name!r}: {exc}") from exc
    if isinstance(module, EntrypointModule):
        model = _build_with_contract(module, module_name, args)
    else:
        model = _choose(served_models(module_name, args), module_name, args)
    if not getattr(model, "ready", False):
        model.load()
    return model


def _build_with_contract(module: Any, module_name: str, args: Sequence[str]) -> Any:
    from predictors.serving import build_parser

    parser = module.add_model_arguments(build_parser(module.__doc__))
    try:
        parsed = parser.parse_args(list(args))
    except SystemExit as exc:
        raise SpecError(f"container args of {module_name}: {' '.join(args)} are not accepted") from exc
    return module.build_model(parsed)


def served_models(module_name: str, args: Sequence[str]) -> list[Any]:
    """Run ``python -m module_name *args``'s ``__main__`` up to ``ModelServer().start(models)``; the models.

    Fails with a ``SpecError`` naming the module when it exits, raises, or never calls ``start``.
    """
    with _START_LOCK, _intercepted_start(), _argv([module_name, *args]):
        try:
            with warnings.catch_warnings():  # "found in sys.modules ...": it was imported to be inspected
                warnings.simplefilter("ignore", RuntimeWarning)
                runpy.run_module(module_name, run_name="__main__", alter_sys=False)
        except _Started as started:
            return started.models
        except SystemExit as exc:
            raise SpecError(
                f"container command: python -m {module_name} {' '.join(args)} exited ({exc.code}) "
                "before it called kserve.ModelServer().start([...])"
            ) from None
        except Exception as exc:
            raise SpecError(f"container command: python -m {module_name} failed: {exc!r}") from exc
    raise SpecError(
        f"container command: module {module_name!r} neither exposes build_model/add_model_arguments "
        "(predictors.contract.EntrypointModule) nor calls kserve.ModelServer().start([...]) when run as __main__"
    )


def _choose(models: list[Any], module_name: str, args: Sequence[str]) -> Any:
    """The model the component serves: the one named by ``--model_name``, else the only one."""
    if not models:
        raise SpecError(f"container command: {module_name} called ModelServer().start([]) with no model")
    wanted = model_name_of(args, default="")
    named = [m for m in models if getattr(m, "name", None) == wanted]
    if named:
        return named[0]
    if len(models) > 1:
        names = ", ".join(str(getattr(m, "name", "?")) for m in models)
        raise SpecError(f"container command: {module_name} serves several models ({names}); name one with --model_name")
    return models[0]


@contextlib.contextmanager
def _intercepted_start() -> Iterator[None]:
    from kserve.model_server import ModelServer

    original = ModelServer.start

    def start(self: Any, models: list[Any]) -> None:
        raise _Started(list(models))

    ModelServer.start = start
    try:
        yield
    finally:
        ModelServer.start = original


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


def model_name_of(args: Sequence[str], default: str = "model") -> str:
    """The ``--model_name`` in a container's args (KServe's default is 'model')."""
    for index, arg in enumerate(args):
        if arg.startswith("--model_name="):
            return arg.split("=", 1)[1]
        if arg == "--model_name" and index + 1 < len(args):
            return args[index + 1]
    return default

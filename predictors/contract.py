"""The contract between a component's entrypoint module and whatever serves it (a pod or the local runtime).

A component of an InferenceService is named by its container's command, ``python -m MODULE ARGS...``.
The same module must work two ways:

* **in a pod** it is run as ``__main__``: it parses ``ARGS`` with KServe's ModelServer flags and ends
  with ``kserve.ModelServer().start([model])``;
* **in the local runtime** the model is built inside a Ray replica from the same ``ARGS``.

The runtime accepts either of two module shapes:

1. :class:`EntrypointModule` (the kit's own modules): ``add_model_arguments(parser)`` adds the
   module's flags to KServe's parser and ``build_model(args)`` returns the ``kserve.Model``; its
   ``main()`` is then three lines (see ``predictors/sklearn.py``).
2. **Any KServe custom-model module, unchanged**: one whose ``if __name__ == "__main__":`` block
   builds its model(s) and calls ``kserve.ModelServer().start([...])``. The runtime runs that block
   with ``ARGS`` as ``sys.argv`` and takes the models handed to ``start`` instead of starting a server.

Either way the object is a plain ``kserve.Model`` (:class:`ServableModel`): ``load()`` (or ``ready``
set by the constructor), ``preprocess``/``predict``/``postprocess`` as KServe calls them. A
transformer's ``predict`` is replaced by the runtime with a call to its predictor (in-process or a
Ray handle), exactly where KServe would make an HTTP or gRPC call to ``--predictor_host``.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ServableModel(Protocol):
    """What the runtime needs of a model object (every ``kserve.Model`` has it)."""

    name: str
    ready: bool

    def load(self) -> Any: ...


@runtime_checkable
class EntrypointModule(Protocol):
    """A module the local runtime can build a model from without running its ``__main__``."""

    def add_model_arguments(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        """Add this component's flags to KServe's ModelServer parser and return it."""
        ...

    def build_model(self, args: argparse.Namespace) -> ServableModel:
        """The model for parsed ``args``, loaded or ready to ``load()``."""
        ...

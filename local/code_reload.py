"""Fresh code for `isvc up --reload`: which package a component's module belongs to, and reloading it.

A component runs ``python -m <module>``; its *package root* is the directory of the module's top-level
package (``predictors/`` for ``predictors.sklearn``), or the module's own directory for a top-level
module. ``isvc up --reload`` watches those roots; a replica told to reload calls ``reload_under``,
which re-imports every loaded module whose file lies under the roots, in the order they were first
imported (dependencies before their users), so the next model it builds runs the edited code.

Pure: the standard library only; never imports ``ray``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path


def package_root(module_name: str) -> Path | None:
    """The directory holding ``module_name``'s top-level package (None if it cannot be found)."""
    top = module_name.split(".", 1)[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return Path(spec.origin).resolve().parent if spec.origin else None


def is_under(path: Path, roots: Iterable[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in roots)


def reload_under(roots: Iterable[Path]) -> list[str]:
    """Re-import the loaded modules whose source lies under ``roots``; their names, in reload order."""
    roots = [Path(root).resolve() for root in roots]
    importlib.invalidate_caches()
    reloaded = []
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if source and is_under(Path(source), roots):
            importlib.reload(module)
            reloaded.append(name)
    return reloaded

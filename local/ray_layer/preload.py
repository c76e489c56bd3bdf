"""Heavy imports for idle Ray workers only: the last of ``RAY_preload_python_modules``.

What it imports: the entrypoint modules of the specs ``isvc up`` was started with
(``ISVC_PRELOAD_MODULES``), then scikit-learn's estimators (the kit's default model format).

Ray imports the preload modules in every worker it starts, the Serve controller's included. The
estimators of scikit-learn (``sklearn.linear_model`` alone: 0.7 s and 74 MiB here) are imported only
when a model is unpickled, so a replica's constructor pays them on the cold-start path unless its
worker has them already; but the Serve controller, which never loads a model, would carry them for
nothing. So this module, when a worker imports it, starts one daemon thread that waits a moment and
imports them only if the process is still an *idle* worker (its title ``ray::IDLE``): the warm
standby (``local.ray_layer.standby``) and a prestarted worker not yet leased. A worker that became the
controller or a replica in the meantime is left alone (a replica imports them itself when it loads).

Importing this module anywhere else has no effect: the thread only acts in a ``ray::IDLE`` process.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from pathlib import Path

IDLE_TITLE = b"ray::IDLE"
SETTLE_S = 1.5  # long enough for the raylet to lease the worker it prestarted for the controller
HEAVY_MODULES = ("sklearn.linear_model", "sklearn.ensemble")
PRELOAD_ENV = "ISVC_PRELOAD_MODULES"  # set by local.ray_layer.runtime (RayRuntime.preload) for the head's processes


def is_idle_worker() -> bool:
    try:
        return Path("/proc/self/cmdline").read_bytes().startswith(IDLE_TITLE)
    except OSError:
        return False


def spec_modules() -> tuple[str, ...]:
    """The applied specs' entrypoint modules (``ISVC_PRELOAD_MODULES``, comma-separated)."""
    return tuple(name for name in os.environ.get(PRELOAD_ENV, "").split(",") if name.strip())


def warm(modules: tuple[str, ...] | None = None, settle_s: float = SETTLE_S) -> list[str]:
    """Import ``modules`` (default: the specs' modules, then scikit-learn's estimators) if this process
    is still an idle Ray worker after ``settle_s``; what was imported. A module that fails to import,
    whatever the error, is skipped: its replica will report the error itself."""
    time.sleep(settle_s)
    if not is_idle_worker():
        return []
    imported = []
    for name in modules if modules is not None else (*spec_modules(), *HEAVY_MODULES):
        try:
            importlib.import_module(name)
            imported.append(name)
        except Exception:
            pass
    return imported


threading.Thread(target=warm, name="isvc-preload", daemon=True).start()

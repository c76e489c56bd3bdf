"""Ray Serve's pickle-by-value registration made safe across threads, for the gateway process.

Ray Serve serializes a deployment's request router (and autoscaling policy) by registering its module
with cloudpickle, dumping, then unregistering it (``ray/serve/config.py``,
``RequestRouterConfig._serialize_request_router_cls``), with no lock. Configs are built both when the kit
deploys (an apply's worker thread) and when a handle's router reads a deployment config sent by the
controller (``DeploymentConfig.from_proto``, on the gateway's loop): two at once unregister under each
other and the second fails with "<module ...> is not registered for pickle by value" (seen in CI, an
apply failing). ``guard_pickle_by_value`` wraps ``ray.cloudpickle``'s two functions in a lock with a count
per module: a module stays registered while any caller holds it, and is unregistered by the last one.
Idempotent; only the Ray layer calls it.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import ModuleType
from typing import Any

_LOCK = threading.RLock()
_HOLDERS: Counter[str] = Counter()
_GUARDED = "_isvc_guarded"


def guard_pickle_by_value(pickling: Any = None) -> None:
    """Make ``register_pickle_by_value``/``unregister_pickle_by_value`` of ``pickling`` (default
    ``ray.cloudpickle``) reference-counted and thread-safe."""
    if pickling is None:
        import ray.cloudpickle as pickling
    if getattr(pickling.register_pickle_by_value, _GUARDED, False):
        return
    register, unregister = pickling.register_pickle_by_value, pickling.unregister_pickle_by_value

    def guarded_register(module: ModuleType) -> None:
        with _LOCK:
            if _HOLDERS[module.__name__] == 0:
                register(module)
            _HOLDERS[module.__name__] += 1

    def guarded_unregister(module: ModuleType) -> None:
        with _LOCK:
            _HOLDERS[module.__name__] -= 1
            if _HOLDERS[module.__name__] <= 0:
                del _HOLDERS[module.__name__]
                unregister(module)

    setattr(guarded_register, _GUARDED, True)
    pickling.register_pickle_by_value = guarded_register
    pickling.unregister_pickle_by_value = guarded_unregister

"""local/ray_layer/pickling.py: pickle-by-value registration that threads cannot undo under each other."""

from __future__ import annotations

import threading
import types

from local.ray_layer.pickling import guard_pickle_by_value


def fake_pickling() -> types.SimpleNamespace:
    registered: set[str] = set()

    def register(module: types.ModuleType) -> None:
        registered.add(module.__name__)

    def unregister(module: types.ModuleType) -> None:
        if module.__name__ not in registered:  # as cloudpickle: unregistering twice is an error
            raise ValueError(f"{module} is not registered for pickle by value")
        registered.remove(module.__name__)

    return types.SimpleNamespace(
        register_pickle_by_value=register, unregister_pickle_by_value=unregister, registered=registered
    )


def test_nested_holders_keep_the_module_registered_until_the_last_lets_go() -> None:
    pickling = fake_pickling()
    guard_pickle_by_value(pickling)
    guard_pickle_by_value(pickling)  # idempotent
    module = types.ModuleType("router_module")
    pickling.register_pickle_by_value(module)
    pickling.register_pickle_by_value(module)
    pickling.unregister_pickle_by_value(module)
    assert "router_module" in pickling.registered  # the other holder is still dumping
    pickling.unregister_pickle_by_value(module)
    assert not pickling.registered


def test_many_threads_register_dump_and_unregister_without_an_error() -> None:
    guarded = fake_pickling()
    guard_pickle_by_value(guarded)
    module = types.ModuleType("policy_module")
    errors: list[Exception] = []

    def hammer() -> None:
        for _ in range(2000):
            try:
                guarded.register_pickle_by_value(module)
                assert "policy_module" in guarded.registered  # what the dump between them needs
                guarded.unregister_pickle_by_value(module)
            except (ValueError, AssertionError) as exc:
                errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and not guarded.registered

"""`isvc up --reload`: edits to a component's code or to an applied manifest reach the running service.

A ``Reloader`` watches, with watchfiles, the package roots of every applied component's module
(``Controller.watched_roots``) and the manifest files given with ``-f``:
* a changed ``.py`` file under a root reloads, in place, the running units whose members come from that
  package (``Controller.reload_code``: Serve's ``reconfigure`` re-imports the code in the live replica;
  no revision is made, as the spec did not change, and KServe would make none);
* a changed manifest is applied again, exactly as ``isvc apply -f`` would (a changed spec makes a new
  revision, with KServe's canary rules).
The gateway, its ports and every other service keep running; a request during a reload is answered by
the old code or the new. Each reload prints one line with what changed and how long it took; a
reload that fails (a syntax error, a failing ``load()``) prints the error and keeps the old code serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from local.code_reload import is_under


class Reloader:
    """A background thread turning file changes into reloads and applies."""

    def __init__(self, controller: Any, manifests: Sequence[str | Path], log: Callable[[str], None] = print):
        self.controller = controller
        self.manifests = {Path(path).resolve() for path in manifests}
        self.log = log
        self.roots = set(controller.watched_roots())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0

    def paths(self) -> list[Path]:
        return sorted(self.roots | {path.parent for path in self.manifests})

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="isvc-reload", daemon=True)
        self._thread.start()
        watched = ", ".join(str(path) for path in sorted(self.roots | self.manifests))
        self.log(f"--reload: watching {watched}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from watchfiles import watch

        for changes in watch(*self.paths(), stop_event=self._stop, debounce=100, step=20, yield_on_timeout=False):
            try:
                self.handle({Path(path).resolve() for _, path in changes})
            except Exception as exc:  # a reload must never stop the watcher
                self.log(f"--reload: {type(exc).__name__}: {exc}")

    def handle(self, changed: set[Path]) -> None:
        """React to one debounced set of changed paths."""
        manifests = sorted(path for path in changed if path in self.manifests)
        code = sorted(path for path in changed if path.suffix == ".py" and is_under(path, self.roots))
        if code:
            started = time.monotonic()
            results = self.controller.reload_code(code)
            self.reloads += 1
            names = ", ".join(path.name for path in code)
            if not results:
                self.log(f"--reload: {names} changed; no running component uses it")
            for unit, status in sorted(results.items()):
                took = time.monotonic() - started
                if getattr(status, "ready", False):
                    self.log(f"--reload: {names} -> {unit} reloaded in {took:.1f}s")
                else:
                    self.log(f"--reload: {names} -> {unit} reload failed, the previous code keeps serving:")
                    self.log(status.message.rstrip())
        for path in manifests:
            self._apply(path)

    def _apply(self, path: Path) -> None:
        from local.errors import IsvcError
        from local.spec import load_inference_services

        started = time.monotonic()
        try:
            for service in load_inference_services(path):
                status = self.controller.apply(service)
                ready = next(c for c in status["conditions"] if c["type"] == "Ready")
                revisions = ", ".join(
                    f"{name} {component['latestCreatedRevision']}" for name, component in status["components"].items()
                )
                self.log(
                    f"--reload: {path.name} applied: {service.name} Ready={ready['status']} ({revisions}) "
                    f"in {time.monotonic() - started:.1f}s" + (f": {ready['message']}" if ready.get("message") else "")
                )
        except IsvcError as exc:
            self.log(f"--reload: {path.name} not applied: {exc}")
        self.roots |= set(self.controller.watched_roots())

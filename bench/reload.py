"""Edit -> answer with ``isvc up --reload``: write a file, time the first response from the new code.

A tiny predictor package (``benchprobe``) is written to a temp directory put on ``PYTHONPATH``; its
``predict`` answers ``{"predictions": [VERSION]}``. ``isvc up --reload`` serves it, a client posts
V1 requests throughout, the bench rewrites ``VERSION`` and times until an answer carries the new
value; every failed request of that client is counted. When ``isvc up --help`` has no ``--reload``,
the figure is n/a. The probe's source is generated here (pure, unit-tested).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

PACKAGE = "benchprobe"
BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]})


def probe_source(version: int) -> str:
    return f'''"""A predictor for the reload benchmark: answers its code version."""

from kserve import Model

VERSION = {version}


class Probe(Model):
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {{"predictions": [VERSION]}}


def add_model_arguments(parser):
    return parser


def build_model(args):
    return Probe(args.model_name)
'''


def probe_manifest(name: str = "reload-probe") -> dict[str, Any]:
    container = {
        "name": "kserve-container",
        "image": "isvc-kit/predictor:0.1.0",
        "command": ["python", "-m", f"{PACKAGE}.model"],
        "args": [f"--model_name={name}"],
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 1, "containers": [container]}},
    }


def write_probe(root: Path, version: int = 1) -> tuple[Path, Path]:
    """The package under ``root`` and its manifest; returns (module path, manifest path)."""
    package = root / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    module = package / "model.py"
    module.write_text(probe_source(version))
    manifest = root / "reload-probe.yaml"
    manifest.write_text(yaml.safe_dump(probe_manifest()))
    return module, manifest


def version_of(response: httpx.Response) -> int | None:
    with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
        return int(response.json()["predictions"][0])
    return None


class Client(threading.Thread):
    """Posts to ``url`` back to back until stopped; counts answers and failures, notes versions seen."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.ok, self.failed = url, 0, 0
        self.first_seen: dict[int, float] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop_event.is_set():
                try:
                    response = client.post(self.url, content=BODY, headers={"content-type": "application/json"})
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if response.status_code != 200:
                    self.failed += 1
                    continue
                self.ok += 1
                version = version_of(response)
                if version is not None:
                    self.first_seen.setdefault(version, time.monotonic())

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=15)


def measure(workdir: Path, log: Any, deadline_s: float = 60.0) -> dict[str, Any]:
    """Serve the probe with ``isvc up --reload``, edit it, time until the new answer; n/a without --reload."""
    import os

    from bench import procs
    from local.processes import free_port

    if "--reload" not in procs.isvc_help("up"):
        return {"note": "isvc up has no --reload"}
    root = workdir / "reload"
    module, manifest = write_probe(root, version=1)
    isvc = procs.IsvcUp([manifest], workdir, free_port(), reload=True)
    pythonpath = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    isvc.start(env={"PYTHONPATH": pythonpath})
    url = f"{isvc.url}/v1/models/reload-probe:predict"
    client: Client | None = None
    try:
        up_s = procs.wait_200(url, BODY, 300.0, isvc.proc)
        client = Client(url)
        client.start()
        time.sleep(1.0)
        edited = time.monotonic()
        module.write_text(probe_source(version=2))
        while 2 not in client.first_seen and time.monotonic() - edited < deadline_s:
            time.sleep(0.05)
        time.sleep(1.0)  # requests right after the switch count too
        client.stop()
        seen = client.first_seen.get(2)
        result: dict[str, Any] = {
            "isvc_up_s": up_s,
            "edit_to_answer_s": seen - edited if seen is not None else None,
            "ok": client.ok,
            "failed": client.failed,
        }
        if seen is None:
            result["note"] = f"no answer from the edited code within {deadline_s:.0f} s"
        log(f">> reload: {result}")
        return result
    except (RuntimeError, TimeoutError) as exc:
        return {"note": f"isvc up --reload failed: {exc}", "log": isvc.log_tail(1000)}
    finally:
        if client is not None:
            client.stop()
        isvc.stop()

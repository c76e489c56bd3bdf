"""The Kubernetes object metadata of the local InferenceServices: uid, generation, resourceVersion.

The API server gives every object a ``uid`` at creation, a ``metadata.generation`` that starts at 1
and grows by one on every change of ``spec`` (not of metadata or status), and a ``resourceVersion``
that changes on every write; controllers report the generation they have acted on as
``status.observedGeneration``. Clients depend on these: ``KServeClient.wait_isvc_ready(...,
expected_generation)`` waits for ``observedGeneration``, ``replace`` sends the ``resourceVersion`` it
read and gets 409 Conflict if the object changed since (optimistic concurrency).

``ObjectTable.published`` is told of every record the controller publishes (one call per apply,
whichever path applied it: the API, ``isvc up -f``, ``--reload``, a rollout) and ``removed`` of every
delete. resourceVersions come from one counter for all objects, as etcd's revision is one; the local
controller applies synchronously, so the generation a published record carries is also the one it has
observed. Pure bookkeeping: no Ray, no I/O. The controller persists each object's metadata with its
spec (``local.revision_store``) and ``restore`` s it after a restart: the same uid and generation, and
resourceVersions that go on growing from the largest one stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ObjectMeta:
    uid: str
    generation: int
    resource_version: int
    spec_digest: str


def spec_digest(spec: Any) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


class ObjectTable:
    """Metadata per ``(namespace, name)``; safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str], ObjectMeta] = {}
        self._revision = 0

    def published(self, namespace: str, name: str, spec: Any) -> ObjectMeta:
        """A write of ``spec`` to the object: a new resourceVersion; a new generation if the spec changed."""
        digest = spec_digest(spec)
        with self._lock:
            self._revision += 1
            current = self._objects.get((namespace, name))
            if current is None:
                meta = ObjectMeta(str(uuid.uuid4()), 1, self._revision, digest)
            else:
                generation = current.generation + (digest != current.spec_digest)
                meta = replace(current, generation=generation, resource_version=self._revision, spec_digest=digest)
            self._objects[(namespace, name)] = meta
            return meta

    def restore(self, namespace: str, name: str, meta: ObjectMeta) -> None:
        """Take back an object as it was before a restart (``meta.spec_digest``: of the stored spec)."""
        with self._lock:
            self._objects[(namespace, name)] = meta
            self._revision = max(self._revision, meta.resource_version)

    def forget(self, namespace: str, name: str) -> None:
        """Drop an object restored for an apply that then failed (no write happened: no resourceVersion)."""
        with self._lock:
            self._objects.pop((namespace, name), None)

    def removed(self, namespace: str, name: str) -> None:
        with self._lock:
            self._revision += 1
            self._objects.pop((namespace, name), None)

    def get(self, namespace: str, name: str, spec: Any = None) -> ObjectMeta:
        """The object's metadata (first seen now, if nothing was published for it: generation 1)."""
        with self._lock:
            known = self._objects.get((namespace, name))
        return known if known is not None else self.published(namespace, name, spec)

    @property
    def resource_version(self) -> int:
        """The newest resourceVersion handed out (a list's ``metadata.resourceVersion``)."""
        with self._lock:
            return self._revision


def with_object_meta(resource: dict[str, Any], meta: ObjectMeta) -> dict[str, Any]:
    """``resource`` (an InferenceService with its status) with the API server's metadata fields set."""
    metadata = resource.setdefault("metadata", {})
    metadata.update(uid=meta.uid, generation=meta.generation, resourceVersion=str(meta.resource_version))
    resource.setdefault("status", {})["observedGeneration"] = meta.generation
    return resource

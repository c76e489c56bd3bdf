"""The gateway's InferenceService API, shaped as the Kubernetes API server serves the custom resource.

Paths and verbs are those of ``serving.kserve.io/v1beta1`` ``inferenceservices``, so kubectl-style
clients (the Kubernetes Python client, KServe's ``KServeClient``) drive ``isvc up`` as a cluster:

* ``GET .../namespaces/{ns}/inferenceservices`` (and ``/inferenceservices`` for all namespaces): an
  ``InferenceServiceList``; with ``?watch=true`` a stream of JSON lines ``{"type": "ADDED" |
  "MODIFIED" | "DELETED", "object": ...}``, the existing objects first, until ``timeoutSeconds``.
* ``GET|PUT|PATCH|DELETE .../namespaces/{ns}/inferenceservices/{name}``. PUT replaces (a
  ``metadata.resourceVersion`` that is not the current one is 409 Conflict); PATCH takes merge patch
  and JSON patch (``local.gateway.patching``).
* ``POST .../namespaces/{ns}/inferenceservices``: a JSON object is a create (201; 409 AlreadyExists);
  YAML text (what ``isvc apply`` sends, as ``application/yaml``) is applied document by document,
  created or updated.

Namespaces are honoured: an object is found only in its own namespace (``_all`` in the path: any),
a body whose ``metadata.namespace`` differs from the path's is 400, one without takes the path's; the
same name in two namespaces is two services (``_all`` with a name two namespaces hold is 409, naming
them). Errors here are Kubernetes
``Status`` objects (``status_body``). Writes return once the controller has applied them, so the
generation returned has been observed (``local.gateway.objects``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from local.errors import ConflictError, IsvcError, NotFoundError, SpecError, status_code_of
from local.gateway.controller import Controller
from local.gateway.patching import apply_patch
from local.gateway.record import ServiceRecord
from local.spec import KIND, InferenceService, load_documents, parse_inference_service

GROUP = "serving.kserve.io"
API_VERSION = f"{GROUP}/v1beta1"
API_PREFIX = f"/apis/{API_VERSION}"
ALL_NAMESPACES = "_all"
WATCH_POLL_S = 0.5
WATCH_MAX_S = 1800.0
_SERVER_SET = ("resourceVersion", "generation", "uid", "creationTimestamp", "managedFields", "selfLink")
_REASONS = {
    400: "BadRequest",
    404: "NotFound",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class AlreadyExistsError(ConflictError):
    """A create of a name that exists: Kubernetes' 409 with reason AlreadyExists."""


class RolloutRequest(BaseModel):
    """Body of ``POST .../inferenceservices/{name}/rollout``."""

    action: Literal["canary", "promote", "rollback"]
    component: Literal["predictor", "transformer"] = "predictor"
    percent: int | None = Field(default=None, ge=0, le=100)


def status_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """A Kubernetes ``Status`` for an error of this API (``k8s.io/apimachinery`` ``metav1.Status``)."""
    code = status_code_of(exc)
    reason = "AlreadyExists" if isinstance(exc, AlreadyExistsError) else _REASONS.get(code, "InternalError")
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": str(exc),
        "reason": reason,
        "details": {"group": GROUP, "kind": "inferenceservices"},
        "code": code,
    }
    return code, body


def not_found(name: str) -> NotFoundError:
    return NotFoundError(f'inferenceservices.{GROUP} "{name}" not found')


def find(controller: Controller, namespace: str, name: str) -> ServiceRecord:
    """The service ``name`` of ``namespace`` (of the one namespace holding it for ``_all``), else 404."""
    record = controller.lookup(name, None if namespace == ALL_NAMESPACES else namespace)
    if record is None:
        raise not_found(name)
    return record


def in_namespace(controller: Controller, namespace: str) -> list[ServiceRecord]:
    """The services of ``namespace`` (every namespace for ``_all``), by namespace then name."""
    records = [record for _, record in sorted(controller.services.items(), key=lambda item: item[0])]
    return [r for r in records if namespace in (ALL_NAMESPACES, r.service.namespace)]


def writable(document: Any, namespace: str, name: str | None = None) -> dict[str, Any]:
    """A client's object made ready to apply: server-set fields dropped, namespace and name checked."""
    if not isinstance(document, dict):
        raise SpecError("the body must be an InferenceService object")
    document = {key: value for key, value in document.items() if key != "status"}
    metadata = dict(document.get("metadata") or {})
    for key in _SERVER_SET:
        metadata.pop(key, None)
    given = metadata.get("namespace")
    if namespace != ALL_NAMESPACES:
        if given not in (None, namespace):
            raise SpecError(
                "the namespace of the provided object does not match the namespace sent on the request: "
                f"{given!r} is not {namespace!r}"
            )
        metadata["namespace"] = namespace
    if name is not None and metadata.get("name", name) != name:
        raise SpecError(f"the name of the object ({metadata.get('name')!r}) does not match the name on the URL")
    if name is not None:
        metadata["name"] = name
    document["metadata"] = metadata
    document.setdefault("apiVersion", API_VERSION)
    document.setdefault("kind", KIND)
    return document


def yaml_services(text: str, source: str, namespace: str) -> list[InferenceService]:
    """The InferenceServices of YAML text (other kinds skipped), each placed in ``namespace`` unless ``_all``."""
    if namespace == ALL_NAMESPACES:
        return load_documents(text, source)
    load_documents(text, source)  # the same errors as without a namespace, first
    documents = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and doc.get("kind") == KIND]
    return [parse_inference_service(writable(document, namespace), source) for document in documents]


async def _apply(controller: Controller, service: InferenceService) -> dict[str, Any]:
    await asyncio.to_thread(controller.apply, service)
    resource: dict[str, Any] = await asyncio.to_thread(controller.as_resource, service.name, None, service.namespace)
    return resource


def is_json_create(content_type: str, body: bytes) -> bool:
    """A Kubernetes create (one JSON object), not YAML to apply: JSON by its type, or untyped JSON text.

    The Kubernetes Python client (37) sends a create's JSON body with no Content-Type at all.
    """
    return "json" in content_type or (not content_type and body.lstrip().startswith(b"{"))


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        if "json" in request.headers.get("content-type", ""):
            return orjson.loads(raw)
        return yaml.safe_load(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"the body is not valid JSON or YAML: {exc}") from exc


def _list(controller: Controller, namespace: str, live: dict[str, Any]) -> dict[str, Any]:
    items = [controller.as_resource(record, live) for record in in_namespace(controller, namespace)]
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceServiceList",
        "metadata": {"resourceVersion": str(controller.objects.resource_version)},
        "items": items,
    }


async def watch_events(controller: Controller, namespace: str, timeout_s: float) -> AsyncIterator[bytes]:
    """Kubernetes watch events for the namespace's services: existing ones as ADDED, then every change."""
    deadline = time.monotonic() + min(timeout_s, WATCH_MAX_S)
    sent: dict[tuple[str, str], dict[str, Any]] = {}
    while True:
        live = controller.live_statuses()
        now = {
            (record.service.namespace, record.service.name): controller.as_resource(record, live)
            for record in in_namespace(controller, namespace)
        }
        for name, resource in now.items():
            if name not in sent:
                yield orjson.dumps({"type": "ADDED", "object": resource}) + b"\n"
            elif resource != sent[name]:
                yield orjson.dumps({"type": "MODIFIED", "object": resource}) + b"\n"
        for name in sent.keys() - now.keys():
            yield orjson.dumps({"type": "DELETED", "object": sent[name]}) + b"\n"
        sent = now
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(WATCH_POLL_S)


def api_router(controller: Controller, after_change: Any) -> APIRouter:
    """The routes; ``after_change()`` runs after every write (the gateway closes retired loggers there)."""
    router = APIRouter(prefix=API_PREFIX)

    async def list_or_watch(
        namespace: str, watch: bool = False, timeoutSeconds: int | None = None
    ) -> dict[str, Any] | StreamingResponse:
        if watch:
            events = watch_events(controller, namespace, float(timeoutSeconds or WATCH_MAX_S))
            return StreamingResponse(events, media_type="application/json")
        live = await asyncio.to_thread(controller.runtime.statuses)
        return _list(controller, namespace, live)

    @router.get("/inferenceservices", response_model=None)
    async def list_all(watch: bool = False, timeoutSeconds: int | None = None) -> Any:
        return await list_or_watch(ALL_NAMESPACES, watch, timeoutSeconds)

    @router.get("/namespaces/{namespace}/inferenceservices", response_model=None)
    async def list_services(namespace: str, watch: bool = False, timeoutSeconds: int | None = None) -> Any:
        return await list_or_watch(namespace, watch, timeoutSeconds)

    @router.get("/namespaces/{namespace}/inferenceservices/{name}")
    async def get_service(namespace: str, name: str) -> dict[str, Any]:
        record = find(controller, namespace, name)
        live = await asyncio.to_thread(controller.runtime.statuses)
        return controller.as_resource(record, live)

    @router.post("/namespaces/{namespace}/inferenceservices", response_model=None)
    async def create_or_apply(namespace: str, request: Request) -> Any:
        if is_json_create(request.headers.get("content-type", ""), await request.body()):
            document = writable(await _body(request), namespace)
            service = parse_inference_service(document, "<request>")
            if (service.namespace, service.name) in controller.services:
                raise AlreadyExistsError(
                    f'inferenceservices.{GROUP} "{service.name}" already exists in {service.namespace!r}'
                )
            resource = await _apply(controller, service)
            after_change()
            return JSONResponse(resource, status_code=201)
        services = yaml_services(
            (await request.body()).decode(), request.headers.get("x-isvc-source", "<request>"), namespace
        )
        applied = []
        for service in services:
            applied.append(await _apply(controller, service))
        after_change()
        return {"apiVersion": "v1", "kind": "List", "items": applied}

    @router.put("/namespaces/{namespace}/inferenceservices/{name}")
    async def replace_service(namespace: str, name: str, request: Request) -> dict[str, Any]:
        record = find(controller, namespace, name)
        body = await _body(request)
        version = ((body.get("metadata") or {}) if isinstance(body, dict) else {}).get("resourceVersion")
        current = controller.objects.get(record.service.namespace, name)
        if version is not None and str(version) != str(current.resource_version):
            raise ConflictError(
                f'Operation cannot be fulfilled on inferenceservices.{GROUP} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again"
            )
        service = parse_inference_service(writable(body, record.service.namespace, name), "<request>")
        resource = await _apply(controller, service)
        after_change()
        return resource

    @router.patch("/namespaces/{namespace}/inferenceservices/{name}")
    async def patch_service(namespace: str, name: str, request: Request) -> dict[str, Any]:
        record = find(controller, namespace, name)
        base = record.service.model_dump(mode="json", exclude_none=True)
        patched = apply_patch(base, request.headers.get("content-type", ""), await _body(request))
        service = parse_inference_service(writable(patched, record.service.namespace, name), "<request>")
        resource = await _apply(controller, service)
        after_change()
        return resource

    @router.delete("/namespaces/{namespace}/inferenceservices/{name}")
    async def delete_service(namespace: str, name: str) -> dict[str, Any]:
        record = find(controller, namespace, name)
        uid = controller.objects.get(record.service.namespace, name).uid
        await asyncio.to_thread(controller.delete, name, namespace=record.service.namespace)
        after_change()
        details = {"name": name, "group": GROUP, "kind": "inferenceservices", "uid": uid}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    @router.post("/namespaces/{namespace}/inferenceservices/{name}/rollout")
    async def rollout(namespace: str, name: str, request: Request) -> dict[str, Any]:
        held = find(controller, namespace, name).service.namespace
        body = RolloutRequest.model_validate(await request.json())
        await asyncio.to_thread(controller.rollout, name, body.action, body.component, body.percent, held)
        after_change()
        resource: dict[str, Any] = await asyncio.to_thread(controller.as_resource, name, None, held)
        return resource

    @router.get("/namespaces/{namespace}/inferenceservices/{name}/logs")
    async def logs(namespace: str, name: str, component: str | None = None, cursor: str = "{}") -> dict[str, Any]:
        """The replicas' output since ``cursor`` (JSON from the previous answer): `isvc logs [-f]`."""
        held = find(controller, namespace, name).service.namespace
        try:
            position = {str(k): int(v) for k, v in json.loads(cursor).items()}
        except (ValueError, AttributeError) as exc:
            raise SpecError(f"cursor: not a JSON object of offsets: {exc}") from exc
        lines, after = await asyncio.to_thread(controller.logs, name, component, position, held)
        return {"lines": lines, "cursor": after}

    return router


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def error_response(exc: IsvcError) -> JSONResponse:
    code, body = status_body(exc)
    return JSONResponse(status_code=code, content=body)

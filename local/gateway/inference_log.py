"""Inference logging at the gateway: what KServe's agent sidecar does for the entry component.

``InferenceLogMiddleware`` sees the exact bytes a client sent to ``/v1/models/{m}:predict`` or
``/v2/models/{m}[/versions/{v}]/infer`` and the status and bytes answered, and hands them to the
service's ``local.logger.InferenceLogger`` (request event at arrival, response event only for a 200).
Logging never blocks or fails a request: the logger queues and returns at once.

``local_logger_url`` maps cluster-internal logger URLs (``*.svc.cluster.local``), unreachable on a
laptop, to the local sink; ``entry_logger_spec`` and ``member_loggers`` say who logs what: the gateway the
entry component, each replica the components behind it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from local.logger import DEFAULT_SINK_URL, EventContext, InferenceLogger
from local.revision_template import ANNOTATIONS_OFF_THE_TEMPLATE

if TYPE_CHECKING:
    from local.logger.events import LoggerSpec
    from local.placement import Unit
    from local.spec import InferenceService

INFERENCE_PATH = re.compile(r"^/v1/models/([^/:]+):predict$|^/v2/models/([^/]+)(?:/versions/[^/]+)?/infer$")


def local_logger_url(url: str | None, local_sink_url: str = DEFAULT_SINK_URL) -> str:
    """The URL a local logger posts to: cluster-internal hosts are replaced by the local sink."""
    if not url:
        return local_sink_url
    host = urlsplit(url).hostname or ""
    if host.endswith(".svc.cluster.local") or host.endswith(".svc") or host.endswith(".cluster.local"):
        return local_sink_url
    return url


class InferenceLogMiddleware:
    """Logs inference requests and responses of models that have a logger."""

    def __init__(self, app: ASGIApp, logger_for: Callable[[str, Any], InferenceLogger | None]):
        self.app = app
        self.logger_for = logger_for
        self._started: weakref.WeakSet[InferenceLogger] = weakref.WeakSet()  # forgets retired loggers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = INFERENCE_PATH.match(scope["path"])
        logger = self.logger_for(match.group(1) or match.group(2), scope["headers"]) if match else None
        if logger is None:
            await self.app(scope, receive, send)
            return
        if logger not in self._started:
            await logger.start()
            self._started.add(logger)
        await self._logged(logger, scope, receive, send)

    async def _logged(self, logger: InferenceLogger, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        record = logger.log_request(headers, body)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        response_chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                response_chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    logger.log_response(record, status, b"".join(response_chunks))
            await send(message)

        await self.app(scope, replay, capture)


def replica_logger_config(
    spec: Any,
    service: str,
    namespace: str,
    component: str,
    revision: str,
    local_sink_url: str,
    annotations: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any] | None:
    """What a downstream replica needs to build its own InferenceLogger (plain data, picklable)."""
    if spec is None:
        return None
    document = spec.model_dump(mode="json", exclude_none=True)
    document["url"] = local_logger_url(spec.url, local_sink_url)
    return {
        "spec": document,
        "service": service,
        "namespace": namespace,
        "component": component,
        "source": revision,
        "annotations": [list(pair) for pair in annotations],
    }


@dataclass(frozen=True)
class NewLogger:
    """An entry logger to make: its spec (URL made local) and what it stamps on its events."""

    spec: LoggerSpec
    context: EventContext

    def make(self) -> InferenceLogger:
        return InferenceLogger(self.spec, self.context)


def entry_logger_spec(service: InferenceService, local_sink_url: str) -> NewLogger | None:
    """What the gateway's logger of the entry component must be (None: the entry component logs nothing)."""
    name, component = next(iter(service.components().items()))
    spec = component.logger
    if spec is None:
        return None
    spec = spec.model_copy(update={"url": local_logger_url(spec.url, local_sink_url)})
    context = EventContext(
        service.name,
        service.namespace,
        name,
        source=f"{service.name}-{name}",
        annotations=logged_annotations(spec, service, name),
    )
    return NewLogger(spec, context)


def logged_annotations(spec: Any, service: InferenceService, component: str) -> tuple[tuple[str, str], ...]:
    """The annotations ``metadataAnnotations`` names that the component's pod would carry (the service's and
    the component's own), as KServe's webhook passes them to the agent (``--metadata-annotations k=v``;
    a name the pod lacks is skipped: ``agent_injector.go``)."""
    present = {**service.metadata.annotations, **service.components()[component].annotations}
    carried = {key: value for key, value in present.items() if key not in ANNOTATIONS_OFF_THE_TEMPLATE}  # the pod's
    return tuple((key, carried[key]) for key in spec.metadataAnnotations if key in carried)


def member_loggers(service: InferenceService, unit: Unit, local_sink_url: str) -> dict[str, dict[str, Any] | None]:
    """Per member revision of ``unit``, its replica's logger config: None for the entry component (the
    gateway logs it), the component's logger for those behind it."""
    entry_component = next(iter(service.components()))
    configs: dict[str, dict[str, Any] | None] = {}
    for member in unit.members:
        spec = None if member.component == entry_component else service.components()[member.component].logger
        annotations = logged_annotations(spec, service, member.component) if spec is not None else ()
        configs[member.name] = replica_logger_config(
            spec, service.name, service.namespace, member.component, member.name, local_sink_url, annotations
        )
    return configs

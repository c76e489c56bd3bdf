"""KServe-identical inference-log CloudEvents: the ``logger`` spec, what to emit, and how each event looks.

Pure: no I/O, no clock or randomness except through injectable defaults, and it must not import ``ray``,
``fastapi`` or an HTTP client. The events mirror KServe's agent (``pkg/logger/handler.go`` and
``worker.go``): CloudEvents 1.0 in binary HTTP mode, ``ce-type`` ``org.kubeflow.serving.inference.request``
/ ``.response``, one ``ce-id`` for a request and its response (the incoming ``Ce-Id`` header, else a new
UUID), the request's ``Content-Type`` on both events, and the extensions ``recordedtime`` (when the event
is made; the agent stamps it as it sends, a few milliseconds later), ``inferenceservicename``,
``namespace``, ``component``, ``endpoint``, ``metadata`` (JSON object of the selected request headers,
each mapped to its list of values, keys sorted as Go's ``json.Marshal`` does; header names in Go
canonical form, matched case-sensitively) and, when the logger names ``metadataAnnotations`` that the
service has, ``annotations`` (JSON object of those annotations: the agent's ``--metadata-annotations``).

``ce-source``: KServe's webhook passes the *pod name* as the agent's ``--source-uri``. Locally the
analogue is the replica's name, so :class:`EventContext` takes ``source`` explicitly; when left empty it
defaults to ``{inferenceservicename}-{component}`` (Knative's service name for that component).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
DEFAULT_SINK_URL = "http://127.0.0.1:8099/"
"""Where events go when ``logger.url`` is not set (``isvc sink`` listens there by default)."""

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Request headers: a mapping, a list of (name, value) pairs, or anything with ``multi_items()``."""


class LoggerMode(StrEnum):
    ALL = "all"
    REQUEST = "request"
    RESPONSE = "response"


class LoggerSpecError(ValueError):
    """A ``logger`` block that does not validate; the message names each field (``logger.mode``)."""


class LoggerSpec(BaseModel):
    """``spec.<component>.logger`` of an InferenceService.

    ``mode`` is required: the CRD gives it no default and KServe's validating webhook rejects a logger
    whose mode is not all, request or response, a missing one included (``validateLogger``,
    ``pkg/apis/serving/v1beta1/component.go``: "invalid logger type"). A missing ``url`` means
    :data:`DEFAULT_SINK_URL` locally (KServe would use the namespace broker).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: LoggerMode = Field(default=None, validate_default=True)  # required: None fails the validator
    url: str | None = None
    metadataHeaders: list[str] = Field(default_factory=list)
    metadataAnnotations: list[str] = Field(default_factory=list)

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_known(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("required: one of all, request, response (KServe rejects a logger without one)")
        if isinstance(value, str) and value.strip() == "":
            raise ValueError("must be one of all, request, response (it is empty)")
        if isinstance(value, str) and value not in {m.value for m in LoggerMode}:
            raise ValueError(f"must be one of all, request, response (got {value!r})")
        return value

    @field_validator("url")
    @classmethod
    def _url_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"must be an http(s) URL with a host (got {value!r})")
        return value

    @property
    def target_url(self) -> str:
        return self.url or DEFAULT_SINK_URL

    @classmethod
    def parse(cls, data: Any, path: str = "logger") -> LoggerSpec:
        """Validate ``data``; errors become one :class:`LoggerSpecError` naming ``path.field``."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            reasons = []
            for error in exc.errors():
                where = ".".join([path, *(str(part) for part in error["loc"])])
                message = error["msg"].removeprefix("Value error, ")
                reasons.append(f"{where}: {message}")
            raise LoggerSpecError("; ".join(reasons)) from None


def events_for(mode: LoggerMode, status: int | None) -> tuple[str, ...]:
    """The event types KServe emits for one inference: request per mode, response only for a 200."""
    emitted: list[str] = []
    if mode in (LoggerMode.ALL, LoggerMode.REQUEST):
        emitted.append(REQUEST_TYPE)
    if status == 200 and mode in (LoggerMode.ALL, LoggerMode.RESPONSE):
        emitted.append(RESPONSE_TYPE)
    return tuple(emitted)


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-request-id`` -> ``X-Request-Id``; invalid names unchanged."""
    if not name or any(ch not in _TOKEN_CHARS for ch in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def header_items(headers: Headers) -> list[tuple[str, str]]:
    multi_items = getattr(headers, "multi_items", None)
    if callable(multi_items):
        return [(str(k), str(v)) for k, v in multi_items()]
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Go's CloudEvents SDK writes ``ce-time``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class EventContext:
    """What one logging component stamps on every event (the agent's command-line flags in KServe)."""

    inference_service: str
    namespace: str
    component: str
    endpoint: str = "default"
    source: str = ""
    metadata_headers: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    """The service's annotations the logger's ``metadataAnnotations`` name, as (key, value)."""

    @property
    def ce_source(self) -> str:
        return self.source or f"{self.inference_service}-{self.component}"


@dataclass(frozen=True)
class BinaryEvent:
    """One event ready to POST: binary-mode headers and the untouched body."""

    id: str
    type: str
    headers: dict[str, str]
    body: bytes


BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_CONTEXT_ORDER = ("specversion", "id", "source", "type")


def binary_headers(attributes: Mapping[str, Any]) -> dict[str, str]:
    """The HTTP headers of a binary-mode CloudEvent, exactly as ``cloudevents.conversion.to_binary``.

    The SDK builds a legacy event object per call (about 50 µs here, four events per logged
    inference); this writes the same dict (``content-type`` from ``datacontenttype``, then ``ce-*`` in
    the SDK's order). ``tests/local/logger/test_events.py`` checks it against the SDK.
    """
    headers: dict[str, str] = {}
    if attributes.get("datacontenttype") is not None:
        headers["content-type"] = str(attributes["datacontenttype"])
    for key in _CONTEXT_ORDER:
        if attributes.get(key) is not None:
            headers[f"ce-{key}"] = str(attributes[key])
    for key, value in attributes.items():
        if key not in _CONTEXT_ORDER and key != "datacontenttype" and value is not None:
            headers[f"ce-{key}"] = str(value)
    return headers


def structured(event: BinaryEvent) -> dict[str, str]:
    """The same event in structured mode: its ``ce-*`` attributes, content type, ``data_base64``."""
    envelope = {key[3:]: value for key, value in event.headers.items() if key.lower().startswith("ce-")}
    content_type = next((v for k, v in event.headers.items() if k.lower() == "content-type"), None)
    if content_type:
        envelope["datacontenttype"] = content_type
    envelope["data_base64"] = base64.b64encode(event.body).decode("ascii")
    return envelope


def batch_body(events: list[BinaryEvent]) -> bytes:
    """CloudEvents' HTTP batch mode: a JSON array of structured events."""
    return json.dumps([structured(event) for event in events], separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class InferenceRecord:
    """What is fixed when a request arrives: its ce-id, content type and selected metadata headers."""

    context: EventContext
    event_id: str
    content_type: str
    metadata: dict[str, list[str]]

    @classmethod
    def from_request(
        cls, context: EventContext, headers: Headers, *, new_id: Callable[[], str] = lambda: str(uuid.uuid4())
    ) -> InferenceRecord:
        metadata: dict[str, list[str]] = {}
        selected = context.metadata_headers
        event_id: str | None = None
        content_type: str | None = None
        # One pass. A name's canonical form is "Ce-Id" (or "Content-Type") exactly when it equals it
        # ignoring case, so the two lookups need no canonicalisation; the selected headers do.
        for name, value in header_items(headers):
            lowered = name.lower()
            if lowered == "ce-id":
                event_id = value if event_id is None else event_id
            elif lowered == "content-type":
                content_type = value if content_type is None else content_type
            if selected:
                key = canonical_header_key(name)
                if key in selected:  # case-sensitive, like slices.Contains over Go's canonical keys
                    metadata.setdefault(key, []).append(value)
        return cls(context, event_id or new_id(), content_type or "", metadata)

    def event(
        self, ce_type: str, body: bytes, time: datetime | None = None, recorded: datetime | None = None
    ) -> BinaryEvent:
        ctx = self.context
        attributes: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.event_id,
            "type": ce_type,
            "source": ctx.ce_source,
            "time": format_time(time or datetime.now(UTC)),
            "recordedtime": format_time(recorded or datetime.now(UTC)),
            "inferenceservicename": ctx.inference_service,
            "namespace": ctx.namespace,
            "component": ctx.component,
            "endpoint": ctx.endpoint,
            "metadata": json.dumps(self.metadata, separators=(",", ":"), sort_keys=True, ensure_ascii=False),
        }
        if ctx.annotations:
            annotations = dict(ctx.annotations)  # as Go's json.Marshal writes a map: sorted keys, UTF-8
            attributes["annotations"] = json.dumps(
                annotations, separators=(",", ":"), sort_keys=True, ensure_ascii=False
            )
        if self.content_type:
            attributes["datacontenttype"] = self.content_type
        return BinaryEvent(self.event_id, ce_type, binary_headers(attributes), bytes(body))

    def request_event(self, body: bytes, time: datetime | None = None, recorded: datetime | None = None) -> BinaryEvent:
        return self.event(REQUEST_TYPE, body, time, recorded)

    def response_event(
        self, body: bytes, time: datetime | None = None, recorded: datetime | None = None
    ) -> BinaryEvent:
        return self.event(RESPONSE_TYPE, body, time, recorded)

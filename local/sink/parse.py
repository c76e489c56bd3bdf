"""Turn one HTTP request into one stored-event row, or a reason why it is not a valid CloudEvent.

Binary mode (``ce-*`` headers, body = data), structured mode (``application/cloudevents+json``) and
batch mode (``application/cloudevents-batch+json``, a JSON array of structured events: how the kit's
own logger delivers under load) are read with ``cloudevents.http.from_http``; required attributes are
checked up front so the reason is precise. Binary bodies are stored byte for byte. Pure: no I/O;
must not import ``ray``, a web framework or a database driver.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cloudevents.exceptions import GenericException
from cloudevents.http import from_http

from local.sink.store import EventRow, as_utc

REQUIRED = ("specversion", "id", "source", "type")
COLUMNS = ("inferenceservicename", "namespace", "component", "endpoint", "metadata")
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
SPEC_VERSIONS = ("1.0", "0.3")


class BadEvent(ValueError):
    """Not a storable CloudEvent; ``str()`` is the reason sent back with the 400."""


def parse_event(headers: Mapping[str, str], body: bytes, received_at: datetime) -> EventRow:
    lowered = {key.lower(): value for key, value in headers.items()}
    envelope: dict[str, Any] | None = None
    content_type = lowered.get("content-type", "")
    if "ce-specversion" in lowered:
        missing = [name for name in REQUIRED if not lowered.get(f"ce-{name}", "").strip()]
    elif content_type.startswith(BATCH):
        raise BadEvent(f"a batch ({BATCH}) holds several events: parse it with parse_batch")
    elif content_type.startswith(STRUCTURED):
        envelope = _envelope(body)
        missing = [name for name in REQUIRED if not str(envelope.get(name) or "").strip()]
    else:
        raise BadEvent(
            "not a CloudEvent: no ce-specversion header (binary mode) and the content type is not "
            f"{STRUCTURED} (structured mode)"
        )
    if missing:
        raise BadEvent(f"missing required attribute(s): {', '.join(missing)}")
    try:
        event = from_http(lowered, body, data_unmarshaller=lambda data: data)
    except GenericException as exc:
        raise BadEvent(f"invalid CloudEvent: {exc}") from None
    body = _data(event.data) if envelope is None else _structured_data(envelope)
    return _row(dict(event.get_attributes()), received_at, body)


def _row(attributes: dict[str, Any], received_at: datetime, body: bytes) -> EventRow:
    known = {*REQUIRED, "time", "datacontenttype", *COLUMNS}
    extensions = {k: v for k, v in attributes.items() if k not in known}
    return EventRow(
        id=str(attributes["id"]),
        type=str(attributes["type"]),
        source=str(attributes["source"]),
        time=_time(attributes.get("time")),
        received_at=received_at,
        inferenceservicename=_opt(attributes.get("inferenceservicename")),
        namespace=_opt(attributes.get("namespace")),
        component=_opt(attributes.get("component")),
        endpoint=_opt(attributes.get("endpoint")),
        metadata=_opt(attributes.get("metadata")),
        content_type=_opt(attributes.get("datacontenttype")),
        extensions=json.dumps(extensions, sort_keys=True, default=str) if extensions else None,
        body=body,
    )


def is_batch(headers: Mapping[str, str]) -> bool:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "").startswith(BATCH)


def parse_batch(body: bytes, received_at: datetime, limit: int = 1000) -> list[EventRow]:
    """CloudEvents' HTTP batch mode: a JSON array of structured events, each parsed as one.

    The whole batch is refused if any event in it is invalid (the sender retries or splits it).
    """
    try:
        envelopes = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"batch body is not valid JSON: {exc}") from None
    if not isinstance(envelopes, list):
        raise BadEvent("a batch body must be a JSON array of structured events")
    if not envelopes:
        raise BadEvent("an empty batch: a batched request holds at least one event")
    if len(envelopes) > limit:
        raise BadEvent(f"a batch holds at most {limit} events, got {len(envelopes)}")
    rows = []
    for index, envelope in enumerate(envelopes):
        if not isinstance(envelope, dict):
            raise BadEvent(f"batch[{index}]: not a JSON object")
        try:
            rows.append(_row_from_envelope(envelope, received_at))
        except BadEvent as exc:
            raise BadEvent(f"batch[{index}]: {exc}") from None
    return rows


def _row_from_envelope(envelope: dict[str, Any], received_at: datetime) -> EventRow:
    """One structured event of a batch, read straight from its JSON object (no second parse)."""
    missing = [name for name in REQUIRED if not str(envelope.get(name) or "").strip()]
    if missing:
        raise BadEvent(f"missing required attribute(s): {', '.join(missing)}")
    if str(envelope["specversion"]) not in SPEC_VERSIONS:
        raise BadEvent(f"invalid CloudEvent: unsupported specversion {envelope['specversion']!r}")
    attributes = {k: v for k, v in envelope.items() if k not in ("data", "data_base64")}
    return _row(attributes, received_at, _structured_data(envelope))


def _envelope(body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"structured event body is not valid JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise BadEvent("structured event body must be a JSON object")
    return envelope


def _structured_data(envelope: dict[str, Any]) -> bytes:
    """``data_base64`` decoded; a string as its text unless the content type is JSON; else JSON text."""
    if "data_base64" in envelope:
        try:
            return base64.b64decode(str(envelope["data_base64"]), validate=True)
        except ValueError:
            raise BadEvent("data_base64 is not valid base64") from None
    data = envelope.get("data")
    if data is None:
        return b""
    if isinstance(data, str) and "json" not in str(envelope.get("datacontenttype") or ""):
        return data.encode("utf-8")
    return json.dumps(data).encode("utf-8")


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadEvent(f"time: not an RFC 3339 timestamp: {value!r}") from None
    if moment.tzinfo is None or "T" not in str(value).upper():
        raise BadEvent(f"time: not an RFC 3339 timestamp (date, 'T', time and offset): {value!r}")
    return as_utc(moment)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _data(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    return json.dumps(data).encode("utf-8")

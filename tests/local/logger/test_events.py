"""KServe-identical events: attributes, ids, metadata headers, mode filtering, the logger spec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.http import from_http

from local.logger.events import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    EventContext,
    InferenceRecord,
    LoggerMode,
    LoggerSpec,
    LoggerSpecError,
    canonical_header_key,
    events_for,
)

CTX = EventContext(
    "iris", "team-a", "predictor", endpoint="canary", source="iris-predictor-00002", metadata_headers=("X-User",)
)
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_request_event_headers_are_exactly_kserves_attributes() -> None:
    """The binary-mode headers, exactly: the attributes KServe's agent sets on a request event
    (``ce-specversion``, ``ce-id`` from the request, ``ce-source``, ``ce-type``, ``ce-time``,
    ``ce-recordedtime``, the ``ce-inferenceservicename``/``namespace``/``component``/``endpoint`` extensions,
    ``ce-metadata`` with the allowed headers; ``pkg/logger/worker.go``), with the request's content type.
    No ``ce-annotations``: the agent adds it only for the logger's ``metadataAnnotations``."""
    record = InferenceRecord.from_request(
        CTX, {"content-type": "application/json", "ce-id": "abc-1", "x-user": "ada"}, new_id=lambda: "unused"
    )
    event = record.request_event(b'{"inputs": []}', time=WHEN, recorded=WHEN + timedelta(milliseconds=3))
    assert event.headers == {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "abc-1",
        "ce-source": "iris-predictor-00002",
        "ce-type": "org.kubeflow.serving.inference.request",
        "ce-time": "2026-01-02T03:04:05.678901Z",
        "ce-recordedtime": "2026-01-02T03:04:05.681901Z",
        "ce-inferenceservicename": "iris",
        "ce-namespace": "team-a",
        "ce-component": "predictor",
        "ce-endpoint": "canary",
        "ce-metadata": '{"X-User":["ada"]}',
    }
    assert event.body == b'{"inputs": []}'
    assert (event.id, event.type) == ("abc-1", REQUEST_TYPE)


def test_metadata_annotations_are_sent_as_a_json_object_in_ce_annotations() -> None:
    """KServe's agent: ``--metadata-annotations k=v,...`` becomes ``ce-annotations`` (``json.Marshal`` of the map)."""
    context = EventContext("iris", "team-a", "predictor", annotations=(("team", "a"), ("cost-centre", "42")))
    event = InferenceRecord.from_request(context, {}).request_event(b"{}")
    assert event.headers["ce-annotations"] == '{"cost-centre":"42","team":"a"}'
    parsed = from_http(event.headers, event.body, data_unmarshaller=lambda data: data)
    assert parsed["annotations"] == '{"cost-centre":"42","team":"a"}' and parsed["recordedtime"]


def test_response_shares_the_id_and_carries_the_request_content_type() -> None:
    record = InferenceRecord.from_request(CTX, [("Content-Type", "application/json")], new_id=lambda: "generated")
    request = record.request_event(b"{}")
    response = record.response_event(b'{"outputs": []}')
    assert request.headers["ce-id"] == response.headers["ce-id"] == "generated"
    assert response.headers["ce-type"] == RESPONSE_TYPE
    assert response.headers["content-type"] == "application/json"


def test_new_uuid_when_no_ce_id_and_distinct_per_request() -> None:
    a = InferenceRecord.from_request(CTX, {}).event_id
    b = InferenceRecord.from_request(CTX, {}).event_id
    assert a != b and len(a) == 36


def test_events_parse_back_with_the_sdk_and_bodies_are_byte_identical() -> None:
    body = bytes(range(256))
    event = InferenceRecord.from_request(CTX, {"Content-Type": "application/octet-stream"}).request_event(body)
    parsed = from_http(event.headers, event.body, data_unmarshaller=lambda data: data)
    assert parsed.data == body
    assert parsed["inferenceservicename"] == "iris" and parsed["specversion"] == "1.0"


def test_metadata_headers_match_case_sensitively_in_go_canonical_form() -> None:
    ctx = EventContext("iris", "ns", "predictor", metadata_headers=("X-User", "x-tenant", "X-Multi"))
    headers = [("x-user", "ada"), ("X-TENANT", "t1"), ("x-multi", "1"), ("X-Multi", "2"), ("x-other", "no")]
    record = InferenceRecord.from_request(ctx, headers)
    # "x-tenant" is not canonical, so like KServe it never matches
    assert record.metadata == {"X-User": ["ada"], "X-Multi": ["1", "2"]}
    assert json.loads(record.request_event(b"").headers["ce-metadata"]) == record.metadata


def test_metadata_is_an_empty_object_when_nothing_selected_and_source_defaults() -> None:
    event = InferenceRecord.from_request(EventContext("iris", "ns", "transformer"), {}).request_event(b"x")
    assert event.headers["ce-metadata"] == "{}"
    assert event.headers["ce-source"] == "iris-transformer"
    assert "content-type" not in event.headers  # no request content type, none on the event


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("x-request-id", "X-Request-Id"), ("CONTENT-TYPE", "Content-Type"), ("ce-id", "Ce-Id"), ("bad name", "bad name")],
)
def test_canonical_header_key(name: str, canonical: str) -> None:
    assert canonical_header_key(name) == canonical


@pytest.mark.parametrize(
    ("mode", "status", "expected"),
    [
        (LoggerMode.ALL, 200, (REQUEST_TYPE, RESPONSE_TYPE)),
        (LoggerMode.ALL, 400, (REQUEST_TYPE,)),
        (LoggerMode.ALL, 500, (REQUEST_TYPE,)),
        (LoggerMode.ALL, 201, (REQUEST_TYPE,)),
        (LoggerMode.REQUEST, 200, (REQUEST_TYPE,)),
        (LoggerMode.RESPONSE, 200, (RESPONSE_TYPE,)),
        (LoggerMode.RESPONSE, 503, ()),
        (LoggerMode.ALL, None, (REQUEST_TYPE,)),
    ],
)
def test_events_for_mode_and_status(mode: LoggerMode, status: int | None, expected: tuple[str, ...]) -> None:
    assert events_for(mode, status) == expected


def test_logger_spec_parses_kserve_yaml_fields() -> None:
    spec = LoggerSpec.parse({"mode": "request", "url": "http://sink.default/", "metadataHeaders": ["X-User"]})
    assert spec.mode is LoggerMode.REQUEST and spec.metadataHeaders == ["X-User"]
    assert spec.target_url == "http://sink.default/"
    with pytest.raises(LoggerSpecError, match=r"logger\.mode: required"):  # KServe's webhook rejects no mode
        LoggerSpec.parse({})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": ""}, "logger.mode: must be one of all, request, response (it is empty)"),
        ({"mode": None}, "logger.mode: required: one of all, request, response"),
        ({"url": "http://sink/"}, "logger.mode: required: one of all, request, response"),
        ({"mode": "everything"}, "logger.mode: must be one of all, request, response (got 'everything')"),
        ({"url": "ftp://x/"}, "logger.url: must be an http(s) URL with a host"),
        ({"metadataHeaders": "X-User"}, "logger.metadataHeaders: Input should be a valid list"),
        ({"mdoe": "all"}, "logger.mdoe: Extra inputs are not permitted"),
    ],
)
def test_logger_spec_errors_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(LoggerSpecError) as info:
        LoggerSpec.parse(data)
    assert message in str(info.value)


def test_logger_spec_error_path_is_configurable() -> None:
    with pytest.raises(LoggerSpecError, match=r"^spec\.predictor\.logger\.mode: "):
        LoggerSpec.parse({"mode": ""}, path="spec.predictor.logger")


@pytest.mark.parametrize(
    "attributes",
    [
        {"specversion": "1.0", "id": "a", "type": "t", "source": "s", "time": "2026-12-01T20:00:00Z",
         "inferenceservicename": "iris", "namespace": "n", "component": "predictor", "endpoint": "default",
         "metadata": '{"X-Ü":["ä b%"]}', "datacontenttype": "application/json"},
        {"specversion": "1.0", "id": "b", "type": "t", "source": "s", "time": "2026-12-01T20:00:01Z",
         "component": "transformer"},
    ],
)  # fmt: skip
def test_binary_headers_are_exactly_the_cloudevents_sdks(attributes: dict[str, str]) -> None:
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent

    from local.logger.events import binary_headers

    expected, _ = to_binary(CloudEvent(dict(attributes), b"body"), data_marshaller=lambda data: data)
    assert list(binary_headers(attributes).items()) == list(dict(expected).items())

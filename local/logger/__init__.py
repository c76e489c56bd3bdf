"""Inference logging as KServe's agent does it: CloudEvents per request/response, delivered asynchronously.

``events`` builds the events (pure), ``delivery`` posts them (bounded queue, retries, counters),
``logger`` ties both to one component. Nothing here imports ``ray``.
"""

from local.logger.delivery import DeliveryConfig, DeliveryStats, EventDelivery
from local.logger.events import (
    DEFAULT_SINK_URL,
    REQUEST_TYPE,
    RESPONSE_TYPE,
    BinaryEvent,
    EventContext,
    InferenceRecord,
    LoggerMode,
    LoggerSpec,
    LoggerSpecError,
    events_for,
)
from local.logger.logger import InferenceLogger

__all__ = [
    "DEFAULT_SINK_URL",
    "REQUEST_TYPE",
    "RESPONSE_TYPE",
    "BinaryEvent",
    "DeliveryConfig",
    "DeliveryStats",
    "EventContext",
    "EventDelivery",
    "InferenceLogger",
    "InferenceRecord",
    "LoggerMode",
    "LoggerSpec",
    "LoggerSpecError",
    "events_for",
]

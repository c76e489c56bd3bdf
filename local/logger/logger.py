"""The one object a serving runtime holds per logging component: spec + context + delivery.

The Ray ingress (or any ASGI front) calls :meth:`InferenceLogger.log_request` when a request arrives
and :meth:`InferenceLogger.log_response` when its response is known; both return at once and never
raise, so logging can neither slow nor fail inference. Must not import ``ray`` or a web framework.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from local.logger.delivery import DeliveryConfig, DeliveryStats, EventDelivery, Sleep
from local.logger.events import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    EventContext,
    Headers,
    InferenceRecord,
    LoggerSpec,
    events_for,
)

log = logging.getLogger(__name__)


class InferenceLogger:
    """Emit KServe-identical request/response events for one component of one InferenceService."""

    def __init__(
        self,
        spec: LoggerSpec,
        context: EventContext,
        *,
        delivery: EventDelivery | None = None,
        registry: CollectorRegistry | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.spec = spec
        self.context = EventContext(
            context.inference_service,
            context.namespace,
            context.component,
            context.endpoint,
            context.source,
            tuple(spec.metadataHeaders) or context.metadata_headers,
            context.annotations,
        )
        if delivery is None:
            config = DeliveryConfig(url=spec.target_url)
            delivery = EventDelivery(config, registry=registry, sleep=sleep or asyncio.sleep)
        self.delivery = delivery

    async def start(self) -> None:
        await self.delivery.start()

    async def close(self, drain_timeout: float = 5.0) -> DeliveryStats:
        return await self.delivery.close(drain_timeout)

    def stats(self) -> DeliveryStats:
        return self.delivery.stats()

    def log_request(self, headers: Headers, body: bytes, *, time: datetime | None = None) -> InferenceRecord | None:
        """Fix the ce-id for this inference and queue its request event (when the mode says so).

        Returns the record to pass to :meth:`log_response`; None only if something unexpected failed.
        """
        try:
            record = InferenceRecord.from_request(self.context, headers)
            if REQUEST_TYPE in events_for(self.spec.mode, None):
                self.delivery.submit(record.request_event(body, time or datetime.now(UTC)))
            return record
        except Exception:
            log.exception("could not log an inference request")
            return None

    def log_response(
        self, record: InferenceRecord | None, status: int, body: bytes, *, time: datetime | None = None
    ) -> None:
        """Queue the response event: only for a 200 and a mode of ``all`` or ``response``."""
        if record is None:
            return
        try:
            if RESPONSE_TYPE in events_for(self.spec.mode, status):
                self.delivery.submit(record.response_event(body, time or datetime.now(UTC)))
        except Exception:
            log.exception("could not log an inference response")

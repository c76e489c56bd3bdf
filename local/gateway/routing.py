"""One InferenceService as a KServe model: picks revisions by the traffic split, calls them.

``IsvcModel`` is registered in KServe's ``ModelRepository`` under the model name of the service's
entry component, so KServe's own data plane (decode, encode, errors) serves it. Each request picks
the entry component's revision (and, behind a transformer, the predictor's) by the percentages of
``status.components.<c>.traffic``, calls it through a Ray Serve handle and tells which revisions
served it in ``x-isvc-<component>-revision`` response headers. ``handle_for(revision)`` gives an
object with async ``infer`` and ``metadata`` (``local.ray_layer.client.RevisionClient``); this module
never imports ``ray``. The routing table is immutable and swapped as a whole on apply (one reference
assignment, after the new revisions are ready); a request reads it once, with no lock, so a split
changes without restarting a replica or dropping a request, and no request mixes two tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kserve.errors import ModelNotReady
from kserve.model import InferenceModel, InferenceVerb
from kserve.protocol.infer_type import InferRequest

from local import traffic
from local.errors import NotFoundError, status_code_of
from local.gateway import metrics
from local.placement import SEPARATE, Placement, entry_unit, unit_revisions
from local.spec import DEFAULT_NAMESPACE, TAG_ROUTING_ANNOTATION
from local.traffic import TrafficTarget

TAG_HEADER = "x-isvc-tag"


@dataclass(frozen=True)
class ComponentRoute:
    """Traffic of one component: the planner's ``TrafficTarget``s (``local.traffic``), as the status shows them."""

    targets: tuple[TrafficTarget, ...]

    def tagged(self, tag: str) -> str | None:
        return traffic.tagged(self.targets, tag)

    def pick(self, rng: random.Random) -> str:
        revision = traffic.pick(self.targets, rng)
        if revision is None:
            raise ModelNotReady("", "no ready revision receives traffic")
        return revision


@dataclass(frozen=True)
class RouteTable:
    entry_component: str
    components: dict[str, ComponentRoute]
    tag_routing: bool = False
    wake_downstream_after_s: float | None = None
    placement: Placement = SEPARATE
    namespace: str = DEFAULT_NAMESPACE
    """The service's namespace: part of its Serve application names (``local.placement.unit_name``)."""

    @property
    def ready(self) -> bool:
        """Some revision receives traffic (KServe's model readiness)."""
        return any(route.targets for route in self.components.values())

    def component_of(self, revision: str) -> str | None:
        """The component whose traffic includes ``revision`` (None: not deployed with traffic)."""
        for name, route in self.components.items():
            if any(target.revision == revision for target in route.targets):
                return name
        return None

    def choose(self, rng: random.Random, tag: str | None) -> dict[str, str]:
        """One revision per component: by the split, or the one tagged ``tag``: ``prev`` while a canary
        runs (always, as KServe tags it), ``latest`` with tag routing only."""
        chosen = {name: route.pick(rng) for name, route in self.components.items()}
        if tag:
            tagged = {name: route.tagged(tag) for name, route in self.components.items()}
            found = {name: revision for name, revision in tagged.items() if revision}
            if not found and tag == "latest" and not self.tag_routing:
                raise NotFoundError(f"tag routing is off: annotate {TAG_ROUTING_ANNOTATION}: 'true' to reach {tag!r}")
            if not found:
                raise NotFoundError(f"no revision is tagged {tag!r}")
            chosen.update(found)
        return chosen


class IsvcModel(InferenceModel):
    """The model KServe's data plane sees for one InferenceService."""

    def __init__(
        self, model_name: str, service: str, handle_for: Callable[[str], Any], namespace: str = DEFAULT_NAMESPACE
    ):
        super().__init__(model_name)
        self.service = service
        self.namespace = namespace
        self._handle_for = handle_for
        self._table: RouteTable | None = None
        self._metadata: dict[str, dict[str, Any]] = {}
        self._rng = random.Random()
        self._last_request = time.monotonic()
        self._wakers: set[asyncio.Task[Any]] = set()
        self.ready = False

    def set_routes(self, table: RouteTable) -> None:
        """Swap the routing table (one assignment: requests in flight keep the table they read)."""
        self._table = table
        self.ready = table.ready  # for KServe's readiness routes; the request path reads the table only
        # Metadata of units no longer routed to is dropped: the cache never outgrows the live revisions.
        self._metadata = {
            unit: meta
            for unit, meta in self._metadata.items()
            if all(table.component_of(part) is not None for part in unit_revisions(unit)[1])
        }

    def serves_revision(self, revision: str) -> bool:
        """Whether ``revision`` receives traffic in one of the service's components (a V2 model version)."""
        table = self._table
        return table is not None and table.component_of(revision) is not None

    def _route(self, headers: dict[str, str], pinned_revision: str | None) -> tuple[dict[str, str], str, str | None]:
        """Revisions chosen per component, the unit to call and its downstream unit (separate placement)."""
        table = self._table  # read once: this request routes by one table, whatever an apply does meanwhile
        if table is None or not table.ready:
            raise ModelNotReady(self.name)
        chosen = table.choose(self._rng, request_tag(headers))
        if pinned_revision is not None:
            component = table.component_of(pinned_revision)
            if component is None:
                raise NotFoundError(f"revision {pinned_revision!r} of {self.service} is not deployed")
            chosen[component] = pinned_revision
        entry, downstream = entry_unit(table.placement, chosen, table.namespace)
        if downstream is not None:
            self._maybe_wake(downstream, table.wake_downstream_after_s)
        return chosen, entry, downstream

    async def __call__(
        self,
        body: Any,
        headers: dict[str, str] | None = None,
        verb: InferenceVerb = InferenceVerb.PREDICT,
        pinned_revision: str | None = None,
    ) -> tuple[Any, dict[str, str]]:
        chosen, entry, downstream = self._route(headers or {}, pinned_revision)
        started = time.perf_counter()
        status = "200"
        try:
            response, response_headers = await self._handle_for(entry).infer(_picklable(body), headers, downstream)
        except Exception as exc:
            status = str(status_code_of(exc))
            raise
        finally:
            metrics.observe_request(self.service, self.namespace, chosen, status, time.perf_counter() - started)
        for component, revision in chosen.items():
            response_headers[f"x-isvc-{component}-revision"] = revision
        return response, response_headers

    async def infer_rest(
        self, protocol: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """The fast path: raw REST bytes to the entry unit, decoded there; (status, body, headers)."""
        chosen, entry, downstream = self._route(headers, None)
        started = time.perf_counter()
        status, content, response_headers = 500, b"", {}
        try:
            status, content, response_headers = await self._handle_for(entry).infer_rest(
                protocol, self.name, body, headers, downstream
            )
        except Exception as exc:
            status = status_code_of(exc)
            raise
        finally:
            metrics.observe_request(self.service, self.namespace, chosen, str(status), time.perf_counter() - started)
        if status == 200:
            for component, revision in chosen.items():
                response_headers[f"x-isvc-{component}-revision"] = revision
        return status, content, response_headers

    def _maybe_wake(self, downstream: str, idle_s: float | None) -> None:
        """After an idle spell long enough for a scale to zero, start the predictor's cold start now.

        The transformer reaches its predictor only after its own cold start; a request to the predictor
        sent at the same time makes Serve scale both from zero together (the call is cheap metadata).
        """
        now = time.monotonic()
        idle, self._last_request = now - self._last_request, now
        if idle_s is None or idle < idle_s:
            return
        task = asyncio.get_running_loop().create_task(self._wake(downstream))
        self._wakers.add(task)
        task.add_done_callback(self._wakers.discard)

    async def _wake(self, revision: str) -> None:
        with contextlib.suppress(Exception):
            await self._handle_for(revision).metadata()

    async def _entry_metadata(self) -> dict[str, Any]:
        _, unit, _ = self._route({}, None)  # any revision: the same model interface
        if unit not in self._metadata:
            self._metadata[unit] = await self._handle_for(unit).metadata()
        return self._metadata[unit]

    async def get_input_types(self) -> list[dict[str, Any]]:
        return list((await self._entry_metadata())["inputs"])

    async def get_output_types(self) -> list[dict[str, Any]]:
        return list((await self._entry_metadata())["outputs"])


def request_tag(headers: dict[str, str]) -> str | None:
    """KServe's tag routing: ``latest-``/``prev-`` host prefix, or the kit's ``x-isvc-tag`` header."""
    if headers.get(TAG_HEADER):
        return headers[TAG_HEADER]
    host = headers.get("host", "")
    for tag in ("latest", "prev"):
        if host.startswith(f"{tag}-"):
            return tag
    return None


def _picklable(body: Any) -> Any:
    """gRPC requests carry protobuf maps that do not pickle; give the replica plain dicts."""
    if isinstance(body, InferRequest) and body.from_grpc:
        from kserve.protocol.infer_type import to_http_parameters

        for infer_input in body.inputs:
            if infer_input.parameters is not None and not isinstance(infer_input.parameters, dict):
                infer_input.parameters = to_http_parameters(infer_input.parameters)
        if body.parameters is not None and not isinstance(body.parameters, dict):
            body.parameters = to_http_parameters(body.parameters)
    return body

"""One V2 model name served from several namespaces: which namespace a request means.

KServe's V2 paths carry the model name only (``/v2/models/{name}/infer``); on a cluster the Host picks
the namespace, since Knative's domain template is ``{{.Name}}.{{.Namespace}}.{{.Domain}}``
(``config-network``'s ``domain-template``, defined by ``knative.dev/networking``: ``pkg/config/config.go``,
``DefaultDomainTemplate``, which knative.dev/serving vendors and reads) and KServe's ingress routes the
InferenceService's host ``{name}.{namespace}.{domain}`` (``kserve/pkg/controller/v1beta1/
inferenceservice/reconcilers/ingress``). The gateway does the same: a request whose ``Host`` is
``{name}.{namespace}`` or ``{name}.{namespace}.<anything>`` (``{name}`` may carry a component or tag,
as ``latest-iris-predictor.team-a.example.com``), or that carries ``x-isvc-namespace: {namespace}`` (REST
header or gRPC metadata; also ``host``/``:authority`` metadata), goes to that namespace.

Fast path first: the repository holds a model name's one ``IsvcModel`` directly (one dict lookup, no
header read); only a name served by two namespaces or more is held by a ``ByNamespace`` that reads the
request's headers, and a request that picks none of them gets a 409 naming them and how to pick.
Requests that KServe's data plane handles without headers (metadata, readiness, versioned infer) find
theirs in ``REQUEST_HEADERS``, set by the fast-path middleware and the gRPC interceptor. No Ray here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from kserve.model import InferenceModel, InferenceVerb

from local.errors import ConflictError

NAMESPACE_HEADER = "x-isvc-namespace"
HostHeaders = Mapping[str, str] | Sequence[tuple[bytes, bytes]]
REQUEST_HEADERS: ContextVar[HostHeaders | None] = ContextVar("isvc_request_headers", default=None)
"""The current request's headers (an ASGI scope's raw list, or gRPC metadata as a dict), if known."""


def _header(headers: HostHeaders, *names: str) -> str | None:
    if isinstance(headers, Mapping):
        for name in names:
            value = headers.get(name)
            if value:
                return str(value)
        return None
    wanted = {name.encode("latin-1") for name in names}
    for raw_key, raw_value in headers:
        if raw_key.lower() in wanted:
            return raw_value.decode("latin-1")
    return None


def requested_namespace(headers: HostHeaders | None, services: Mapping[str, str]) -> str | None:
    """The namespace among ``services`` (namespace -> service name) that ``headers`` ask for, if any."""
    if headers is None:
        return None
    asked = _header(headers, NAMESPACE_HEADER)
    if asked is not None:
        return asked if asked in services else None
    host = _header(headers, "host", ":authority")
    if host is None:
        return None
    labels = host.rsplit(":", 1)[0].lower().split(".") if not host.startswith("[") else []
    if len(labels) >= 2 and labels[1] in services and services[labels[1]] in labels[0]:
        return labels[1]
    return None


class ByNamespace(InferenceModel):
    """The model under a name that several namespaces serve: each request goes to the one it asks for."""

    def __init__(self, name: str, models: Mapping[str, Any]):
        super().__init__(name)
        self.models = dict(models)  # namespace -> IsvcModel
        self._services = {namespace: model.service for namespace, model in self.models.items()}
        self.service = " / ".join(f"{ns}/{model.service}" for ns, model in sorted(self.models.items()))

    @property
    def ready(self) -> bool:
        return any(model.ready for model in self.models.values())

    @ready.setter
    def ready(self, value: bool) -> None:  # InferenceModel.__init__ sets it; readiness is the members'
        pass

    def choose(self, headers: HostHeaders | None = None) -> Any:
        """The namespace's model the request asks for, else a 409 that says how to ask."""
        namespace = requested_namespace(headers if headers is not None else REQUEST_HEADERS.get(), self._services)
        if namespace is None:
            served = ", ".join(f"{model.service!r} in {ns!r}" for ns, model in sorted(self.models.items()))
            example = next(iter(sorted(self.models)))
            raise ConflictError(
                f"model {self.name!r} is served by {served}: pick one with the Host "
                f"'{self._services[example]}.{example}' (name.namespace[.domain]) or the header "
                f"{NAMESPACE_HEADER}: {example}"
            )
        return self.models[namespace]

    def serves_revision(self, revision: str) -> bool:
        return bool(self.choose().serves_revision(revision))

    async def __call__(
        self,
        body: Any,
        headers: dict[str, str] | None = None,
        verb: InferenceVerb = InferenceVerb.PREDICT,
        pinned_revision: str | None = None,
    ) -> tuple[Any, dict[str, str]]:
        model = self.choose(headers)
        response: tuple[Any, dict[str, str]] = await model(body, headers, verb, pinned_revision)
        return response

    async def infer_rest(
        self, protocol: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        answer: tuple[int, bytes, dict[str, str]] = await self.choose(headers).infer_rest(protocol, body, headers)
        return answer

    async def get_input_types(self) -> list[dict[str, Any]]:
        return list(await self.choose().get_input_types())

    async def get_output_types(self) -> list[dict[str, Any]]:
        return list(await self.choose().get_output_types())


def repository_entry(name: str, models: Iterable[Any]) -> Any:
    """What the model repository holds under ``name``: the one model, or a ``ByNamespace`` of several."""
    by_namespace = {model.namespace: model for model in models}
    if len(by_namespace) == 1:
        return next(iter(by_namespace.values()))
    return ByNamespace(name, by_namespace)

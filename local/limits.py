"""How long a request may wait for a revision, and how many may wait: Knative's bounds, as Ray's options.

Knative bounds what waits for a revision in the request path, and KServe's component ``timeout`` bounds
how long a request may take (``ComponentExtensionSpec.TimeoutSeconds``, ``json:"timeout"``, in KServe's
``pkg/apis/serving/v1beta1/component.go``; its ksvc reconciler writes it to the revision's
``timeoutSeconds`` and ``responseStartTimeoutSeconds``: ``reconcilers/knative/ksvc_reconciler.go``):

* **queue-proxy**, in every pod: a breaker lets ``containerConcurrency`` requests through at once and
  queues ``10 * containerConcurrency`` more, "to allow the autoscaler time to react"
  (``pkg/queue/sharedmain/main.go: buildBreaker``); beyond that it answers 503 ``pending request queue
  full`` (``pkg/queue/breaker.go: ErrRequestQueueFull``, ``pkg/queue/handler.go: ProxyHandler``). With
  ``containerConcurrency: 0`` the pod has no breaker.
* **the activator**, in the path while a revision is at zero or short of burst capacity: a breaker per
  revision with a queue of 10,000 (``pkg/activator/net/throttler.go: breakerQueueDepth``), same 503.
* **the revision timeout**: queue-proxy and the activator both wrap the request in a timeout handler
  (``pkg/http/handler/timeout.go``: ``NewTimeoutHandler``) that answers 504 once ``timeoutSeconds`` have
  passed, waiting in the queue included. The body is each one's own text: queue-proxy's ``request
  timeout`` (``pkg/queue/sharedmain/handlers.go``), the activator's ``activator request timeout``
  (``cmd/activator/main.go``). The kit answers as queue-proxy does (``local.errors.RevisionTimeoutError``,
  "request timeout: ..."), whether or not the revision was at zero. Default 300 s, at
  most 600 s unless the cluster raises ``max-revision-timeout-seconds`` (``pkg/apis/config/defaults.go``,
  ``pkg/apis/serving/v1/revision_validation.go: validateTimeoutSeconds``).

Locally the gateway is the one caller of each revision and holds its queue: Ray Serve's
``max_queued_requests`` counts the requests "queued at each caller" that no replica has taken yet
(``ray/serve/_private/config.py``; ``router.py: wrap_request_assignment`` raises ``BackPressureError``
beyond it), while each replica takes ``max_ongoing_requests = containerConcurrency``. So a revision may
queue what its pods together would queue at most::

    max_queued_requests = 10 * containerConcurrency * maxReplicas    (containerConcurrency > 0)
    max_queued_requests = 10,000                                       (containerConcurrency 0: the activator's)

with ``maxReplicas`` as the planner bounds it (``maxReplicas``, or the local cap when it is 0).

Pure: no Ray, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.errors import SpecError

QUEUE_DEPTH_PER_SLOT = 10  # queue-proxy: queueDepth = 10 * containerConcurrency
ACTIVATOR_QUEUE_DEPTH = 10_000  # activator: breakerQueueDepth
DEFAULT_TIMEOUT_S = 300  # config-defaults revision-timeout-seconds
MAX_TIMEOUT_S = 600  # config-defaults max-revision-timeout-seconds


@dataclass(frozen=True)
class RequestLimits:
    """The bounds of one revision: requests waiting for a replica, and seconds per request."""

    max_queued_requests: int
    timeout_s: float


def request_limits(container_concurrency: int, max_replicas: int, timeout: int | None, where: str) -> RequestLimits:
    """The limits of a component revision from its spec (``where``: ``spec.predictor``, for errors)."""
    if timeout is not None and timeout > MAX_TIMEOUT_S:
        raise SpecError(
            f"{where}.timeout: {timeout} is above Knative's max-revision-timeout-seconds ({MAX_TIMEOUT_S}); "
            "a cluster rejects it unless its config-defaults raise that bound"
        )
    if container_concurrency > 0:
        queued = QUEUE_DEPTH_PER_SLOT * container_concurrency * max(max_replicas, 1)
    else:
        queued = ACTIVATOR_QUEUE_DEPTH
    return RequestLimits(max_queued_requests=queued, timeout_s=float(timeout or DEFAULT_TIMEOUT_S))

"""The environment Ray and Ray Serve read when they start: the kit's settings for them, in one place.

Ray Serve reads its settings from the environment when ``ray.serve`` is first imported, and every Ray
process the head starts inherits the environment of the process that started it. So these are set
with ``os.environ.setdefault`` (a value the user set wins) before Ray starts (``RayRuntime.start``)
and, in a test session whose process is both the driver and the gateway, before any test imports
``ray.serve`` (``tests/conftest.py``). Each setting says why, with what was measured here.
Imports neither ``ray`` nor the gateway.
"""

from __future__ import annotations

import os

PRELOAD_ENV = "ISVC_PRELOAD_MODULES"
HOP_HEADROOM_BYTES = 1 << 20
RAY_ENV_DEFAULTS = {
    "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0",
    # Handle calls over gRPC, user code and router on the replica's loop: halves a handle hop here
    # (measured 4.1 -> 2.0 ms from the gateway to a predictor replica).
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    # Ray starts workers at nice 15; replicas are the serving path here, not background work.
    "RAY_worker_niceness": "0",
    # (Autoscaling metrics are pushed every AutoscalingConfig.metrics_interval_s, 1 s: see local.autoscaling;
    # RAY_SERVE_*_AUTOSCALING_METRIC_PUSH_INTERVAL_S are defined but never read in Ray 2.60.)
    # Serve's own Prometheus counters are flushed from a cache once a second instead of ten times: one
    # wake-up per router and per replica less every 100 ms; the kit exports its own metrics.
    "RAY_SERVE_METRICS_EXPORT_INTERVAL_MS": "1000",
    # A handle trusts the queue lengths its replicas last reported for 5 minutes instead of 10 s: the
    # first request after an idle spell does not wait for a probe call (replicas still reject when full,
    # and each answer refreshes the cache).
    "RAY_SERVE_QUEUE_LENGTH_CACHE_TIMEOUT_S": "300",
    # Throughput-optimized Serve buffers 1,000 log records per replica: a print() in a predictor would
    # reach `isvc logs` minutes late. There is no access log, so only user output pays for this.
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1",
    # Workers import Serve, KServe and the replica code before they are needed: a replica starting
    # (scale from zero included) takes a warm worker instead of paying ~7 s of imports here.
    # local.ray_layer.preload adds scikit-learn's estimators (imported at unpickling, not by
    # predictors.sklearn) in idle workers only: a replica's constructor keeps the model load alone
    # (1.48 -> 0.15 s here) and the Serve controller does not carry them (74 MiB).
    # The applied specs' own modules (ISVC_PRELOAD_MODULES, set by ``RayRuntime(preload=...)``) are
    # imported by local.ray_layer.preload too, guarded: a user's module that fails to import must not
    # kill a worker (Ray's preload catches ImportError only).
    "RAY_preload_python_modules": "ray.serve,kserve,local.ray_layer.replica,local.ray_layer.preload",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_SERVE_LOG_TO_STDERR": "0",
    "RAY_DEDUP_LOGS": "1",
}


def apply_ray_environment() -> None:
    """``RAY_ENV_DEFAULTS`` (a value the user set wins) and the handle hop's message limit, in this process.

    Ray Serve reads most of them when ``ray.serve`` is first imported: call this before that in a
    process that is both the driver and the gateway (``isvc up`` does, through ``RayRuntime.start``;
    the test session does in its ``conftest``). A handle call is one gRPC message, 4 MiB at most by
    default in Ray 2.60: it gets room for the largest body the gateway accepts (``ISVC_MAX_BODY_BYTES``)
    and its answer, plus headers and pickling.
    """
    from predictors.limits import load_limits

    for key, value in RAY_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    hop_bytes = load_limits().max_body_bytes + HOP_HEADROOM_BYTES
    os.environ.setdefault("RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH", str(hop_bytes))

"""`isvc up`: start Ray, Serve and the gateway (HTTP and gRPC) in the foreground; stop them cleanly.

Binds 127.0.0.1 by default. The InferenceServices given with ``-f`` are applied before the first
request is accepted, so a client never meets a half-started service; Ctrl-C (or SIGTERM) stops the
servers, Serve and Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.spec import InferenceService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_GRPC_PORT = 8081
DEFAULT_SINK_PORT = 8099
DRAIN_TIMEOUT_S = 10.0


@dataclass
class GatewayOptions:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    grpc_port: int | None = DEFAULT_GRPC_PORT
    services: Sequence[tuple[str, InferenceService]] = ()  # (source file, service) to apply at start
    start_sink: bool = False
    state_path: Path | None = None
    sink_port: int = DEFAULT_SINK_PORT
    ray_address: str | None = None  # an existing Ray cluster instead of a local head
    reload: bool = False  # watch the components' code and the manifests (local.gateway.reloader)


def build_gateway(options: GatewayOptions, runtime: Any) -> tuple[Any, Any]:
    """The controller and ASGI app over an already started runtime."""
    from kserve.model_repository import ModelRepository

    from local.gateway.app import build_gateway_app
    from local.gateway.controller import Controller
    from local.revision_store import RevisionStore

    store = RevisionStore(options.state_path) if options.state_path is not None else None
    controller = Controller(runtime, ModelRepository(), f"http://{options.host}:{options.port}", store=store)
    return controller, build_gateway_app(controller)


def apply_services(
    controller: Any, services: Sequence[tuple[str, InferenceService]], log: Callable[[str], None]
) -> None:
    from local.unhonoured import summary_lines

    for path, service in services:
        started = time.monotonic()
        log(f"applying {service.name} from {path} ...")
        status = controller.apply(service)
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        log(
            f"  {service.name}: Ready={ready['status']} in {time.monotonic() - started:.1f}s"
            + (f" ({ready.get('message')})" if ready.get("message") else "")
        )
        for line in summary_lines(service):
            log(f"  {line}")


def http_server(app: Any, options: GatewayOptions) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app, host=options.host, port=options.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=5
    )
    return uvicorn.Server(config)


async def serve_gateway(
    app: Any, options: GatewayOptions, server: Any = None, after_start: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Serve HTTP (and gRPC) until the HTTP server exits (Ctrl-C, or ``server.should_exit``).

    ``after_start`` runs on the gateway's loop once the HTTP server listens (its errors are ignored).
    """
    server = server or http_server(app, options)
    tasks = [asyncio.create_task(server.serve())]
    if options.grpc_port:
        tasks.append(asyncio.create_task(_grpc_server(app, options)))
    if after_start is not None:
        tasks.append(asyncio.create_task(_after_started(server, after_start)))
    try:
        await tasks[0]
    finally:
        # Also on Ctrl-C (uvicorn re-raises the signal once it has stopped): stop gRPC, deliver the
        # inference-log events still queued, close the Ray handles while their loop still runs.
        for task in tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):  # bounded: a stuck delivery must not keep the process up
            await asyncio.wait_for(_drain(app), DRAIN_TIMEOUT_S)


async def _after_started(server: Any, action: Callable[[], Awaitable[None]]) -> None:
    while not server.started:
        await asyncio.sleep(0.02)
    with contextlib.suppress(Exception):
        await action()


async def _drain(app: Any) -> None:
    controller = getattr(app.state, "controller", None)
    if controller is None:
        return
    loggers = [record.logger for record in controller.services.values() if record.logger is not None]
    loggers += controller.take_retired_loggers()  # replaced by an apply no API call followed (--reload)
    closing = [logger.close(drain_timeout=5.0) for logger in loggers]
    await asyncio.gather(*closing, *getattr(app.state, "background_tasks", ()), return_exceptions=True)
    close_clients = getattr(controller.runtime, "close_clients", None)
    if close_clients is not None:
        await close_clients()


async def _grpc_server(app: Any, options: GatewayOptions) -> None:
    from kserve.constants.constants import MAX_GRPC_MESSAGE_LENGTH
    from kserve.protocol.grpc.server import GRPCServer

    from predictors.serving import _start_grpc

    max_bytes = app.state.limits.max_body_bytes  # ISVC_MAX_BODY_BYTES (predictors.limits), as for REST
    limits = {
        "grpc_max_send_message_length": max(MAX_GRPC_MESSAGE_LENGTH, max_bytes),
        "grpc_max_receive_message_length": max_bytes,
    }
    grpc = GRPCServer(
        options.grpc_port or DEFAULT_GRPC_PORT, app.state.dataplane, app.state.model_repository_extension, limits
    )
    await _start_grpc(grpc, options.host, max_workers=4, exception_interceptor=_kit_exception_interceptor())


def _kit_exception_interceptor() -> Any:
    """KServe's gRPC error mapping, plus the kit's own errors by their V2 status (``local.errors``)."""
    import grpc as grpc_module
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor

    from local.errors import IsvcError, grpc_code_name_of, too_large_for_ray
    from local.gateway.namespaces import REQUEST_HEADERS

    class KitExceptionToStatusInterceptor(ExceptionToStatusInterceptor):
        async def intercept(self, method: Any, request_or_iterator: Any, context: Any, method_name: str) -> Any:
            # The call's metadata, for a model name several namespaces serve (local.gateway.namespaces).
            REQUEST_HEADERS.set({item.key: item.value for item in context.invocation_metadata() or ()})
            return await super().intercept(method, request_or_iterator, context, method_name)

        async def handle_exception(self, ex: Exception, request: Any, context: Any, method_name: str) -> None:
            error = too_large_for_ray(ex)
            if isinstance(error, IsvcError):
                await context.abort(getattr(grpc_module.StatusCode, grpc_code_name_of(error)), str(error))
            await super().handle_exception(ex, request, context, method_name)

    return KitExceptionToStatusInterceptor()


def run(options: GatewayOptions, log: Callable[[str], None] = print, lock: Any = None) -> int:
    """Start Ray (a local loopback head, or ``options.ray_address``), the sink, the gateway; serve until
    a signal; stop everything started. 0 after a clean stop, 1 when serving ended otherwise.

    ``lock``: the state directory's ``InstanceLock``, already held by the caller (else taken here).
    """
    from local.lifecycle import InstanceLock, Stopper, run_loop
    from local.ray_layer.runtime import RayRuntime
    from local.revision_store import default_path

    started = time.monotonic()
    state_dir = (options.state_path or default_path()).parent
    if lock is None:
        lock = InstanceLock(state_dir)
        lock.acquire(host=options.host, port=options.port, grpc_port=options.grpc_port)
    stopper = Stopper(log)
    stopper.install()
    runtime = RayRuntime(
        address=options.ray_address, state_dir=state_dir, preload=spec_modules([s for _, s in options.services])
    )
    stopper.force_actions.append(lambda: runtime.head.kill() if runtime.head is not None else None)
    sink = None
    reloader = None
    watch = None
    code = 0
    try:
        if options.start_sink:
            sink = _start_sink(options.sink_port, log)
            stopper.force_actions.insert(0, sink.kill)
        step = time.monotonic()
        log(f"starting Ray ({'a local head' if options.ray_address is None else options.ray_address}) and Serve ...")
        runtime.start()
        stopper.reclaim()
        watch = runtime.watch(stopper.lost)  # Ray dying under us: say so and exit 1, never hang
        where = f"local head {runtime.head.address}" if runtime.head is not None else f"cluster {runtime.address}"
        log(f"Ray and Serve: {where}, loopback only, token auth, in {time.monotonic() - step:.1f}s")
        controller, app = build_gateway(options, runtime)
        if sink is not None:
            _wait_listening(sink, options.sink_port)
            controller.local_sink_url = f"http://127.0.0.1:{options.sink_port}/"
        if controller.store is not None and controller.store.services():
            stored = ", ".join(f"{ns}/{name}" for ns, name in controller.store.services())
            log(f"restoring {stored} from {controller.store.path} ...")
            controller.restore()
        apply_services(controller, options.services, log)
        if options.reload:
            from local.gateway.reloader import Reloader

            reloader = Reloader(controller, sorted({path for path, _ in options.services}), log)
            reloader.start()
        server = http_server(app, options)
        server.capture_signals = contextlib.nullcontext  # the Stopper handles signals, not uvicorn
        grpc = f"gRPC {options.host}:{options.grpc_port}" if options.grpc_port else "gRPC off"
        log(
            f"gateway at http://{options.host}:{options.port} ({grpc}), "
            f"up in {time.monotonic() - started:.1f}s; Ctrl-C stops"
        )

        async def announce() -> None:  # on the gateway's loop, where the Ray handles live
            for namespace, name in list(controller.services):
                log(await sample_request(controller, name, namespace))
            sys.stdout.flush()

        sys.stdout.flush()
        stopper.server = server
        run_loop(serve_gateway(app, options, server, after_start=announce))
        if not stopper.requested:
            code = 1  # the HTTP server ended by itself (it could not bind, or failed)
    except KeyboardInterrupt:
        pass
    except SystemExit:
        if not stopper.requested:  # Ray's own SIGTERM handler, if it ran before reclaim()
            raise
    finally:
        stopper.stopping = True  # a signal from here on stops at once
        stopper.server = None
        if watch is not None:
            watch.stop()  # from here Ray is stopped on purpose
        if reloader is not None:
            reloader.stop()
        with contextlib.suppress(Exception):
            log("stopping Serve and Ray ...")
        try:
            runtime.shutdown(ray_gone=stopper.lost_reason is not None)
        finally:
            if sink is not None:
                _stop_process(sink)
            lock.release()
            stopper.exit_if_lost()
    return code


def _start_sink(port: int, log: Callable[[str], None]) -> Any:
    """``isvc sink`` as a child process: where the local loggers send their events by default."""
    import subprocess

    log(f"starting the event sink at http://127.0.0.1:{port}/ (events: isvc events NAME) ...")
    # Same process group: a Ctrl-C in the terminal reaches it too; run() also stops it on exit.
    return subprocess.Popen([sys.executable, "-m", "local.cli.main", "sink", "--port", str(port)])


def _wait_listening(process: Any, port: int, timeout_s: float = 20.0) -> None:
    """Return once ``process`` accepts connections on loopback ``port``; fail if it exits first."""
    import socket

    from local.errors import ConflictError

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConflictError(f"the event sink exited with code {process.returncode} (port {port})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise ConflictError(f"the event sink did not listen on 127.0.0.1:{port} within {timeout_s:.0f}s")


def _stop_process(process: Any, timeout_s: float = 10.0) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def spec_modules(services: Sequence[Any]) -> list[str]:
    """The entrypoint modules the components of ``services`` run (model formats map to the kit's predictors)."""
    from local.errors import SpecError
    from local.spec import entrypoint_of

    modules: list[str] = []
    for service in services:
        for name, component in service.components().items():
            try:
                module = entrypoint_of(component, f"spec.{name}", service.name).module
            except SpecError:
                continue  # reported when it is applied
            if module not in modules:
                modules.append(module)
    return modules


async def sample_request(controller: Any, name: str, namespace: str | None = None) -> str:
    """The request to paste for service ``name``, shaped by its model's V2 metadata (asked of a replica)."""
    from local.samples import curl_example

    model = controller.get(name, namespace).model
    try:
        inputs = await asyncio.wait_for(model.get_input_types(), timeout=10)
    except Exception:  # no ready revision (at zero, failed): the metadata URL instead
        inputs = []
    return f"try:\n  {curl_example(controller.base_url, model.name, inputs)}"

"""``guidance serve``: the API under uvicorn, one process per worker.

Everything the service needs is checked here, in the parent, before it listens: settings,
knowledge, the engine, the audit destination and the port. A problem is one JSON line on
standard error and exit status 2, never a traceback and never a service that answers without
being able to give audited guidance. Standard output stays the audit trail's.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import resource
import socket

import msgspec
import structlog
import uvicorn
from uvicorn.supervisors import Multiprocess

from service.http.front_door import FrontDoorProtocol
from service.logs import configure_command_logging, startup_failed, uvicorn_log_config
from service.observability.metrics_dir import prepare_metrics_dir, remove_metrics_dir
from service.settings import ConfigurationError, Settings
from service.startup import check_can_serve

STARTUP_FAILED = 2


def serve(args: argparse.Namespace) -> int:
    configure_command_logging()
    log = structlog.get_logger("guidance.serve")
    try:
        settings = _with_arguments(Settings.from_env(), args)
        packs = check_can_serve(settings)
        listener = _bind(settings.host, settings.port)
        if settings.tracing:
            _check_tracing()
        # Several workers add up their metrics through files; the folder is named before they start.
        metrics_dir = prepare_metrics_dir(os.environ, settings.workers)
    except ConfigurationError as error:
        startup_failed(error.setting, error.message)
        return STARTUP_FAILED
    except Exception as error:  # the line must stay one line, whatever went wrong
        startup_failed(None, f"{type(error).__name__}: {error}")
        return STARTUP_FAILED
    # The workers build the app from the environment: they must see what the command line set.
    os.environ.update(HOST=settings.host, PORT=str(settings.port), WORKERS=str(settings.workers))
    descriptors = _raise_descriptor_limit()
    log.info(
        "listening",
        url=f"http://{_url_host(settings.host)}:{settings.port}",
        workers=settings.workers,
        packs=[f"{p.id} {p.version}" for p in packs],
        open_files_limit=descriptors,
    )
    config = uvicorn.Config(
        "service.app:create_app",
        factory=True,
        workers=settings.workers,
        loop="uvloop",
        http=FrontDoorProtocol,  # httptools with the service's limits (service/http/front_door.py)
        ws="none",
        lifespan="on",
        access_log=False,  # request lines would repeat what the audit trail records, with less care
        log_config=uvicorn_log_config(),
        server_header=False,
        proxy_headers=False,  # nothing here depends on the client's address
        timeout_keep_alive=settings.keepalive_timeout,
        backlog=2048,
    )
    try:
        if settings.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down gracefully
        log.info("stopped", signal="SIGINT")
    finally:
        remove_metrics_dir(metrics_dir)
    return 0


def _check_tracing() -> None:
    """Build (and drop) the tracer provider the workers will build, so that an ``OTEL_*`` value
    the SDK refuses stops the start here, as one line, not each worker in turn."""
    complaints: list[str] = []

    class _Complaints(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            complaints.append(record.getMessage())

    sdk_log = logging.getLogger("opentelemetry")
    handler, propagate = _Complaints(logging.WARNING), sdk_log.propagate
    sdk_log.addHandler(handler)
    sdk_log.propagate = False  # its tracebacks are not for standard error
    try:
        from service.observability.tracing import tracer_provider_from_env

        tracer_provider_from_env().shutdown()
    except ValueError as error:
        raise ConfigurationError("OTEL_*", f"OpenTelemetry refused its settings: {error}") from None
    finally:
        sdk_log.removeHandler(handler)
        sdk_log.propagate = propagate
    if complaints:  # a value it could not read and replaced with its default: refused, not guessed at
        raise ConfigurationError("OTEL_*", f"OpenTelemetry could not read its settings: {complaints[0]}")


def _with_arguments(settings: Settings, args: argparse.Namespace) -> Settings:
    changes = {}
    if args.host:
        changes["host"] = args.host
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise ConfigurationError("--port", "--port must be a TCP port from 1 to 65535")
        changes["port"] = args.port
    if args.workers is not None:
        if not 1 <= args.workers <= 64:
            raise ConfigurationError("--workers", "--workers must be from 1 to 64")
        changes["workers"] = args.workers
    return msgspec.structs.replace(settings, **changes) if changes else settings


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is reported plainly."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        message = f"HOST `{host}` is not an address or name this machine knows"
        raise ConfigurationError("HOST", message) from None
    family, kind, proto, _, address = infos[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                "PORT",
                f"port {port} on {host} is already in use (another program, or another copy of this "
                "service); stop it or set PORT to a free port",
            ) from None
        if error.errno == errno.EACCES:
            message = f"port {port} needs privileges this user does not have"
            raise ConfigurationError("PORT", message) from None
        if error.errno == errno.EADDRNOTAVAIL:
            raise ConfigurationError("HOST", f"HOST `{host}` is not an address of this machine") from None
        raise ConfigurationError("HOST", f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.set_inheritable(True)
    return listener


def _raise_descriptor_limit() -> int:
    """Soft limit up to the hard one: each connection holds a descriptor, and a low soft limit
    lets a few hundred idle clients starve the service of them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

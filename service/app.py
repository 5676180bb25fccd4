"""The Litestar application. ``create_app`` only wires: knowledge, engine, audit, routes, plugins,
metrics, traces."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.plugins.structlog import StructlogPlugin

from service import __version__
from service.audit.sinks import AuditSink, AuditWriteError, open_audit_sink
from service.audit.trail import AuditTrail
from service.auth.mode import auth_mode
from service.guidance.service import Guidance
from service.http.authentication import AuthenticationMiddleware, cors_config, rate_limit_config
from service.http.cds_hooks import CdsHooksController
from service.http.docs_page import DocsPagePlugin, OpenAPIDocumentPlugin
from service.http.evaluate import EvaluationController
from service.http.headers import add_response_headers
from service.http.health import health, ready
from service.http.knowledge import KnowledgeController
from service.http.metrics import MetricsController, prometheus_config
from service.http.openapi import build_document
from service.http.problems import internal_error, problem_details_config
from service.http.status import status
from service.logs import litestar_structlog_config
from service.observability.metrics import Metrics
from service.observability.status import StatusReport
from service.settings import Settings, settings_from_env
from service.startup import check_authentication, load_knowledge

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from service.observability.tracing import Tracing

API_DESCRIPTION = """\
Prompts for safeguarding practitioners, drawn from the learning of published child
safeguarding case reviews. A case-recording system sends the facts of a case; the service
answers with short prompts (questions and suggestions), each quoting the learning point it
comes from and listing the facts that made it appear.

It advises; it never decides. There are no risk scores, and no language model: every prompt
comes from a rule in a knowledge pack that people can read (`GET /v1/rules`).
"""

log = structlog.get_logger("guidance")


def create_app(
    settings: Settings | None = None,
    audit_sink: AuditSink | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Litestar:
    """The app; ``audit_sink`` and ``tracer_provider`` replace what the settings name (tests)."""
    settings = settings or settings_from_env()
    verifier = check_authentication(settings)  # refuses, as `guidance serve` does, what it refuses
    mode = auth_mode(settings)
    packs = load_knowledge(settings)
    loaded_at = time.time()
    sink = audit_sink or open_audit_sink(settings)
    audit = AuditTrail(sink, settings.audit_key, packs)
    guidance = Guidance(packs, audit, settings.link_settings)

    def open_audit_chain() -> None:
        try:
            audit.start()
        except AuditWriteError as error:
            log.error("audit_unavailable_at_startup", error=str(error))

    # Outermost first: every request is counted, refusals too; the caller is known before the
    # rate limit counts it. The OpenTelemetry middleware, if any, Litestar puts outside them all.
    middleware: list[Any] = [
        prometheus_config().middleware,
        AuthenticationMiddleware(mode, verifier, settings.public_url),
    ]
    rate_limit = rate_limit_config(settings)
    if rate_limit is not None:
        middleware.append(rate_limit.middleware)
    tracing = _tracing(settings, tracer_provider, packs)
    before_request = None
    on_shutdown: list[Any] = []
    if tracing is not None:
        from service.http.tracing import name_span_after_route, opentelemetry_middleware

        middleware.append(opentelemetry_middleware(tracing.provider))
        before_request = name_span_after_route
        if tracer_provider is None:
            on_shutdown.append(tracing.shutdown)  # flush what the batch exporter still holds

    app = Litestar(
        route_handlers=[
            EvaluationController,
            KnowledgeController,
            CdsHooksController,
            health,
            ready,
            status,
            MetricsController,
        ],
        middleware=middleware,
        cors_config=cors_config(settings),
        state=State(
            {
                "guidance": guidance,
                "audit_retry_after": settings.audit_retry_after,
                "metrics": Metrics(packs),
                "tracing": tracing,
                "status_report": StatusReport(settings, mode, packs, loaded_at),
            }
        ),
        on_startup=[open_audit_chain],
        on_shutdown=on_shutdown,
        before_request=before_request,
        before_send=[add_response_headers],
        request_max_body_size=settings.max_body_bytes,
        plugins=[
            ProblemDetailsPlugin(problem_details_config),
            StructlogPlugin(litestar_structlog_config()),
        ],
        exception_handlers={500: internal_error, Exception: internal_error},
        openapi_config=OpenAPIConfig(
            title="Safeguarding guidance service",
            version=__version__,
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=[DocsPagePlugin(), OpenAPIDocumentPlugin()],
        ),
    )
    document = build_document(app, [rule.id for rule in guidance.evaluator.rules], [p.id for p in packs])
    app.state.openapi_document = msgspec.json.encode(document)
    return app


def _tracing(settings: Settings, provider: TracerProvider | None, packs: list[Any]) -> Tracing | None:
    """Traces when asked for; OpenTelemetry is not even imported otherwise."""
    if provider is None and not settings.tracing:
        return None
    from service.observability.tracing import Tracing, tracer_provider_from_env

    return Tracing(provider or tracer_provider_from_env(), packs)

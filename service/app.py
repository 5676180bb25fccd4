"""The Litestar application. ``create_app`` only wires: knowledge, engine, audit, routes, plugins."""

from __future__ import annotations

from typing import Any

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
from service.http.openapi import build_document
from service.http.problems import internal_error, problem_details_config
from service.logs import litestar_structlog_config
from service.settings import Settings, settings_from_env
from service.startup import check_authentication, load_knowledge

API_DESCRIPTION = """\
Prompts for safeguarding practitioners, drawn from the learning of published child
safeguarding case reviews. A case-recording system sends the facts of a case; the service
answers with short prompts (questions and suggestions), each quoting the learning point it
comes from and listing the facts that made it appear.

It advises; it never decides. There are no risk scores, and no language model: every prompt
comes from a rule in a knowledge pack that people can read (`GET /v1/rules`).
"""

log = structlog.get_logger("guidance")


def create_app(settings: Settings | None = None, audit_sink: AuditSink | None = None) -> Litestar:
    settings = settings or settings_from_env()
    verifier = check_authentication(settings)  # refuses, as `guidance serve` does, what it refuses
    packs = load_knowledge(settings)
    sink = audit_sink or open_audit_sink(settings)
    audit = AuditTrail(sink, settings.audit_key, packs)
    guidance = Guidance(packs, audit, settings.link_settings)

    def open_audit_chain() -> None:
        try:
            audit.start()
        except AuditWriteError as error:
            log.error("audit_unavailable_at_startup", error=str(error))

    # Outermost first: the caller is known before the rate limit counts it.
    middleware: list[Any] = [AuthenticationMiddleware(auth_mode(settings), verifier, settings.public_url)]
    rate_limit = rate_limit_config(settings)
    if rate_limit is not None:
        middleware.append(rate_limit.middleware)

    app = Litestar(
        route_handlers=[EvaluationController, KnowledgeController, CdsHooksController, health, ready],
        middleware=middleware,
        cors_config=cors_config(settings),
        state=State(
            {
                "guidance": guidance,
                "audit_retry_after": settings.audit_retry_after,
            }
        ),
        on_startup=[open_audit_chain],
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

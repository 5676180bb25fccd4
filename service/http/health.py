"""``GET /health`` (the process is alive) and ``GET /ready`` (knowledge loaded, engine answering,
audit trail taking records)."""

from __future__ import annotations

from litestar import Request, get

from service.facts.vocabulary import Facts
from service.http.problems import problem
from service.http.schemas import Health, Readiness
from service.http.state import guidance_of, knowledge_refs


@get("/health", tags=["Operations"], summary="Liveness")
async def health() -> Health:
    return Health(status="ok")


@get("/ready", tags=["Operations"], summary="Readiness")
async def ready(request: Request) -> Readiness:
    guidance = guidance_of(request)
    try:
        guidance.evaluator.evaluate(Facts())
    except Exception:
        detail = "The rules engine is not answering."
        raise problem(503, "not-ready", "Not ready", detail, reason="engine-not-answering") from None
    audit = guidance.audit.readiness()
    if not audit.ready:
        detail = f"The audit trail cannot take a record: {audit.detail}"
        raise problem(503, "not-ready", "Not ready", detail, reason=audit.reason)
    return Readiness(status="ready", knowledge=knowledge_refs(request))

"""``GET /v1/status``: what this worker runs and how its audit trail stands (no secret)."""

from __future__ import annotations

from litestar import Request, get

from service.http.state import guidance_of
from service.observability.status import ServiceStatus


@get(
    "/v1/status",
    tags=["Operations"],
    summary="Status of the worker process that answers",
    description=(
        "The service's version; the knowledge packs loaded, with version, digest and load time; the "
        "audit trail (where it goes, whether it takes records, the last failure and its reason, the "
        "current hash chain and its last seq); the configured limits; the uptime. Each worker "
        "process answers for itself. It names no secret."
    ),
)
async def status(request: Request) -> ServiceStatus:
    state = request.app.state
    return state.status_report.status(guidance_of(request).audit.status(), state.tracing is not None)

"""What the handlers share, kept on the application's state by ``create_app``."""

from __future__ import annotations

from litestar import Request

from service.evaluation.guidance import Guidance
from service.http.schemas import KnowledgeRef


def guidance_of(request: Request) -> Guidance:
    return request.app.state.guidance


def knowledge_refs(request: Request) -> list[KnowledgeRef]:
    return request.app.state.knowledge_refs

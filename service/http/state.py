"""What the handlers share, kept on the application's state by ``create_app``."""

from __future__ import annotations

from litestar import Request

from service.guidance.answers import KnowledgeRef
from service.guidance.service import Guidance


def guidance_of(request: Request) -> Guidance:
    return request.app.state.guidance


def knowledge_refs(request: Request) -> list[KnowledgeRef]:
    return guidance_of(request).knowledge()

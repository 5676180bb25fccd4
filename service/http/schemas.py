"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.guidance.answers import KnowledgeRef


class LinkView(Struct, kw_only=True, omit_defaults=True):
    label: str
    url: str | None = None
    setting: Annotated[str | None, Meta(description="Set per deployment with GUIDANCE_LINK_<SETTING>.")] = (
        None
    )


class RuleView(Struct, kw_only=True):
    id: str
    pack: str
    learning_point: int
    kind: str
    indicator: str
    summary: str
    detail: str
    reason: str
    quote: str
    condition: Annotated[str, Meta(description="When the rule shows its prompt, in words.")]
    links: list[LinkView]


class PackView(Struct, kw_only=True, omit_defaults=True):
    id: str
    title: str
    version: str
    digest: str
    source: Annotated[str, Meta(description="The published document the pack's learning comes from.")]
    issued_by: str
    published: str
    rules: int
    review_by: Annotated[
        date | None, Meta(description="When the pack is next reviewed against practice and the law.")
    ] = None
    review_overdue: Annotated[bool, Meta(description="Present, and true, once `review_by` has passed.")] = (
        False
    )
    source_url: Annotated[str | None, Meta(description="Where the source document is published.")] = None
    licence: Annotated[
        str | None, Meta(description="On what terms the pack, and what it quotes, may be used.")
    ] = None


class Health(Struct, kw_only=True):
    status: Literal["ok"]


class Readiness(Struct, kw_only=True):
    status: Literal["ready"]
    knowledge: list[KnowledgeRef]

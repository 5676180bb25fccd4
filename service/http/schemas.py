"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.evaluation.prompts import Prompt
from service.guidance.requests import UUID_PATTERN, Outcome


class KnowledgeRef(Struct, kw_only=True):
    """Which knowledge produced the answer: a pack's id, version and content digest."""

    pack: Annotated[str, Meta(examples=["harry-2019"])]
    version: Annotated[str, Meta(examples=["1.0.0"])]
    digest: Annotated[
        str, Meta(description="SHA-256 over the pack's files.", pattern=r"^sha256:[0-9a-f]{64}$")
    ]


class EvaluationResponse(Struct, kw_only=True):
    evaluation_id: Annotated[
        str, Meta(description="Quote it when sending feedback on a prompt.", pattern=UUID_PATTERN)
    ]
    knowledge: Annotated[list[KnowledgeRef], Meta(description="Every pack consulted.")]
    prompts: Annotated[
        list[Prompt],
        Meta(description="Most prominent first, then by learning point, then by id. Often empty."),
    ]


class FeedbackReceipt(Struct, kw_only=True):
    evaluation_id: str
    prompt_id: str
    outcome: Outcome


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


class PackView(Struct, kw_only=True):
    id: str
    title: str
    version: str
    digest: str
    source: Annotated[str, Meta(description="The published document the pack's learning comes from.")]
    issued_by: str
    published: str
    rules: int


class Health(Struct, kw_only=True):
    status: Literal["ok"]


class Readiness(Struct, kw_only=True):
    status: Literal["ready"]
    knowledge: list[KnowledgeRef]

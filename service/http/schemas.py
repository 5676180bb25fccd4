"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.evaluation.prompts import Prompt
from service.facts.synthetic import HARRY_PRE_BIRTH
from service.facts.vocabulary import Facts

CASE_REF_MAX = 128
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class EvaluationRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    facts: Annotated[
        Facts,
        Meta(
            description="What is known about the case. Leave out, or send null for, what is not known.",
            examples=[HARRY_PRE_BIRTH],
        ),
    ]
    case_ref: (
        Annotated[
            str,
            Meta(
                max_length=CASE_REF_MAX,
                description=(
                    "Your own opaque reference for the case. Never stored or logged: the audit "
                    "trail keeps only a keyed hash of it."
                ),
                examples=["CASE-0042"],
            ),
        ]
        | None
    ) = None


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


Outcome = Literal["accepted", "not_applicable", "already_done", "disagree"]


class FeedbackRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """What the practitioner did with a prompt (maps onto CDS Hooks feedback)."""

    evaluation_id: Annotated[str, Meta(pattern=UUID_PATTERN, description="From the evaluation's response.")]
    prompt_id: Annotated[str, Meta(max_length=200, examples=["harry-2019/lp7-capacity-assessment"])]
    outcome: Annotated[
        Outcome,
        Meta(
            description=(
                "`accepted` (CDS Hooks: accepted); `not_applicable`, `already_done` and "
                "`disagree` are override reasons (CDS Hooks: overridden)."
            )
        ),
    ]
    comment: (
        Annotated[
            str,
            Meta(
                max_length=2000,
                description="Free text for your own records. Never stored or logged.",
            ),
        ]
        | None
    ) = None


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

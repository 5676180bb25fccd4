"""What the guidance service answers with: the prompts, the knowledge that gave them, the ids
to quote back. The HTTP API and ``guidance evaluate --json`` both answer with these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from msgspec import Meta, Struct

from service.evaluation.prompts import Prompt
from service.guidance.requests import UUID_PATTERN, Outcome
from service.packs.model import Pack


class KnowledgeRef(Struct, kw_only=True, omit_defaults=True):
    """Which knowledge produced the answer: a pack's id, version and content digest."""

    pack: Annotated[str, Meta(examples=["harry-2019"])]
    version: Annotated[str, Meta(examples=["1.0.0"])]
    digest: Annotated[
        str, Meta(description="SHA-256 over the pack's files.", pattern=r"^sha256:[0-9a-f]{64}$")
    ]
    review_overdue: Annotated[
        bool,
        Meta(description="Present, and true, only once the pack's review date has passed."),
    ] = False


def knowledge_refs(packs: Sequence[Pack], today: date) -> list[KnowledgeRef]:
    return [
        KnowledgeRef(
            pack=p.id, version=p.version, digest=p.digest, review_overdue=p.spec.review_overdue(today)
        )
        for p in packs
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

"""What a caller sends: the request bodies of the API, which ``guidance evaluate`` reads too."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.vocabulary import Facts
from service.guidance.decoding import name_pattern

CASE_REF_MAX = 128
# `(?!\n)$`, not `$`: Python's `$` also matches before a final newline, so "…\n" would pass.
UUID_PATTERN = name_pattern(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?!\n)$",
    "a UUID in lower case, such as d6905d70-e5a5-461b-81a6-f74869561ca3",
)
# Printable text only: control characters (a newline included) have no place in a reference.
OPAQUE_TEXT_PATTERN = name_pattern(r"^[^\x00-\x1f\x7f]*(?!\n)$", "printable text, with no control characters")


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
                min_length=1,
                max_length=CASE_REF_MAX,
                pattern=OPAQUE_TEXT_PATTERN,
                description=(
                    "Your own opaque reference for the case. Never stored or logged: the audit "
                    "trail keeps only a keyed hash of it."
                ),
                examples=["CASE-0042"],
            ),
        ]
        | None
    ) = None


Outcome = Literal["accepted", "not_applicable", "already_done", "disagree"]


class FeedbackRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """What the practitioner did with a prompt (maps onto CDS Hooks feedback)."""

    evaluation_id: Annotated[
        str,
        Meta(
            pattern=UUID_PATTERN,
            description="From the evaluation's response.",
            examples=["d6905d70-e5a5-461b-81a6-f74869561ca3"],
        ),
    ]
    prompt_id: Annotated[
        str,
        Meta(
            max_length=200,
            description="The prompt's `id`, one of the loaded rules.",
            examples=["harry-2019/lp7-capacity-assessment"],
        ),
    ]
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

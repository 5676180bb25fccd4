"""Prompts: what the service answers with, shaped for display in a case-recording system."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from service.packs.model import SUMMARY_MAX_CHARS, Indicator, Kind

FactValue = bool | int | str | list[str] | None


class Source(Struct, kw_only=True):
    """Where the learning comes from, with the learning point's own words."""

    label: Annotated[str, Meta(description="Short citation of the source document.")]
    briefing: Annotated[str, Meta(description="Title of the published briefing or review.")]
    learning_point: Annotated[int, Meta(description="Number of the learning point in the source.")]
    quote: Annotated[str, Meta(description="The learning point's text, quoted word for word.")]


class Because(Struct, kw_only=True):
    """One fact that made the prompt appear. ``null`` means the fact is not known."""

    path: Annotated[
        str,
        Meta(
            description="Where the fact sits in the request, or the name of a count the pack derives.",
            examples=["parents[0].care_leaver", "risk_indicators"],
        ),
    ]
    value: Annotated[FactValue, Meta(description="Its value; null when not known.")]


class Link(Struct, kw_only=True):
    label: str
    url: str


class Prompt(Struct, kw_only=True, omit_defaults=True):
    """A suggestion or question for the practitioner, with why it appeared. Never a verdict."""

    id: Annotated[
        str,
        Meta(
            description="Stable id of the rule, namespaced by pack.",
            examples=["harry-2019/lp7-capacity-assessment"],
        ),
    ]
    learning_point: Annotated[int, Meta(description="The learning point the prompt comes from.")]
    kind: Annotated[Kind, Meta(description="What the practitioner is invited to do.")]
    indicator: Annotated[Indicator, Meta(description="How prominently to show it.")]
    summary: Annotated[
        str,
        Meta(
            max_length=SUMMARY_MAX_CHARS,
            description=f"Plain English, at most {SUMMARY_MAX_CHARS} characters.",
        ),
    ]
    detail: Annotated[str, Meta(description="More guidance, as Markdown.")]
    source: Source
    because: Annotated[list[Because], Meta(description="The facts that made it appear.")]
    reason: Annotated[str, Meta(description="One sentence saying why it appeared.")]
    links: list[Link] | None = None

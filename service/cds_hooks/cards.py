"""A prompt as a CDS Hooks card, and a card's feedback as the audit trail's outcome.

A card says everything a generic CDS client can show without knowing this service: its
summary, the prompt's detail with why it appeared and the learning it comes from, the pack as
its source (``topic``: the pack's URI and the rule id), one suggestion to accept (with a uuid,
so a client can report ``accepted``), and coded override reasons. What a client that knows this
service may want (the learning point, the quote, the facts behind the prompt) is under one
reverse-domain ``extension`` key, with a fact that is not known written as ``known: false``.
"""

from __future__ import annotations

from typing import Any

from service.cds_hooks.model import (
    OVERRIDE_OUTCOMES,
    OVERRIDE_REASONS,
    Card,
    CardLink,
    CardSource,
    Coding,
    Suggestion,
)
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

HOOK = "uk.safeguarding-guidance.case-facts-review"
EXTENSION = "uk.safeguarding-guidance.prompt"
PACKS_URI = "https://safeguarding-guidance.example/packs/"
_SUGGESTION_LABELS = {
    "ask": "Asked, and the answers recorded",
    "check": "Checked",
    "consider": "Considered",
    "escalate": "Escalated",
    "inform": "Informed",
}


def pack_uri(pack_id: str) -> str:
    """The pack as a code system: the rule ids are its codes."""
    return PACKS_URI + pack_id


def override_outcome(reason: Coding | None) -> str:
    """The audit trail's outcome for an overridden card: its reason's (only the reasons offered
    are taken, see ``OverrideReason``), else ``overridden``."""
    if reason is None:
        return "overridden"
    return OVERRIDE_OUTCOMES[(reason.system, reason.code)]


def card(prompt: Prompt, pack: Pack, card_id: str, suggestion_id: str) -> Card:
    """The prompt as a card named ``card_id`` (the evaluation record names it too)."""
    rule_id = prompt.id.partition("/")[2]
    source = prompt.source
    detail = (
        f"{prompt.detail}\n\n"
        f"**Why this appeared:** {prompt.reason}\n\n"
        f"**From {source.label}, learning point {source.learning_point}:**\n\n"
        + "\n".join(f"> {line}" if line else ">" for line in source.quote.splitlines())
    )
    return Card(
        uuid=card_id,
        summary=prompt.summary,
        indicator=prompt.indicator,
        detail=detail,
        source=CardSource(
            label=source.label,
            url=pack.spec.source_url,
            topic=Coding(system=pack_uri(pack.id), code=rule_id, display=prompt.summary),
        ),
        suggestions=[Suggestion(label=_SUGGESTION_LABELS[prompt.kind], uuid=suggestion_id)],
        selectionBehavior="at-most-one",
        overrideReasons=[coding for coding, _ in OVERRIDE_REASONS],
        links=[CardLink(label=link.label, url=link.url, type="absolute") for link in prompt.links]
        if prompt.links
        else None,
        extension={EXTENSION: _extension(prompt)},
    )


def _cited(path: str, value: Any) -> dict[str, Any]:
    """A cited fact with no null and no empty list: CDS Hooks JSON holds neither."""
    if value is None:
        return {"path": path, "known": False}
    if value == []:
        return {"path": path, "known": True, "none_listed": True}
    return {"path": path, "value": value}


def _extension(prompt: Prompt) -> dict[str, Any]:
    because = [_cited(fact.path, fact.value) for fact in prompt.because]
    extension: dict[str, Any] = {
        "prompt_id": prompt.id,
        "kind": prompt.kind,
        "learning_point": prompt.learning_point,
        "quote": prompt.source.quote,
        "reason": prompt.reason,
    }
    if because:
        extension["because"] = because
    return extension

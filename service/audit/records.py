"""The audit records: one msgspec Struct per kind, tagged by ``event``, for writing and reading.

What a record may hold is decided here and nowhere else: ids, hashes, pack versions, rule ids
with the facts behind them (booleans, enumerated values, numbers and census codes only) and
timings. Never the case reference itself, the request body, or free text.

Written, a record is its canonical JSON (:data:`canonical`: every key sorted, ``event``
included, no spaces), its optional fields left out when absent; the line adds ``"hash"`` after
it (:mod:`service.audit.chain`), which is why ``hash`` is not a field here. Nested Structs
declare their fields in sorted order, the order they are written in (and the order of the dicts
``--json`` output makes of them).

Read, a record may hold fields these Structs do not name, written by a later version: they are
passed over, never refused. A line of a kind this version does not know does not decode as a
:data:`Record`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.evaluation.prompts import Because

__all__ = [
    "AuditResumed",
    "Because",
    "CardFeedback",
    "ChainStart",
    "Evaluation",
    "Feedback",
    "Fired",
    "Follows",
    "PackRef",
    "Process",
    "Record",
    "canonical",
    "decode_record",
    "in_order",
    "to_record",
]


class PackRef(msgspec.Struct, frozen=True, kw_only=True):
    """A knowledge pack consulted: its id, version, and digest over its files."""

    digest: str
    id: str
    version: str


class Process(msgspec.Struct, frozen=True, kw_only=True):
    """The process that keeps a chain."""

    host: str
    pid: int


class Follows(msgspec.Struct, frozen=True, kw_only=True):
    """The head of the chain a new chain continues: its last record before the file moved."""

    chain: str
    hash: str
    seq: int


class Fired(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A prompt shown: its rule, learning point, and the facts that made it appear, in order;
    under CDS Hooks, the uuid of the card it was shown as (feedback names the card).

    The trail encodes the ``fired`` list in declaration order (:data:`in_order`), canonical
    only because Fired and Because declare their fields sorted.
    """

    because: list[Because]  # each {"path", "value"}: value a bool, int, str, list of str, or null
    card: str | None = None
    learning_point: int
    rule: str


class _Record(msgspec.Struct, kw_only=True, tag_field="event", omit_defaults=True):
    """What every record holds. The writer fills these in last, under the chain's lock."""

    ts: str  # UTC, RFC 3339, milliseconds: 2026-11-26T06:36:32.675Z
    chain: str
    seq: int
    prev: str


class ChainStart(_Record, tag="chain_start"):
    process: Process
    packs: list[PackRef]
    follows: Follows | None = None  # in a new file only


class Evaluation(_Record, tag="evaluation"):
    evaluation_id: str
    request_id: str
    client: str
    packs: list[PackRef]
    fired: list[Fired]
    duration_ms: float
    case_ref_hash: str | None = None  # HMAC-SHA256 of the case reference; absent without one or a key
    tenant: str | None = None  # the caller's tenant claim, when its token has one
    trace_id: str | None = None  # the OpenTelemetry trace id, when tracing is on


class Feedback(_Record, tag="feedback"):
    evaluation_id: str
    prompt_id: str
    outcome: str  # accepted | not_applicable | already_done | disagree (read: whatever was written)
    request_id: str
    client: str
    comment_given: bool  # the comment itself is never recorded
    tenant: str | None = None


class CardFeedback(_Record, tag="card_feedback"):
    """Feedback on a CDS Hooks card. The card is found in its evaluation's ``fired[].card``."""

    card: str
    service: str  # the CDS Hooks service id
    outcome: str  # accepted, or the override reason's outcome (as Feedback's), else overridden
    request_id: str
    client: str
    comment_given: bool  # the override reason's user comment is never recorded
    override_reason: str | None = None  # a code from the service's override reasons, when given
    tenant: str | None = None


class AuditResumed(_Record, tag="audit_resumed"):
    unavailable_since: str
    refused: int
    reason: str  # audit-write-failed | audit-file-missing | audit-free-space-low


Record = ChainStart | Evaluation | Feedback | CardFeedback | AuditResumed

canonical = msgspec.json.Encoder(order="sorted").encode
"""Canonical JSON: keys sorted at every level (``event`` among them), no spaces."""

in_order = msgspec.json.Encoder().encode
"""JSON with each Struct's fields in declaration order: canonical for Structs that declare them
sorted (and hold no dict), without the sorting ``canonical`` does at every Struct it encodes."""

# Guards, at import, for whoever edits these Structs or Because:
# - a fact a fired rule cites is the prompt's own Because, encoded as is: were Because to gain a
#   field, that field would reach the trail unseen;
# - ``fired`` is encoded in declaration order, canonical only while Fired declares its fields sorted.
if Because.__struct_fields__ != ("path", "value"):
    raise TypeError(
        f"Because must hold path and value only (the trail records it whole): {Because.__struct_fields__}"
    )
if list(Fired.__struct_fields__) != sorted(Fired.__struct_fields__):
    raise TypeError("Fired must declare its fields in sorted order (the trail encodes it in that order)")

_decode_record = msgspec.json.Decoder(Record).decode


def decode_record(line: bytes) -> Record:
    """The record a line holds. Raises ``msgspec.DecodeError``: ``msgspec.ValidationError`` for
    a line refused for its shape (JSON, but not a record of a known kind; or a line refused for
    its shape before the place where it stops being JSON)."""
    return _decode_record(line)


def to_record(fields: dict[str, Any]) -> Record | None:
    """The record a decoded JSON object holds, or None when it is not one of a known kind."""
    try:
        return msgspec.convert(fields, Record)
    except msgspec.ValidationError:
        return None

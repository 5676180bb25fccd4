"""Reading audit files line by line: what a line holds, records recovered from torn lines, and
the records of one kind in file order, typed.

Two readers use this. ``guidance audit verify`` checks each line as bytes and as the JSON
object it holds (:func:`read_line`), before trusting any of it; ``summarize`` and ``show`` read
records as they stand (:class:`Reader`), leaving it to ``verify`` to say whether they are whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from service.audit.records import (
    AuditResumed,
    CardFeedback,
    ChainStart,
    Evaluation,
    Feedback,
    Record,
    decode_record,
    to_record,
)

__all__ = ["NOT_JSON", "Envelope", "Line", "NotARecord", "Reader", "read_line", "recover_glued"]

_decode = msgspec.json.Decoder().decode

NOT_JSON = "not JSON"

# A record glued after a torn fragment is looked for on lines up to this long, at this many places.
_RECOVER_BYTES = 4 * 1024 * 1024
_RECOVER_TRIES = 2000

_MARKERS: dict[type[Any], bytes] = {
    kind: f'"event":"{kind.__struct_config__.tag}"'.encode()
    for kind in (Evaluation, Feedback, CardFeedback, ChainStart, AuditResumed)
}


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """What a line must hold to be an audit record at all, whatever its kind (a later version
    may write kinds this one does not know): enough to follow its chain."""

    event: str
    chain: str
    seq: int
    prev: str
    hash: str
    ts: str | None  # None when missing or not text: the service always writes it


class NotARecord(Exception):
    """The line is not an audit record: ``message`` says why (:data:`NOT_JSON` when it is not
    JSON at all)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_line(text: bytes) -> tuple[dict[str, Any], Envelope]:
    """The JSON object a line holds (not yet checked against its hash), and its envelope.

    Raises :class:`NotARecord`.
    """
    try:
        fields = _decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec lets a bad UTF-8 key through as this
        raise NotARecord(NOT_JSON) from None
    if not isinstance(fields, dict):
        raise NotARecord("JSON, but not an object")
    event, chain, seq, prev, digest = (fields.get(k) for k in ("event", "chain", "seq", "prev", "hash"))
    if not (
        isinstance(chain, str)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and seq >= 0
        and isinstance(prev, str)
        and isinstance(digest, str)
        and isinstance(event, str)
    ):
        raise NotARecord("JSON, but not an audit record: `chain`, `seq`, `prev`, `hash` or `event` missing")
    ts = fields.get("ts")
    envelope = Envelope(
        event=event, chain=chain, seq=seq, prev=prev, hash=digest, ts=ts if isinstance(ts, str) else None
    )
    return fields, envelope


def recover_glued(text: bytes) -> tuple[int, dict[str, Any], Envelope] | None:
    """A whole audit record ending ``text`` after something else (a torn fragment), with where
    it starts.

    Tries each ``{"`` in turn, up to ``_RECOVER_TRIES`` of them, on lines up to ``_RECOVER_BYTES``.
    """
    if len(text) > _RECOVER_BYTES:
        return None
    start = text.find(b'{"', 1)
    for _ in range(_RECOVER_TRIES):
        if start == -1:
            break
        try:
            return start, *read_line(text[start:])
        except NotARecord:
            start = text.find(b'{"', start + 1)
    return None


def _is_json(raw: bytes) -> bool:
    """Whether ``raw`` is JSON at all. (A typed decoder can refuse a line for its shape before it
    comes to the place where the line stops being JSON: a torn record with another glued on.)"""
    try:
        _decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    return True


R = TypeVar("R", bound=Record)


@dataclass(slots=True)
class Line(Generic[R]):
    path: Path
    number: int
    record: R


@dataclass(slots=True)
class Reader:
    """The records of some files, read as they stand."""

    paths: list[Path]
    unreadable: int = 0

    def records(self, kind: type[R], *, count_others: bool = False) -> Iterator[Line[R]]:
        """Every record of this kind, in file order. Raises ``OSError`` if a file is unreadable.

        Lines are decoded only when they name the kind, so a pass stays cheap. Lines that name
        it but are not a record of a known kind (not JSON, or JSON of another shape) are counted
        in ``unreadable``; with ``count_others``, so are lines naming no known kind at all.
        Empty lines are passed over. A whole record glued to the end of a torn line (logs
        written before failed writes were cut back) is read all the same. Fields a record holds
        beyond those of its kind (written by a later version) are passed over.
        """
        marker = _MARKERS[kind]
        for path in self.paths:
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    if marker not in raw:
                        if count_others and raw.strip() and not any(m in raw for m in _MARKERS.values()):
                            self.unreadable += 1
                        continue
                    record: Record | None
                    try:
                        record = decode_record(raw)
                    except (msgspec.DecodeError, UnicodeDecodeError):
                        self.unreadable += 1
                        if _is_json(raw):  # but not a record of a kind this version reads
                            continue
                        glued = recover_glued(raw.rstrip(b"\n"))
                        record = to_record(glued[1]) if glued is not None else None
                    if isinstance(record, kind):
                        yield Line(path, number, record)

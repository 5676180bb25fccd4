"""One line of an audit file, examined on its own: the record it holds, checked against its
hash and against the bytes the service would have written, or what is wrong with it.

Both checks run on the line's bytes and on the JSON object they hold as it stands, every field
in it, known or not: a field added, changed or repeated anywhere is caught. Only a line that
passes them is trusted to say where it sits in its chain (see :mod:`service.audit.chains`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from service.audit.chain import seal
from service.audit.reading import NOT_JSON, Envelope, NotARecord, read_line, recover_glued
from service.audit.report import EDITED, TORN, UNPARSEABLE

__all__ = ["Examined", "examine"]

_CHAIN_IN_TEXT = re.compile(rb'"chain":"([0-9a-f]{32})"')


@dataclass(slots=True)
class Examined:
    """What one line holds: a record (``fields`` as read, with its ``envelope``), problems of the
    line itself (kind, message), or both."""

    fields: dict[str, Any] | None = None
    envelope: Envelope | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    chain: str | None = None
    suspect: bool = False  # the record is followed in its chain, but its own content is not trusted


def _seal_problem(fields: dict[str, Any], text: bytes) -> str | None:
    """Why the record is not as the service wrote it, or None."""
    body = {key: value for key, value in fields.items() if key != "hash"}
    expected_line, expected_hash = seal(body)
    if expected_hash != fields["hash"]:
        return "its content does not match its hash: the record was edited"
    if expected_line[:-1] != text:
        return (
            "its bytes are not as the service writes them (reformatted or a field repeated): "
            "the record was edited"
        )
    return None


def examine(raw: bytes) -> Examined:
    """What one line holds: a record (checked against its hash), a problem, or both."""
    text = raw[:-1] if raw.endswith(b"\n") else raw
    if not text.strip():
        return Examined(problems=[(UNPARSEABLE, "an empty line: the service never writes one (text added)")])
    try:
        fields, envelope = read_line(text)
    except NotARecord as not_a_record:
        return _unparseable(text, not_a_record.message)
    edited = _seal_problem(fields, text)
    if edited:
        return Examined(fields, envelope, [(EDITED, edited)], envelope.chain, suspect=True)
    return Examined(fields, envelope)


def _unparseable(text: bytes, why: str) -> Examined:
    looks_like_record = text.startswith(b'{"') and why == NOT_JSON
    found = _CHAIN_IN_TEXT.search(text)
    chain = found.group(1).decode() if found else None
    glued = recover_glued(text) if why == NOT_JSON else None
    if glued is not None:
        start, fields, envelope = glued
        what = (
            f"a record cut short ({start} bytes), then a whole record on the same line (checked on "
            "its own): a write that failed, with the next record appended to it"
            if looks_like_record
            else f"text added ({start} bytes) before a whole record on the same line (checked on its own)"
        )
        problems = [(TORN if looks_like_record else UNPARSEABLE, what)]
        edited = _seal_problem(fields, text[start:])
        if edited:
            problems.append((EDITED, f"the whole record after the fragment: {edited}"))
        return Examined(fields, envelope, problems, chain or envelope.chain, suspect=bool(edited))
    if looks_like_record:
        cut = (
            "not a whole record: the start of one, cut short (a write that failed, or a process "
            "that died while writing)"
        )
        return Examined(problems=[(TORN, cut)], chain=chain)
    return Examined(problems=[(UNPARSEABLE, f"not a complete audit record ({why}): text added")])

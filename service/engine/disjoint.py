"""Alternatives of an ``any`` made mutually exclusive, where the engine can test what that takes.

durable_rules fires every alternative a fact matches, and each fired alternative is an action
the caller reads back one at a time, the dearest step of an evaluation (each read scans the
ruleset's rules). A case that meets an ``any`` in three ways fires three actions for one rule;
with the ``any`` written as exclusive alternatives (the first; the second and not the first;
…) it fires one. Products of exclusive alternatives stay exclusive, so an ``all`` over several
``any`` fires once instead of once per combination.

"Not the first" is written as tests on the first alternative's keys, which the engine can make
only on a key present whenever the alternative being narrowed holds: a key written for every
case, a key of a record the alternative already tests (a record's keys are written together),
or of an earlier record of the same list (a list has no gaps: parents[1] means a parents[0]).
Where that is not so (a code key, present only when the code is listed; a later record), the
two alternatives are left overlapping, as before; and so are they all when making them
exclusive would take too many alternatives, or alternatives too long for the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Constraint = dict[str, frozenset[int]]  # key -> the values it may take; all must hold

_RECORD = re.compile(r"^l(\d+)p(\d+)f\d+$")  # a record's key: its list and position, then its field
# Past this many alternatives per one given, exclusive alternatives cost the network more than
# the actions they save.
_GROWTH = 4
_MAX_KEYS = 8  # keys one exclusive alternative may test (the engine takes 30 tests)


def _record_of(key: str) -> tuple[int, int] | None:
    """(list, position) of a record's key."""
    found = _RECORD.match(key)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _present_with(this: Constraint) -> Callable[[str], bool]:
    """Whether a key of a record is present whenever ``this`` holds."""
    last: dict[int, int] = {}  # per list, the furthest record ``this`` tests
    for key in this:
        record = _record_of(key)
        if record is not None:
            last[record[0]] = max(last.get(record[0], -1), record[1])

    def present(key: str) -> bool:
        record = _record_of(key)
        return record is not None and record[1] <= last.get(record[0], -1)

    return present


Domain = Callable[[str], frozenset[int]]  # a key's values
Always = Callable[[str], bool]  # whether a key is written for every case


def subtract(this: Constraint, other: Constraint, domain: Domain, always: Always) -> list[Constraint] | None:
    """``this`` and not ``other``, as exclusive constraints; None when the engine cannot test it."""
    if any(key in this and not (this[key] & allowed) for key, allowed in other.items()):
        return [this]  # already exclusive
    present = _present_with(this)
    if not all(always(key) or present(key) for key in other):
        return None
    pieces: list[Constraint] = []
    narrowed = dict(this)
    for key in sorted(other):
        allowed = narrowed.get(key, domain(key))
        rest = allowed - other[key]
        if rest:
            pieces.append({**narrowed, key: rest})
        narrowed[key] = allowed & other[key]
    return pieces


def exclusive(alternatives: list[Constraint], domain: Domain, always: Always) -> list[Constraint]:
    """The same alternatives (their union unchanged), each pair made exclusive where the engine
    can test it; as given when that would take too many."""
    done: list[Constraint] = []
    for alternative in alternatives:
        pieces = [alternative]
        for earlier in done:
            narrowed: list[Constraint] = []
            for piece in pieces:
                rest = subtract(piece, earlier, domain, always)
                narrowed += [piece] if rest is None else rest
            pieces = narrowed
        if len(pieces) > _GROWTH or any(len(piece) > _MAX_KEYS for piece in pieces):
            pieces = [alternative]  # this one may overlap those before it
        done += pieces
        if len(done) > _GROWTH * len(alternatives):
            return alternatives
    return done

"""The operator table: every test an atom can make, stated once.

An atom asks one yes/no question of one fact that may be unknown. Each operator says how it is
written, which kinds of fact it applies to, what it means on a known value and what it gives
for an unknown one (so that unknown is never taken for "no"), what its negation is, how it
reads in words, and how it is written as a Python expression. Everything else (the parser,
the checks, the reference reading, the words, the generated Python, and what the engine is
asked to test) reads this table and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.facts.paths import FieldKind

Operand = None | int | str | tuple[str, ...]

_PATH = r"(?P<path>[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)"


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    written: str  # how a pack writes it: "{path} in [{operand}]"
    pattern: Spellings  # the written forms, read back
    kinds: frozenset[FieldKind]  # the kinds of fact it applies to
    on_known: Callable[[Any, Any], bool]  # its meaning on a known value and the operand
    on_unknown: bool  # what it gives when the fact is not known
    negation: tuple[str, ...]  # "not" this atom: any of these operators, same path and operand
    words: str  # "is one of {operand}"; "{{path}}" where the path goes inside the words
    python: str  # an expression over a value named {v} and the operand's literal {o}

    def holds(self, value: Any, operand: Operand) -> bool:
        return self.on_unknown if value is None else self.on_known(value, operand)

    def write(self, path: str, operand: Operand) -> str:
        return self.written.format(path=path, operand=_operand_text(operand))

    def say(self, operand: Operand) -> str:
        return self.words.format(operand=_operand_text(operand))


def _operand_text(operand: Operand) -> str:
    return ", ".join(operand) if isinstance(operand, tuple) else "" if operand is None else str(operand)


def _op(
    name: str,
    written: str | tuple[str, ...],
    kinds: set[FieldKind],
    on_known: Callable[[Any, Any], bool],
    on_unknown: bool,
    negation: tuple[str, ...],
    words: str,
    python: str,
) -> Operator:
    """An operator; ``written`` may give other accepted spellings after the canonical one."""
    spellings = (written,) if isinstance(written, str) else written
    operand = r"-?\d+" if kinds == {FieldKind.INT} else r"[0-9A-Za-z]+"
    alternatives = []
    for spelling in spellings:
        regex = re.escape(spelling).replace(r"\ ", " ").replace(" ", r"\s+").replace(r"\{path\}", _PATH)
        regex = regex.replace(r"\[\{operand\}\]", r"\[(?P<operand>[^\]]*)\]")
        alternatives.append(regex.replace(r"\{operand\}", f"(?P<operand>{operand})"))
    patterns = Spellings(tuple(re.compile(f"^{a}$") for a in alternatives))
    return Operator(
        name, spellings[0], patterns, frozenset(kinds), on_known, on_unknown, negation, words, python
    )


@dataclass(frozen=True, slots=True)
class Spellings:
    """The ways an operator may be written, read back (groups: ``path``, ``operand``)."""

    patterns: tuple[re.Pattern[str], ...]

    def match(self, text: str) -> re.Match[str] | None:
        for pattern in self.patterns:
            found = pattern.match(text)
            if found:
                return found
        return None


_BOOL = {FieldKind.BOOL}
_ANY = set(FieldKind) - {FieldKind.RECORDS}
_RECORDS = {FieldKind.RECORDS}
_ENUM = {FieldKind.ENUM}
_CODES = {FieldKind.CODES}
_INT = {FieldKind.INT}

# Order matters for reading: the first written form that matches a text is the one meant.
OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        _op(
            "not_true",
            written=("not {path}", "{path} is not true"),
            kinds=_BOOL,
            on_known=lambda v, _: v is not True,
            on_unknown=True,
            negation=("true",),
            words="is not yes (no or unknown)",
            python="{v} is not True",
        ),
        _op(
            "not_false",
            written="{path} is not false",
            kinds=_BOOL,
            on_known=lambda v, _: v is not False,
            on_unknown=True,
            negation=("false",),
            words="is not no (yes or unknown)",
            python="{v} is not False",
        ),
        _op(
            "true",
            written=("{path}", "{path} is true"),
            kinds=_BOOL,
            on_known=lambda v, _: v is True,
            on_unknown=False,
            negation=("not_true",),
            words="is yes",
            python="{v} is True",
        ),
        _op(
            "false",
            written="{path} is false",
            kinds=_BOOL,
            on_known=lambda v, _: v is False,
            on_unknown=False,
            negation=("not_false",),
            words="is no",
            python="{v} is False",
        ),
        _op(
            "unknown",
            written="{path} is unknown",
            kinds=_ANY,
            on_known=lambda v, _: False,
            on_unknown=True,
            negation=("known",),
            words="is not known",
            python="{v} is None",
        ),
        _op(
            "known",
            written="{path} is known",
            kinds=_ANY,
            on_known=lambda v, _: True,
            on_unknown=False,
            negation=("unknown",),
            words="is known",
            python="{v} is not None",
        ),
        _op(
            "not_in",
            written="{path} not in [{operand}]",
            kinds=_ENUM,
            on_known=lambda v, o: v not in o,
            on_unknown=True,
            negation=("in",),
            words="is not one of {operand} (or is not known)",
            python="{v} is None or {v} not in {o}",
        ),
        _op(
            "in",
            written="{path} in [{operand}]",
            kinds=_ENUM,
            on_known=lambda v, o: v in o,
            on_unknown=False,
            negation=("not_in",),
            words="is one of {operand}",
            python="{v} is not None and {v} in {o}",
        ),
        _op(
            "not_has",
            written="{path} lacks {operand}",
            kinds=_CODES,
            on_known=lambda v, o: o not in v,
            on_unknown=True,
            negation=("has",),
            words="does not include {operand} (or is not known)",
            python="{v} is None or {o} not in {v}",
        ),
        _op(
            "has",
            written="{path} has {operand}",
            kinds=_CODES,
            on_known=lambda v, o: o in v,
            on_unknown=False,
            negation=("not_has",),
            words="includes {operand}",
            python="{v} is not None and {o} in {v}",
        ),
        _op(
            "none_recorded",
            written="no {path} recorded",
            kinds=_RECORDS,
            on_known=lambda v, _: v == 0,
            on_unknown=True,
            negation=("some_recorded",),
            words="no {{path}} recorded",
            python="{v} == 0",
        ),
        _op(
            "some_recorded",
            written="some {path} recorded",
            kinds=_RECORDS,
            on_known=lambda v, _: v > 0,
            on_unknown=False,
            negation=("none_recorded",),
            words="at least one of {{path}} recorded",
            python="{v} > 0",
        ),
        _op(
            "ge",
            written="{path} >= {operand}",
            kinds=_INT,
            on_known=lambda v, o: v >= o,
            on_unknown=False,
            negation=("unknown", "lt"),
            words="≥ {operand}",
            python="{v} is not None and {v} >= {o}",
        ),
        _op(
            "le",
            written="{path} <= {operand}",
            kinds=_INT,
            on_known=lambda v, o: v <= o,
            on_unknown=False,
            negation=("unknown", "gt"),
            words="≤ {operand}",
            python="{v} is not None and {v} <= {o}",
        ),
        _op(
            "eq",
            written="{path} == {operand}",
            kinds=_INT,
            on_known=lambda v, o: v == o,
            on_unknown=False,
            negation=("unknown", "ne"),
            words="= {operand}",
            python="{v} is not None and {v} == {o}",
        ),
        _op(
            "ne",
            written="{path} != {operand}",
            kinds=_INT,
            on_known=lambda v, o: v != o,
            on_unknown=False,
            negation=("unknown", "eq"),
            words="≠ {operand}",
            python="{v} is not None and {v} != {o}",
        ),
        _op(
            "gt",
            written="{path} > {operand}",
            kinds=_INT,
            on_known=lambda v, o: v > o,
            on_unknown=False,
            negation=("unknown", "le"),
            words="> {operand}",
            python="{v} is not None and {v} > {o}",
        ),
        _op(
            "lt",
            written="{path} < {operand}",
            kinds=_INT,
            on_known=lambda v, o: v < o,
            on_unknown=False,
            negation=("unknown", "ge"),
            words="< {operand}",
            python="{v} is not None and {v} < {o}",
        ),
    )
}

for _op_ in OPERATORS.values():
    assert all(name in OPERATORS for name in _op_.negation), _op_.name
    # The negation is exact: on every value, and on "not known", it holds where the atom fails.
    assert _op_.on_unknown != any(OPERATORS[n].on_unknown for n in _op_.negation), _op_.name
del _op_


def operand_of(operator: Operator, text: str | None) -> Operand:
    """The operand as written, in the type the operator tests with."""
    if text is None:
        return None
    if operator.kinds == frozenset(_ENUM):
        return tuple(v.strip().strip("'\"") for v in text.split(",") if v.strip())
    if operator.kinds == frozenset(_INT):
        return int(text)
    return text

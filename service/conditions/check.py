"""Fitting an atom to the fact it names: the operator must apply to that kind of fact, and its
operand must be one the fact can take."""

from __future__ import annotations

from service.conditions.tree import Atom, ConditionError
from service.facts.paths import FactField, FieldKind

_KIND_WORDS = {
    FieldKind.BOOL: "yes/no",
    FieldKind.INT: "a number",
    FieldKind.ENUM: "a named value",
    FieldKind.CODES: "a list of codes",
    FieldKind.RECORDS: "a list of records",
}


def check_atom(atom: Atom, field: FactField) -> None:
    """Raise when the atom's test does not fit the kind of fact it names."""
    kind, op, operand = field.kind, atom.op, atom.operand
    if kind not in op.kinds:
        fits = ", ".join(sorted(_KIND_WORDS[k] for k in op.kinds))
        raise ConditionError(
            f"`{atom.written()}`: `{atom.path}` is {_KIND_WORDS[kind]}; this test is for {fits}"
        )
    if kind is FieldKind.ENUM and isinstance(operand, tuple):
        wrong = [v for v in operand if v not in field.values]
        if wrong:
            raise ConditionError(
                f"`{atom.path}` has no value {', '.join(wrong)}; it takes {', '.join(field.values)}"
            )
    elif kind is FieldKind.CODES and operand is not None and operand not in field.values:
        raise ConditionError(f"`{operand}` is not a code `{atom.path}` accepts")
    elif kind is FieldKind.INT and isinstance(operand, int):
        low, high = field.minimum, field.maximum
        if (low is not None and operand < low) or (high is not None and operand > high):
            raise ConditionError(f"`{atom.path}` runs from {low} to {high}; {operand} is out of range")

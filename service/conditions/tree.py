"""A condition as read from a pack: atoms joined by all / any, quantified over records, named.

Every atom is a plain yes/no question about one fact that may be unknown, so an unknown fact
never counts as "no"; ``not`` is pushed down to the atoms (:func:`negate`), where each operator
knows its exact negation.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.conditions.operators import OPERATORS, Operand, Operator


class ConditionError(ValueError):
    """A condition that cannot be read or used; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class Atom:
    path: str  # within a record list, the record's field name
    op: Operator
    operand: Operand = None

    def written(self) -> str:
        return self.op.write(self.path, self.operand)


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Some:
    """At least one record of a list (``some parents``) meets the inner condition."""

    list_path: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class Every:
    """Every record of a list meets the inner condition: true when none is recorded. ``no
    parents: X`` is every parent meeting "not X"."""

    list_path: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class Term:
    """A named condition the pack defines once (``active_case``) and rules reuse by name."""

    name: str
    condition: Condition


Condition = Atom | All | AnyOf | Some | Every | Term


def atom(path: str, operator: str, operand: Operand = None) -> Atom:
    return Atom(path, OPERATORS[operator], operand)


def negate(condition: Condition) -> Condition:
    """ "Not" the condition, with unknown kept apart from no: each atom becomes its operator's
    negation, all and any swap."""
    if isinstance(condition, Term):
        return negate(condition.condition)
    if isinstance(condition, All):
        return AnyOf(tuple(negate(c) for c in condition.items))
    if isinstance(condition, AnyOf):
        return All(tuple(negate(c) for c in condition.items))
    if isinstance(condition, Some):
        return Every(condition.list_path, negate(condition.condition))
    if isinstance(condition, Every):
        return Some(condition.list_path, negate(condition.condition))
    negated = [Atom(condition.path, OPERATORS[name], condition.operand) for name in condition.op.negation]
    return negated[0] if len(negated) == 1 else AnyOf(tuple(negated))


def atoms(condition: Condition, list_path: str | None = None) -> list[tuple[str | None, Atom]]:
    """Every atom with the record list it is read inside (``None`` at the case level)."""
    if isinstance(condition, Atom):
        return [(list_path, condition)]
    if isinstance(condition, Term):
        return atoms(condition.condition, list_path)
    if isinstance(condition, (Some, Every)):
        return atoms(condition.condition, condition.list_path)
    return [pair for item in condition.items for pair in atoms(item, list_path)]

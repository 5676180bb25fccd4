"""The plain reading of a condition over facts as plain data: the statement of its meaning that
the engine, the counts and the explanations are all held to (the tests' oracle), and the facts
that make a condition hold."""

from __future__ import annotations

from typing import Any

from service.conditions.tree import All, AnyOf, Atom, Condition, Every, Some, Term
from service.facts.paths import FieldKind

Witness = tuple[str, Any]


def holds(condition: Condition, facts: dict[str, Any], derived: dict[str, Any]) -> bool:
    return explain(condition, facts, derived) is not None


def explain(
    condition: Condition,
    facts: dict[str, Any],
    derived: dict[str, Any],
    explanations: dict[str, list[Witness]] | None = None,
) -> list[Witness] | None:
    """The facts that make the condition hold, or ``None`` when it does not hold.

    ``derived`` gives the value of each count; ``explanations`` the facts it was counted from.
    """
    return _explain(condition, facts, derived, explanations or {}, None, "")


def explain_in_record(condition: Condition, record: dict[str, Any], prefix: str) -> list[Witness] | None:
    """Like :func:`explain`, for a condition on one record of a list (``parents[1].``)."""
    return _explain(condition, {}, {}, {}, record, prefix)


def _explain(
    condition: Condition,
    scope: dict[str, Any],
    derived: dict[str, Any],
    explanations: dict[str, list[Witness]],
    item: dict[str, Any] | None,
    prefix: str,
) -> list[Witness] | None:
    if isinstance(condition, Term):
        return _explain(condition.condition, scope, derived, explanations, item, prefix)
    if isinstance(condition, All):
        found: list[Witness] = []
        for part in condition.items:
            sub = _explain(part, scope, derived, explanations, item, prefix)
            if sub is None:
                return None
            found.extend(sub)
        return found
    if isinstance(condition, AnyOf):
        found = []
        matched = False
        for part in condition.items:
            sub = _explain(part, scope, derived, explanations, item, prefix)
            if sub is not None:
                matched = True
                found.extend(sub)
        return found if matched else None
    if isinstance(condition, Some):
        found = []
        matched = False
        for index, record in enumerate(scope.get(condition.list_path) or ()):
            sub = _explain(
                condition.condition, scope, derived, explanations, record, f"{condition.list_path}[{index}]."
            )
            if sub is not None:
                matched = True
                found.extend(sub)
        return found if matched else None
    if isinstance(condition, Every):
        found = []
        for index, record in enumerate(scope.get(condition.list_path) or ()):
            sub = _explain(
                condition.condition, scope, derived, explanations, record, f"{condition.list_path}[{index}]."
            )
            if sub is None:
                return None
            found.extend(sub)
        return found
    return _atom(condition, scope, derived, explanations, item, prefix)


def _atom(
    atom: Atom,
    scope: dict[str, Any],
    derived: dict[str, Any],
    explanations: dict[str, list[Witness]],
    item: dict[str, Any] | None,
    prefix: str,
) -> list[Witness] | None:
    if item is not None:
        value = item.get(atom.path)
        if not atom.op.holds(value, atom.operand):
            return None
        return [(prefix + atom.path, value)]
    if atom.path in derived:
        value = derived[atom.path]
        if not atom.op.holds(value, atom.operand):
            return None
        return [(atom.path, value), *explanations.get(atom.path, ())]
    value = lookup(scope, atom.path)
    if FieldKind.RECORDS in atom.op.kinds:  # a record list is read as how many it holds
        value = len(value or ())
    return [(atom.path, value)] if atom.op.holds(value, atom.operand) else None


def lookup(facts: dict[str, Any], path: str) -> Any:
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value

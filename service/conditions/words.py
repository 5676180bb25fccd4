"""A condition in words, for people reading the rule table (``guidance rules``, ``/v1/rules``)."""

from __future__ import annotations

from service.conditions.tree import All, AnyOf, Atom, Condition, Every, Some, Term


def describe(condition: Condition) -> str:
    if isinstance(condition, Term):
        return condition.name.replace("_", " ")
    if isinstance(condition, All):
        return " and ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, AnyOf):
        return " or ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, Some):
        return f"some {condition.list_path} record has: {describe(condition.condition)}"
    if isinstance(condition, Every):
        return f"every {condition.list_path} record (if any) has: {describe(condition.condition)}"
    return describe_atom(condition)


def describe_atom(atom: Atom) -> str:
    words = atom.op.say(atom.operand)
    return words.format(path=atom.path) if "{path}" in atom.op.words else f"{atom.path} {words}"


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, (All, AnyOf, Some, Every)) else text

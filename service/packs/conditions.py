"""Pack conditions: parsed from readable data, evaluated as plain Python, explained in words.

The engine's own compilation of them is :mod:`service.engine.compiler`.

A condition is written in a pack as a small tree::

    all:
      - child.unborn                                  # is true
      - risk_indicators >= 2                          # a count the pack declares
      - not pre_birth.social_work_assessment_requested  # false or not known
      - some parents:
          any: [care_leaver, family_support in [none, limited]]

Atoms are strings. ``path`` means "is true"; ``not path`` means "is not true" (false or not
known); ``path is false|unknown|known``, ``path is not false``; ``path in [a, b]``;
``path >= n`` (also ``>``, ``<=``, ``<``, ``==``); ``path has CODE``. Every atom is a plain
yes/no question about a value that may be unknown, so an unknown fact never counts as "no".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.facts.paths import FactField


class ConditionError(ValueError):
    """A condition that cannot be read; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class Atom:
    path: str  # within a record list, the item's field name
    test: str
    value: Any = None


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
class Term:
    """A named condition the pack defines once (``active_case``) and rules reuse by name."""

    name: str
    condition: Condition


Condition = Atom | All | AnyOf | Some | Term

_PATH = r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*"
_ATOM_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^not\s+({_PATH})$"), "not_true"),
    (re.compile(rf"^({_PATH})\s+is\s+not\s+(true|false)$"), "is_not"),
    (re.compile(rf"^({_PATH})\s+is\s+(true|false|unknown|known)$"), "is"),
    (re.compile(rf"^({_PATH})\s+in\s+\[([^\]]*)\]$"), "in"),
    (re.compile(rf"^({_PATH})\s*(>=|<=|==|>|<)\s*(-?\d+)$"), "compare"),
    (re.compile(rf"^({_PATH})\s+has\s+([0-9A-Za-z]+)$"), "has"),
    (re.compile(rf"^({_PATH})$"), "true"),
]
_COMPARE_TESTS = {">=": "ge", "<=": "le", "==": "eq", ">": "gt", "<": "lt"}
_NEGATED = {
    "true": "not_true",
    "not_true": "true",
    "false": "not_false",
    "not_false": "false",
    "unknown": "known",
    "known": "unknown",
}
_COMPLEMENT = {"ge": "lt", "lt": "ge", "gt": "le", "le": "gt"}


def parse_atom(text: str) -> Atom:
    text = " ".join(text.split())
    for pattern, form in _ATOM_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        path = match.group(1)
        if form in ("true", "not_true"):
            return Atom(path, form)
        if form == "is":
            return Atom(path, match.group(2))
        if form == "is_not":
            return Atom(path, "not_" + match.group(2))
        if form == "in":
            values = tuple(v.strip().strip("'\"") for v in match.group(2).split(",") if v.strip())
            if not values:
                raise ConditionError(f"`{text}`: list at least one value inside [ ]")
            return Atom(path, "in", values)
        if form == "compare":
            return Atom(path, _COMPARE_TESTS[match.group(2)], int(match.group(3)))
        return Atom(path, "has", match.group(2))
    raise ConditionError(
        f"`{text}` is not a condition; write `path`, `not path`, `path is unknown`, "
        "`path in [a, b]`, `path >= 2` or `path has CODE`"
    )


def parse(
    data: Any, terms: dict[str, Condition], record_lists: set[str], *, in_list: bool = False
) -> Condition:
    """Read a condition written as data; ``terms`` are the pack's named conditions."""
    if isinstance(data, str):
        name = data.strip()
        if name in terms and not in_list:
            return Term(name, terms[name])
        if name.startswith("not ") and name[4:].strip() in terms and not in_list:
            return negate(Term(name[4:].strip(), terms[name[4:].strip()]))
        return parse_atom(data)
    if isinstance(data, list):
        raise ConditionError("a list needs a key before it: write `all:` or `any:`")
    if not isinstance(data, dict) or len(data) != 1:
        raise ConditionError("write one of `all:`, `any:`, `not:` or `some <list>:` with its conditions")
    ((key, body),) = data.items()
    key = str(key).strip()
    if key in ("all", "any"):
        if not isinstance(body, list) or not body:
            raise ConditionError(f"`{key}:` takes a list of at least one condition")
        items = tuple(parse(item, terms, record_lists, in_list=in_list) for item in body)
        if len(items) == 1:
            return items[0]
        return All(items) if key == "all" else AnyOf(items)
    if key == "not":
        return negate(parse(body, terms, record_lists, in_list=in_list))
    if key.startswith("some "):
        list_path = key[5:].strip()
        if in_list:
            raise ConditionError("`some …:` cannot stand inside another `some …:`")
        if list_path not in record_lists:
            known = ", ".join(sorted(record_lists)) or "none"
            raise ConditionError(f"`some {list_path}:` names no list of records (there are: {known})")
        if isinstance(body, list):  # a list under `some parents:` means all of them, for one parent
            body = {"all": body}
        return Some(list_path, parse(body, terms, record_lists, in_list=True))
    raise ConditionError(f"unknown key `{key}:`; write `all:`, `any:`, `not:` or `some <list>:`")


def negate(condition: Condition) -> Condition:
    """Push a `not` down to the atoms, keeping "unknown is not false" exact."""
    if isinstance(condition, Term):
        return negate(condition.condition)
    if isinstance(condition, All):
        return AnyOf(tuple(negate(c) for c in condition.items))
    if isinstance(condition, AnyOf):
        return All(tuple(negate(c) for c in condition.items))
    if isinstance(condition, Some):
        raise ConditionError(
            f"`not` cannot be put in front of `some {condition.list_path}:`; "
            "say what must hold for one of them instead"
        )
    if condition.test in _NEGATED:
        return Atom(condition.path, _NEGATED[condition.test], condition.value)
    if condition.test in _COMPLEMENT:
        return AnyOf(
            (
                Atom(condition.path, "unknown"),
                Atom(condition.path, _COMPLEMENT[condition.test], condition.value),
            )
        )
    raise ConditionError(f"`not` cannot be put in front of `{describe_atom(condition)}`; reword it")


def atoms(condition: Condition, list_path: str | None = None) -> list[tuple[str | None, Atom]]:
    """Every atom with the record list it is read inside (``None`` at the case level)."""
    if isinstance(condition, Atom):
        return [(list_path, condition)]
    if isinstance(condition, Term):
        return atoms(condition.condition, list_path)
    if isinstance(condition, Some):
        return atoms(condition.condition, condition.list_path)
    return [pair for item in condition.items for pair in atoms(item, list_path)]


def check_atom(atom: Atom, field: FactField) -> None:
    """Raise when the atom's test does not fit the kind of fact it names."""
    kind = field.kind
    test = atom.test
    if test in ("unknown", "known"):
        return
    if test in ("true", "not_true", "false", "not_false"):
        if kind != "bool":
            raise ConditionError(f"`{atom.path}` is {_kind_words(field)}, not yes/no; compare it instead")
        return
    if test == "in":
        if kind != "enum":
            raise ConditionError(f"`{atom.path} in [...]` needs a field with named values")
        wrong = [v for v in atom.value if v not in field.values]
        if wrong:
            raise ConditionError(
                f"`{atom.path}` has no value {', '.join(wrong)}; it takes {', '.join(field.values)}"
            )
        return
    if test == "has":
        if kind != "codes":
            raise ConditionError(f"`{atom.path} has …` needs a list of codes")
        if atom.value not in field.values:
            raise ConditionError(f"`{atom.value}` is not a code `{atom.path}` accepts")
        return
    if kind != "int":
        raise ConditionError(f"`{atom.path}` is {_kind_words(field)}; only numbers can be compared")
    low, high = field.minimum, field.maximum
    if (low is not None and atom.value < low) or (high is not None and atom.value > high):
        raise ConditionError(f"`{atom.path}` runs from {low} to {high}; {atom.value} is out of range")


def _kind_words(field: FactField) -> str:
    return {
        "bool": "yes/no",
        "int": "a number",
        "enum": "a named value",
        "codes": "a list of codes",
    }[field.kind]


# --- plain Python: the reference evaluation, and the facts that explain a prompt ---------

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

    ``explanations`` gives, for a derived count, the facts it was counted from.
    """
    return _explain(condition, facts, derived, explanations or {}, None, "")


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
                condition.condition,
                scope,
                derived,
                explanations,
                record,
                f"{condition.list_path}[{index}].",
            )
            if sub is not None:
                matched = True
                found.extend(sub)
        return found if matched else None
    if item is not None:
        value = item.get(condition.path)
        shown = prefix + condition.path
    elif condition.path in derived:
        value = derived[condition.path]
        if not _test(condition, value):
            return None
        return [(condition.path, value), *explanations.get(condition.path, ())]
    else:
        value = lookup(scope, condition.path)
        shown = condition.path
    return [(shown, value)] if _test(condition, value) else None


def explain_in_record(condition: Condition, record: dict[str, Any], prefix: str) -> list[Witness] | None:
    """Like :func:`explain`, for a condition on one record of a list (``parents[1].``)."""
    return _explain(condition, {}, {}, {}, record, prefix)


def lookup(facts: dict[str, Any], path: str) -> Any:
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _test(atom: Atom, value: Any) -> bool:
    test = atom.test
    if test == "true":
        return value is True
    if test == "not_true":
        return value is not True
    if test == "false":
        return value is False
    if test == "not_false":
        return value is not False
    if test == "unknown":
        return value is None
    if test == "known":
        return value is not None
    if value is None:
        return False
    if test == "in":
        return value in atom.value
    if test == "has":
        return atom.value in value
    if test == "eq":
        return value == atom.value
    if test == "ge":
        return value >= atom.value
    if test == "gt":
        return value > atom.value
    if test == "le":
        return value <= atom.value
    return value < atom.value


# --- words ---------------------------------------------------------------------------------


def describe(condition: Condition) -> str:
    """The condition as a sentence-like line for people reading the rule table."""
    if isinstance(condition, Term):
        return condition.name.replace("_", " ")
    if isinstance(condition, All):
        return " and ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, AnyOf):
        return " or ".join(_grouped(c) for c in condition.items)
    if isinstance(condition, Some):
        return f"some {condition.list_path} record has: {describe(condition.condition)}"
    return describe_atom(condition)


def _grouped(condition: Condition) -> str:
    text = describe(condition)
    return f"({text})" if isinstance(condition, (All, AnyOf, Some)) else text


def describe_atom(atom: Atom) -> str:
    test, value = atom.test, atom.value
    words = {
        "true": "is yes",
        "not_true": "is not yes (no or unknown)",
        "false": "is no",
        "not_false": "is not no (yes or unknown)",
        "unknown": "is not known",
        "known": "is known",
    }
    if test in words:
        return f"{atom.path} {words[test]}"
    if test == "in":
        return f"{atom.path} is one of {', '.join(value)}"
    if test == "has":
        return f"{atom.path} includes {value}"
    symbol = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "="}[test]
    return f"{atom.path} {symbol} {value}"

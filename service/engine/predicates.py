"""Pack conditions as generated Python expressions over a ``Facts`` struct.

The engine cannot count (see docs on durable_rules), so a pack's counts are worked out in
Python before the fact is asserted; this module makes that cheap by generating one Python
function for all the counts. The benchmark also uses it for its plain-Python floor. Requests
are always matched by durable_rules, never by these functions.

Semantics are those of :func:`service.packs.conditions.holds`: an unknown fact (``None``) is
never true, never false, never in a list and never compared; the differential tests hold the
two together.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from service.packs.conditions import All, AnyOf, Atom, Condition, Some, Term
from service.packs.model import Count

_COMPARE = {"eq": "==", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


class _Writer:
    def __init__(self, derived: dict[str, str] | None = None) -> None:
        self._names = itertools.count()
        self.derived = derived or {}  # count name -> Python expression of its value

    def value(self, path: str, item: str | None) -> str:
        if item is not None:
            return f"{item}.{path}"
        if path in self.derived:
            return self.derived[path]
        group, _, leaf = path.partition(".")
        if not leaf:
            return f"f.{group}"
        return f"(None if f.{group} is None else f.{group}.{leaf})"

    def condition(self, condition: Condition, item: str | None = None) -> str:
        if isinstance(condition, Term):
            return self.condition(condition.condition, item)
        if isinstance(condition, All):
            return "(" + " and ".join(self.condition(c, item) for c in condition.items) + ")"
        if isinstance(condition, AnyOf):
            return "(" + " or ".join(self.condition(c, item) for c in condition.items) + ")"
        if isinstance(condition, Some):
            record = f"r{next(self._names)}"
            inner = self.condition(condition.condition, record)
            return f"any({inner} for {record} in (f.{condition.list_path} or ()))"
        return self.atom(condition, item)

    def atom(self, atom: Atom, item: str | None) -> str:
        value = self.value(atom.path, item)
        test = atom.test
        simple = {
            "true": "is True",
            "not_true": "is not True",
            "false": "is False",
            "not_false": "is not False",
            "unknown": "is None",
            "known": "is not None",
        }
        if test in simple:
            return f"({value} {simple[test]})"
        name = f"_v{next(self._names)}"
        if test == "in":
            return f"(({name} := {value}) is not None and {name} in {tuple(atom.value)!r})"
        if test == "has":
            return f"(({name} := {value}) is not None and {atom.value!r} in {name})"
        return f"(({name} := {value}) is not None and {name} {_COMPARE[test]} {atom.value!r})"


def _compile(source: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<generated {name}>", "exec"), namespace)
    function = namespace[name]
    function.source = source
    return function


def counts_function(counts: Sequence[Count]) -> Callable[[Any], list[int]]:
    """``f(facts) -> [value of each count]`` for a ``Facts`` struct, in the order given."""
    writer = _Writer()
    values = []
    for count in counts:
        terms = []
        for list_path, condition in count.parts:
            if list_path is None:
                terms.append(f"(1 if {writer.condition(condition)} else 0)")
            else:
                record = f"r{next(writer._names)}"
                test = writer.condition(condition, record)
                terms.append(f"sum(1 for {record} in (f.{list_path} or ()) if {test})")
        values.append(" + ".join(terms) or "0")
    return _compile("def counts(f):\n    return [" + ", ".join(values) + "]\n", "counts")


def rules_function(
    conditions: Sequence[Condition], derived: Sequence[dict[str, int]]
) -> Callable[[Any, Sequence[int]], list[int]]:
    """``f(facts, counts) -> [index of each condition that holds]``.

    ``derived[i]`` maps the count names condition ``i`` may use to positions in ``counts``.
    """
    lines = ["def rules(f, c):", "    fired = []"]
    for index, (condition, names) in enumerate(zip(conditions, derived, strict=True)):
        writer = _Writer({name: f"c[{position}]" for name, position in names.items()})
        lines.append(f"    if {writer.condition(condition)}:")
        lines.append(f"        fired.append({index})")
    lines.append("    return fired")
    return _compile("\n".join(lines) + "\n", "rules")

"""The facts behind a prompt, in words a practitioner reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from service.facts.paths import vocabulary
from service.packs.conditions import All, AnyOf, Atom, Condition, Some, Term, Witness
from service.packs.model import Count

_RECORD_PATH = re.compile(r"^([a-z_]+)\[(\d+)\]\.([a-z_]+)$")
_VALUE_WORDS = {True: "yes", False: "no", None: "not recorded"}


def render_records(because: list[Witness], known: dict[str, Any]) -> str:
    """The parents or carers a rule matched, each with what made it match.

    ``the mother (went to a special school: not recorded) and the father (…)``
    """
    grouped: dict[tuple[str, int], list[str]] = {}
    for path, value in because:
        match = _RECORD_PATH.match(path)
        if not match:
            continue
        list_path, index, field = match.group(1), int(match.group(2)), match.group(3)
        words = _lower_first(vocabulary().record_lists[list_path].item_fields[field].words)
        shown = (
            _VALUE_WORDS.get(value, str(value)) if isinstance(value, bool) or value is None else str(value)
        )
        grouped.setdefault((list_path, index), []).append(f"{words}: {shown}")
    if not grouped:
        return "see the facts listed"
    parts = [
        f"{record_label(known, list_path, index)} ({'; '.join(items)})"
        for (list_path, index), items in grouped.items()
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def record_label(known: dict[str, Any], list_path: str, index: int) -> str:
    """``the mother``; ``the carer (parent 3)`` when two share a role; ``parent 2`` without one."""
    records = known.get(list_path) or []
    role = records[index].get("role") if index < len(records) else None
    if role is None:
        return f"parent {index + 1}"
    if sum(1 for r in records if r.get("role") == role) > 1:
        return f"the {role} (parent {index + 1})"
    return f"the {role}"


def _lower_first(text: str) -> str:
    """``Went to …`` → ``went to …`` and ``A formal …`` → ``a formal …``; ``CAMHS …`` stays."""
    if len(text) > 1 and (text[1].islower() or text[1] == " "):
        return text[0].lower() + text[1:]
    return text


# --- the fast path: explanations compiled once per rule ------------------------------------
#
# ``render_records`` above reads witnesses as paths and parses them again; the evaluator's hot
# path instead carries, with each witness, which record it came from and the words for its
# field, all worked out once when the packs are loaded. Both give the same text; the
# differential test compares them on many thousands of generated cases.

Record = tuple[str, int, str]  # (list path, index, the field in words)
Found = tuple[str, Any, Record | None]  # (path as shown, value, the record it belongs to)
Explain = Callable[[Any, Any, int, "CountContext"], list[Found] | None]

_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "true": lambda v, _: v is True,
    "not_true": lambda v, _: v is not True,
    "false": lambda v, _: v is False,
    "not_false": lambda v, _: v is not False,
    "unknown": lambda v, _: v is None,
    "known": lambda v, _: v is not None,
    "in": lambda v, x: v is not None and v in x,
    "has": lambda v, x: v is not None and x in v,
    "eq": lambda v, x: v is not None and v == x,
    "ge": lambda v, x: v is not None and v >= x,
    "gt": lambda v, x: v is not None and v > x,
    "le": lambda v, x: v is not None and v <= x,
    "lt": lambda v, x: v is not None and v < x,
}


class CountContext:
    """The packs' counts for one case, each with the facts it was counted from, worked out
    only when an explanation asks for it."""

    __slots__ = ("_cache", "_counters", "facts")

    def __init__(self, facts: Any, counters: dict[str, Callable[[Any], tuple[int, list[Found]]]]) -> None:
        self.facts = facts
        self._counters = counters
        self._cache: dict[str, tuple[int, list[Found]]] = {}

    def get(self, key: str) -> tuple[int, list[Found]]:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._counters[key](self.facts)
        return found


def _getter(path: str) -> Callable[[Any], Any]:
    group, _, leaf = path.partition(".")
    if not leaf:
        return lambda facts: getattr(facts, group)

    def get(facts: Any) -> Any:
        value = getattr(facts, group)
        return None if value is None else getattr(value, leaf)

    return get


def compile_explainer(condition: Condition, counts: dict[str, str], list_path: str | None = None) -> Explain:
    """``explain(facts, record, index, counts)``: what :func:`explain` finds, as ``Found``.

    ``counts`` maps the count names the condition may use to their keys in the context;
    ``list_path`` is the list a record-level condition reads its record from.
    """
    if isinstance(condition, Term):
        return compile_explainer(condition.condition, counts, list_path)
    if isinstance(condition, All):
        parts = [compile_explainer(c, counts, list_path) for c in condition.items]

        def explain_all(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
            found: list[Found] = []
            for part in parts:
                sub = part(facts, record, index, context)
                if sub is None:
                    return None
                found += sub
            return found

        return explain_all
    if isinstance(condition, AnyOf):
        parts = [compile_explainer(c, counts, list_path) for c in condition.items]

        def explain_any(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
            found: list[Found] = []
            matched = False
            for part in parts:
                sub = part(facts, record, index, context)
                if sub is not None:
                    matched = True
                    found += sub
            return found if matched else None

        return explain_any
    if isinstance(condition, Some):
        inner = compile_explainer(condition.condition, counts, condition.list_path)
        name = condition.list_path

        def explain_some(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
            found: list[Found] = []
            matched = False
            for position, item in enumerate(getattr(facts, name) or ()):
                sub = inner(facts, item, position, context)
                if sub is not None:
                    matched = True
                    found += sub
            return found if matched else None

        return explain_some
    return _atom_explainer(condition, counts, list_path)


def _atom_explainer(atom: Atom, counts: dict[str, str], list_path: str | None) -> Explain:
    test, expected, path = _TESTS[atom.test], atom.value, atom.path
    if list_path is not None:
        words = _lower_first(vocabulary().record_lists[list_path].item_fields[path].words)
        shown = [f"{list_path}[{i}].{path}" for i in range(vocabulary().record_lists[list_path].max_items)]
        records = [(list_path, i, words) for i in range(len(shown))]

        def explain_item(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
            value = getattr(record, path)
            return [(shown[index], value, records[index])] if test(value, expected) else None

        return explain_item
    if path in counts:
        key = counts[path]

        def explain_count(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
            value, found = context.get(key)
            return [(path, value, None), *found] if test(value, expected) else None

        return explain_count
    get = _getter(path)

    def explain_fact(facts: Any, record: Any, index: int, context: CountContext) -> list[Found] | None:
        value = get(facts)
        return [(path, value, None)] if test(value, expected) else None

    return explain_fact


def compile_counter(count: Count) -> Callable[[Any], tuple[int, list[Found]]]:
    """``count(facts) -> (value, facts counted)``, as the evaluator's straightforward path
    works it out."""
    parts = [(list_path, compile_explainer(condition, {}, list_path)) for list_path, condition in count.parts]
    no_counts = CountContext(None, {})

    def counter(facts: Any) -> tuple[int, list[Found]]:
        total = 0
        found: list[Found] = []
        for list_path, explain_part in parts:
            if list_path is None:
                sub = explain_part(facts, None, 0, no_counts)
                if sub is not None:
                    total += 1
                    found += sub
                continue
            for index, record in enumerate(getattr(facts, list_path) or ()):
                sub = explain_part(facts, record, index, no_counts)
                if sub is not None:
                    total += 1
                    found += sub
        return total, found

    return counter


def unique_found(found: list[Found]) -> list[Found]:
    """The first witness of each path, in order."""
    seen: set[str] = set()
    unique: list[Found] = []
    for item in found:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def render_found(because: list[Found], facts: Any) -> str:
    """:func:`render_records` for witnesses that carry their record (``facts`` a struct)."""
    grouped: dict[tuple[str, int], list[str]] = {}
    for _path, value, record in because:
        if record is None:
            continue
        list_path, index, words = record
        shown = (
            _VALUE_WORDS.get(value, str(value)) if isinstance(value, bool) or value is None else str(value)
        )
        grouped.setdefault((list_path, index), []).append(f"{words}: {shown}")
    if not grouped:
        return "see the facts listed"
    parts = [
        f"{_struct_record_label(facts, list_path, index)} ({'; '.join(items)})"
        for (list_path, index), items in grouped.items()
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _struct_record_label(facts: Any, list_path: str, index: int) -> str:
    """:func:`record_label` read from a struct."""
    records = getattr(facts, list_path) or []
    role = getattr(records[index], "role", None) if index < len(records) else None
    if role is None:
        return f"parent {index + 1}"
    if sum(1 for r in records if getattr(r, "role", None) == role) > 1:
        return f"the {role} (parent {index + 1})"
    return f"the {role}"

"""The facts behind a prompt, in words a practitioner reads."""

from __future__ import annotations

import itertools
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


_SIMPLE_TESTS = {
    "true": "{v} is True",
    "not_true": "{v} is not True",
    "false": "{v} is False",
    "not_false": "{v} is not False",
    "unknown": "{v} is None",
    "known": "{v} is not None",
}
_COMPARISONS = {"eq": "==", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


class _Writer:
    """Python source that works out what :func:`explain` finds, as ``Found`` witnesses, for one
    condition over a ``Facts`` struct. Each part appends its witnesses only when it holds,
    in the order :func:`explain` lists them; the generated code reads struct attributes and
    tests values inline, where the generic walk dispatches on node types at every step."""

    def __init__(self, counts: dict[str, str]) -> None:
        self.counts = counts  # count name -> key in the CountContext
        self.namespace: dict[str, Any] = {}
        self._names = itertools.count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    def constant(self, value: Any) -> str:
        name = self.name("k")
        self.namespace[name] = value
        return name

    def write(
        self, condition: Condition, out: str, record: tuple[str, str, str] | None, indent: str
    ) -> tuple[list[str], str]:
        """Lines that append to ``out`` and the name of the flag that says the part held.

        ``record`` is (list path, record variable, index variable) inside ``some``."""
        if isinstance(condition, Term):
            return self.write(condition.condition, out, record, indent)
        flag = self.name("ok")
        if isinstance(condition, All):
            found = self.name("w")
            lines = [f"{indent}{flag} = False", f"{indent}{found} = []"]
            inner = indent
            for part in condition.items:
                part_lines, part_flag = self.write(part, found, record, inner)
                lines += part_lines
                lines.append(f"{inner}if {part_flag}:")
                inner += "    "
            lines.append(f"{inner}{flag} = True")
            lines.append(f"{indent}if {flag}:")
            lines.append(f"{indent}    {out} += {found}")
            return lines, flag
        if isinstance(condition, AnyOf):
            lines = [f"{indent}{flag} = False"]
            for part in condition.items:
                part_lines, part_flag = self.write(part, out, record, indent)
                lines += part_lines
                lines.append(f"{indent}if {part_flag}:")
                lines.append(f"{indent}    {flag} = True")
            return lines, flag
        if isinstance(condition, Some):
            item, index = self.name("r"), self.name("i")
            lines = [
                f"{indent}{flag} = False",
                f"{indent}for {index}, {item} in enumerate(f.{condition.list_path} or ()):",
            ]
            part_lines, part_flag = self.write(
                condition.condition, out, (condition.list_path, item, index), indent + "    "
            )
            lines += part_lines
            lines.append(f"{indent}    if {part_flag}:")
            lines.append(f"{indent}        {flag} = True")
            return lines, flag
        return self.atom(condition, out, record, indent, flag)

    def atom(
        self, atom: Atom, out: str, record: tuple[str, str, str] | None, indent: str, flag: str
    ) -> tuple[list[str], str]:
        value = self.name("v")
        lines: list[str] = []
        if record is not None:
            list_path, item, index = record
            items = vocabulary().record_lists[list_path]
            words = _lower_first(items.item_fields[atom.path].words)
            shown = self.constant([f"{list_path}[{i}].{atom.path}" for i in range(items.max_items)])
            records = self.constant([(list_path, i, words) for i in range(items.max_items)])
            lines.append(f"{indent}{value} = {item}.{atom.path}")
            witness = [f"({shown}[{index}], {value}, {records}[{index}])"]
        elif atom.path in self.counts:
            found = self.name("c")
            lines.append(f"{indent}{value}, {found} = ctx.get({self.counts[atom.path]!r})")
            witness = [f"({atom.path!r}, {value}, None)", f"*{found}"]
        else:
            group, _, leaf = atom.path.partition(".")
            if leaf:
                lines.append(f"{indent}{value} = None if f.{group} is None else f.{group}.{leaf}")
            else:
                lines.append(f"{indent}{value} = f.{group}")
            witness = [f"({atom.path!r}, {value}, None)"]
        lines.append(f"{indent}{flag} = {self.test(atom, value)}")
        lines.append(f"{indent}if {flag}:")
        if len(witness) == 1:
            lines.append(f"{indent}    {out}.append({witness[0]})")
        else:
            lines.append(f"{indent}    {out} += [{', '.join(witness)}]")
        return lines, flag

    def test(self, atom: Atom, value: str) -> str:
        if atom.test in _SIMPLE_TESTS:
            return _SIMPLE_TESTS[atom.test].format(v=value)
        if atom.test == "in":
            return f"{value} is not None and {value} in {self.constant(tuple(atom.value))}"
        if atom.test == "has":
            return f"{value} is not None and {atom.value!r} in {value}"
        return f"{value} is not None and {value} {_COMPARISONS[atom.test]} {atom.value!r}"


def _compile(lines: list[str], writer: _Writer, name: str) -> Callable[..., Any]:
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<generated {name}>", "exec"), writer.namespace)
    function = writer.namespace[name]
    function.source = source
    return function


def compile_explainer(
    condition: Condition, counts: dict[str, str]
) -> Callable[[Any, CountContext], list[Found]]:
    """``explain(facts, context)``: what :func:`explain` finds for the condition, as ``Found``
    (an empty list when it does not hold); ``counts`` maps count names to context keys."""
    writer = _Writer(counts)
    body, flag = writer.write(condition, "out", None, "    ")
    lines = ["def explain(f, ctx):", "    out = []", *body, f"    return out if {flag} else []"]
    return _compile(lines, writer, "explain")


def compile_counter(count: Count) -> Callable[[Any], tuple[int, list[Found]]]:
    """``count(facts) -> (value, facts counted)``, as the straightforward evaluation works it
    out: each part counts once at the case level, or once per record of its list."""
    writer = _Writer({})
    lines = ["def counter(f, ctx=None):", "    total = 0", "    found = []"]
    for list_path, condition in count.parts:
        part = writer.name("w")
        if list_path is None:
            lines.append(f"    {part} = []")
            body, flag = writer.write(condition, part, None, "    ")
            lines += body
            lines += [f"    if {flag}:", "        total += 1", f"        found += {part}"]
            continue
        item, index = writer.name("r"), writer.name("i")
        lines.append(f"    for {index}, {item} in enumerate(f.{list_path} or ()):")
        lines.append(f"        {part} = []")
        body, flag = writer.write(condition, part, (list_path, item, index), "        ")
        lines += body
        lines += [f"        if {flag}:", "            total += 1", f"            found += {part}"]
    lines.append("    return total, found")
    return _compile(lines, writer, "counter")


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
    texts = _ITEM_TEXTS
    for _path, value, record in because:
        if record is None:
            continue
        list_path, index, words = record
        hashable = value.__hash__ is not None  # record fields are yes/no or named values
        key = (words, type(value), value if hashable else None)
        text = texts.get(key) if hashable else None
        if text is None:
            shown = (
                _VALUE_WORDS.get(value, str(value))
                if isinstance(value, bool) or value is None
                else str(value)
            )
            text = f"{words}: {shown}"
            if hashable:
                texts[key] = text
        group = grouped.get((list_path, index))
        if group is None:
            grouped[(list_path, index)] = [text]
        else:
            group.append(text)
    if not grouped:
        return "see the facts listed"
    parts = [
        f"{_struct_record_label(facts, list_path, index)} ({'; '.join(items)})"
        for (list_path, index), items in grouped.items()
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# "went to a special school: not recorded" for each field and value met so far: a few dozen
# texts, since record fields take yes, no, not known or one of a few named values.
_ITEM_TEXTS: dict[tuple[str, type, Any], str] = {}


def _struct_record_label(facts: Any, list_path: str, index: int) -> str:
    """:func:`record_label` read from a struct."""
    records = getattr(facts, list_path) or []
    role = getattr(records[index], "role", None) if index < len(records) else None
    if role is None:
        return f"parent {index + 1}"
    if sum(1 for r in records if getattr(r, "role", None) == role) > 1:
        return f"the {role} (parent {index + 1})"
    return f"the {role}"

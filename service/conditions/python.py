"""Conditions written as Python, once, when the packs load: the one generator of code.

Two forms over a ``Facts`` struct named ``f``:

- :class:`Expressions`: a condition as one boolean expression (the counts the engine needs);
- :class:`Witnesses`: statements that also collect the facts that made it hold, in the order
  :func:`service.conditions.reference.explain` lists them (explanations, and counts with the
  facts they were counted from).

Either way each atom's test is its operator's own ``python`` form from the table, so the
generated code and the reference reading cannot mean different things; the differential tests
hold them together on many generated cases. Nothing from a request ever reaches the source:
only field names of the vocabulary (checked to be identifiers) and operands (written by
``repr``) are pasted in. Each compiled function's source is registered, so a traceback
through it shows the line that failed.
"""

from __future__ import annotations

import itertools
import linecache
import re
from collections.abc import Callable
from typing import Any

from service.conditions.tree import All, AnyOf, Atom, Condition, Every, Some, Term
from service.facts.paths import FieldKind, vocabulary

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_files = itertools.count(1)

Record = tuple[str, int, str]  # (list path, index, the field in words)
Found = tuple[str, Any, Record | None]  # (path as shown, value, the record it belongs to)


def identifier(name: str) -> str:
    """A name pasted into generated code: a plain lower-case identifier, nothing else."""
    assert _IDENTIFIER.match(name), f"not an identifier: {name!r}"
    return name


def literal(value: Any) -> str:
    """An operand pasted into generated code, as Python writes it."""
    assert (
        value is None
        or isinstance(value, (int, str))
        or (isinstance(value, tuple) and all(isinstance(v, str) for v in value))
    ), f"not an operand: {value!r}"
    assert not isinstance(value, bool)
    return repr(value)


class Source:
    """Lines of one generated function, its constants, and its compilation."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self._names = itertools.count()

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    def constant(self, value: Any) -> str:
        name = self.name("k")
        self.namespace[name] = value
        return name

    def compile(self, function: str) -> Callable[..., Any]:
        text = "\n".join(self.lines) + "\n"
        filename = f"<generated {self.what} #{next(_files)}>"
        # Registered so that tracebacks through generated code show its lines.
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
        exec(compile(text, filename, "exec"), self.namespace)
        compiled = self.namespace[function]
        compiled.source = text
        return compiled


def value_of(path: str, atom: Atom | None = None) -> str:
    """The expression reading a case-level fact from ``f`` (``None`` when its group is absent);
    a record list is read as how many records it holds."""
    if atom is not None and FieldKind.RECORDS in atom.op.kinds:
        return f"len(f.{identifier(path)} or ())"
    group, _, leaf = path.partition(".")
    if not leaf:
        return f"f.{identifier(group)}"
    return f"(None if f.{identifier(group)} is None else f.{identifier(group)}.{identifier(leaf)})"


def test(atom: Atom, value: str, bind: str | None = None) -> str:
    """The atom's test on ``value``, in its operator's own Python. With ``bind``, the value is an
    expression read once into that name, where the test first reads it."""
    operand = literal(atom.operand)
    if bind is None:
        return atom.op.python.format(v=value, o=operand)
    first, rest = atom.op.python.split("{v}", 1)
    return first.format(o=operand) + f"({bind} := {value})" + rest.format(v=bind, o=operand)


class Expressions:
    """A condition as one boolean expression over ``f``; ``counts`` gives the expression of each
    count a condition may name."""

    def __init__(self, source: Source, counts: dict[str, str] | None = None) -> None:
        self.source = source
        self.counts = counts or {}

    def condition(self, condition: Condition, record: str | None = None) -> str:
        if isinstance(condition, Term):
            return self.condition(condition.condition, record)
        if isinstance(condition, All):
            return "(" + " and ".join(self.condition(c, record) for c in condition.items) + ")"
        if isinstance(condition, AnyOf):
            return "(" + " or ".join(self.condition(c, record) for c in condition.items) + ")"
        if isinstance(condition, (Some, Every)):
            item = self.source.name("r")
            inner = self.condition(condition.condition, item)
            quantifier = "any" if isinstance(condition, Some) else "all"
            return f"{quantifier}({inner} for {item} in (f.{identifier(condition.list_path)} or ()))"
        return self.atom(condition, record)

    def atom(self, atom: Atom, record: str | None) -> str:
        if record is not None:
            value = f"{record}.{identifier(atom.path)}"
        elif atom.path in self.counts:
            value = self.counts[atom.path]
        else:
            value = value_of(atom.path, atom)
        return f"({test(atom, value, bind=self.source.name('_v'))})"


def counts_function(counts: list[tuple[tuple[str | None, Condition], ...]]) -> Callable[[Any], list[int]]:
    """``f(facts) -> [value of each count]``; a count adds one for each of its parts that holds,
    a part over a record list (``each parents``) once per record."""
    source = Source("counts")
    writer = Expressions(source)
    values = []
    for parts in counts:
        terms = []
        per_record: dict[str, list[Condition]] = {}  # one pass over a list for all its parts
        for list_path, condition in parts:
            if list_path is None:
                terms.append(f"(1 if {writer.condition(condition)} else 0)")
            else:
                per_record.setdefault(list_path, []).append(condition)
        for list_path, conditions in per_record.items():
            record = source.name("r")
            holding = " + ".join(f"(1 if {writer.condition(c, record)} else 0)" for c in conditions)
            terms.append(f"sum({holding} for {record} in (f.{identifier(list_path)} or ()))")
        values.append(" + ".join(terms) or "0")
    source.lines = ["def counts(f):", "    return [" + ", ".join(values) + "]"]
    return source.compile("counts")


class Witnesses:
    """Statements that find what :func:`~service.conditions.reference.explain` finds, as
    :data:`Found` witnesses: each part appends its witnesses only when it holds. ``counts`` maps
    count names to keys of a context whose ``get(key)`` gives (value, witnesses)."""

    def __init__(self, source: Source, counts: dict[str, str]) -> None:
        self.source = source
        self.counts = counts

    def write(
        self, condition: Condition, out: str, record: tuple[str, str, str] | None, indent: str
    ) -> tuple[list[str], str]:
        """Lines that append to ``out``, and the name of the flag that says the part held.

        ``record`` is (list path, record variable, index variable) inside ``some``."""
        if isinstance(condition, Term):
            return self.write(condition.condition, out, record, indent)
        flag = self.source.name("ok")
        if isinstance(condition, All):
            found = self.source.name("w")
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
            item, index = self.source.name("r"), self.source.name("i")
            list_path = identifier(condition.list_path)
            lines = [
                f"{indent}{flag} = False",
                f"{indent}for {index}, {item} in enumerate(f.{list_path} or ()):",
            ]
            part_lines, part_flag = self.write(
                condition.condition, out, (list_path, item, index), indent + "    "
            )
            lines += part_lines
            lines.append(f"{indent}    if {part_flag}:")
            lines.append(f"{indent}        {flag} = True")
            return lines, flag
        if isinstance(condition, Every):
            item, index, found = self.source.name("r"), self.source.name("i"), self.source.name("w")
            list_path = identifier(condition.list_path)
            lines = [
                f"{indent}{flag} = True",
                f"{indent}{found} = []",
                f"{indent}for {index}, {item} in enumerate(f.{list_path} or ()):",
            ]
            part_lines, part_flag = self.write(
                condition.condition, found, (list_path, item, index), indent + "    "
            )
            lines += part_lines
            lines += [
                f"{indent}    if not {part_flag}:",
                f"{indent}        {flag} = False",
                f"{indent}        break",
                f"{indent}if {flag}:",
                f"{indent}    {out} += {found}",
            ]
            return lines, flag
        return self.atom(condition, out, record, indent, flag)

    def atom(
        self, atom: Atom, out: str, record: tuple[str, str, str] | None, indent: str, flag: str
    ) -> tuple[list[str], str]:
        value = self.source.name("v")
        lines: list[str] = []
        if record is not None:
            list_path, item, index = record
            items = vocabulary().record_lists[list_path]
            words = lower_first(items.item_fields[atom.path].words)
            shown = self.source.constant([f"{list_path}[{i}].{atom.path}" for i in range(items.max_items)])
            records = self.source.constant([(list_path, i, words) for i in range(items.max_items)])
            lines.append(f"{indent}{value} = {item}.{identifier(atom.path)}")
            witness = [f"({shown}[{index}], {value}, {records}[{index}])"]
        elif atom.path in self.counts:
            found = self.source.name("c")
            lines.append(f"{indent}{value}, {found} = ctx.get({literal(self.counts[atom.path])})")
            witness = [f"({literal(atom.path)}, {value}, None)", f"*{found}"]
        else:
            lines.append(f"{indent}{value} = {value_of(atom.path, atom)}")
            witness = [f"({literal(atom.path)}, {value}, None)"]
        lines.append(f"{indent}{flag} = {test(atom, value)}")
        lines.append(f"{indent}if {flag}:")
        if len(witness) == 1:
            lines.append(f"{indent}    {out}.append({witness[0]})")
        else:
            lines.append(f"{indent}    {out} += [{', '.join(witness)}]")
        return lines, flag


def explainer(condition: Condition, counts: dict[str, str]) -> Callable[[Any, Any], list[Found]]:
    """``explain(facts, context)``: what the reference finds for the condition, as ``Found``
    witnesses (an empty list when it does not hold)."""
    source = Source("explanation")
    body, flag = Witnesses(source, counts).write(condition, "out", None, "    ")
    source.lines = ["def explain(f, ctx):", "    out = []", *body, f"    return out if {flag} else []"]
    return source.compile("explain")


def counter(parts: tuple[tuple[str | None, Condition], ...]) -> Callable[[Any], tuple[int, list[Found]]]:
    """``count(facts) -> (value, facts counted)``: each part counts once at the case level, or
    once per record of its list."""
    source = Source("count")
    writer = Witnesses(source, {})
    lines = ["def counter(f, ctx=None):", "    total = 0", "    found = []"]
    for list_path, condition in parts:
        part = source.name("w")
        if list_path is None:
            lines.append(f"    {part} = []")
            body, flag = writer.write(condition, part, None, "    ")
            lines += body
            lines += [f"    if {flag}:", "        total += 1", f"        found += {part}"]
            continue
        item, index = source.name("r"), source.name("i")
        lines.append(f"    for {index}, {item} in enumerate(f.{identifier(list_path)} or ()):")
        lines.append(f"        {part} = []")
        body, flag = writer.write(condition, part, (identifier(list_path), item, index), "        ")
        lines += body
        lines += [f"        if {flag}:", "            total += 1", f"            found += {part}"]
    lines.append("    return total, found")
    source.lines = lines
    return source.compile("counter")


def lower_first(text: str) -> str:
    """``Went to …`` → ``went to …`` and ``A formal …`` → ``a formal …``; ``CAMHS …`` stays."""
    if len(text) > 1 and (text[1].islower() or text[1] == " "):
        return text[0].lower() + text[1:]
    return text

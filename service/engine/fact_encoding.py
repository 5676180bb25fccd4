"""The engine fact for a case: generated once as Python, so that an evaluation costs one
f-string per part of the fact and no dictionaries."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from service.conditions.python import Source, identifier
from service.engine.alternatives import UNKNOWN
from service.facts.paths import FactField, FieldKind, vocabulary

if TYPE_CHECKING:
    from service.engine.compiler import Compiled

_KEY = re.compile(r"^[A-Za-z0-9_]+$")


def _key(name: str) -> str:
    """An engine key pasted into generated code: letters, digits and underscores only."""
    assert _KEY.match(name), f"not an engine key: {name!r}"
    return name


def _value_table(field: FactField) -> dict[Any, str] | None:
    """The engine value of each possible value, as text; ``None`` for a number."""
    if field.kind is FieldKind.BOOL:
        return {True: "1", False: "0", None: str(UNKNOWN)}
    if field.kind is FieldKind.ENUM:
        return {None: str(UNKNOWN), **{value: str(i) for i, value in enumerate(field.values)}}
    if field.kind is FieldKind.INT:
        return None
    raise AssertionError(f"no engine encoding for a {field.kind} fact ({field.path})")


class _Writer:
    def __init__(self, source: Source) -> None:
        self.source = source
        self._tables: dict[tuple[tuple[Any, str], ...], str] = {}

    def value(self, field: FactField, expression: str) -> str:
        """An f-string part writing the engine value of ``expression``."""
        if field.kind is FieldKind.CODES:
            return f"{{'{UNKNOWN}' if {expression} is None else '1'}}"
        table = _value_table(field)
        if table is None:  # a number, written as itself
            return f"{{{UNKNOWN} if (_n := {expression}) is None else _n}}"
        items = tuple(table.items())
        name = self._tables.get(items)
        if name is None:
            name = self._tables[items] = self.source.constant(table)
        return f"{{{name}[{expression}]}}"


def fact_encoder(compiled: Compiled) -> Callable[[Any, Sequence[int], str], list[str]]:
    """``encode(facts, counts, tail) -> [JSON for each shard]``: the engine facts for a case.

    ``facts`` is a ``Facts`` struct; ``counts`` are the values of ``compiled.counts`` in that
    order; ``tail`` is written last inside each object (the session and fact ids). The function
    is generated once as Python source, so that an evaluation costs one f-string per part of
    the fact and no dictionaries.
    """
    vocab = vocabulary()
    keys = compiled.key_of
    source = Source("engine fact encoder")
    writer = _Writer(source)
    lines = source.lines
    lines.append("def encode(facts, counts, tail):")
    names = {segment: f"s{i}" for i, segment in enumerate(compiled.segments)}
    groups: dict[str, list[str]] = {}
    for path in compiled.fields:
        group, _, leaf = path.partition(".")
        groups.setdefault(group, []).append(leaf)
    for group, leaves in groups.items():
        name = names[f"g:{group}"]
        if leaves == [""]:
            part = writer.value(vocab.fields[group], f"facts.{identifier(group)}")
            lines.append(f"    {name} = f'\"{_key(keys.field(group))}\":{part}'")
            continue
        paths = [f"{group}.{leaf}" for leaf in leaves]
        unknown = ",".join(f'"{_key(keys.field(path))}":{UNKNOWN}' for path in paths)
        known = ",".join(
            f'"{_key(keys.field(path))}":{writer.value(vocab.fields[path], f"g.{identifier(leaf)}")}'
            for path, leaf in zip(paths, leaves, strict=True)
        )
        lines.append(f"    g = facts.{identifier(group)}")
        lines.append(f"    {name} = '{unknown}' if g is None else f'{known}'")
    for path, codes in compiled.codes:
        table = f"codes_{_key(keys.field(path))}"
        source.namespace[table] = {code: f'"{_key(keys.code(path, code))}":1' for code in codes}
        lines += [
            f"    v = facts.{identifier(path)}",
            f"    {names['c:' + path]} = ','.join([{table}[c] for c in v if c in {table}]) if v else ''",
        ]
    for list_path in compiled.lengths:
        key = _key(keys.length(list_path))
        count = f"{{len(facts.{identifier(list_path)} or ())}}"
        lines.append(f"    {names['k:' + list_path]} = f'\"{key}\":{count}'")
    for list_path, item_fields in compiled.items:
        record_list = vocab.record_lists[list_path]
        lines += [f"    v = facts.{identifier(list_path)} or ()", "    n = len(v)"]
        for position in range(record_list.max_items):
            known = ",".join(
                f'"{_key(keys.item(list_path, position, field))}":'
                + writer.value(record_list.item_fields[field], f"r.{identifier(field)}")
                for field in item_fields
            )
            name = names[f"r:{list_path}:{position}"]
            lines += [
                f"    if n > {position}:",
                f"        r = v[{position}]",
                f"        {name} = f'{known}'",
                "    else:",
                f"        {name} = ''",
            ]
    for index, count in enumerate(compiled.counts):
        lines.append(f"    {names['n:' + count]} = f'\"{_key(keys.count(count))}\":{{counts[{index}]}}'")
    payloads = []
    for shard in compiled.shards:
        parts = ", ".join([*(f"s{i}" for i in shard.segments), "tail"])
        payloads.append(f"'{{' + ','.join(filter(None, ({parts}))) + '}}'")
    lines.append(f"    return [{', '.join(payloads)}]")
    return source.compile("encode")

"""Fact paths derived from the vocabulary structs, for checking and describing pack conditions.

A path names one fact: ``child.unborn``, ``assessment_factors``, or a field of the records in
a list (``parents``), which conditions reach by quantifying over the list's items.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import msgspec.inspect as mi

from service.facts.vocabulary import Facts


class FieldKind(StrEnum):
    BOOL = "bool"  # yes or no
    INT = "int"  # a whole number (with a range)
    ENUM = "enum"  # one of named values
    CODES = "codes"  # a list of codes (each at most once)
    RECORDS = "records"  # a list of records (parents), as the number of them recorded


@dataclass(frozen=True, slots=True)
class FactField:
    path: str
    kind: FieldKind
    description: str
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    @property
    def words(self) -> str:
        return self.description.rstrip(".")


@dataclass(frozen=True, slots=True)
class RecordList:
    """A list of records (``parents``): conditions quantify over its items."""

    path: str
    description: str
    item_fields: dict[str, FactField]
    max_items: int

    @property
    def field(self) -> FactField:
        """The list as a fact of its own: how many records it holds (none when not sent)."""
        return FactField(self.path, FieldKind.RECORDS, self.description, minimum=0, maximum=self.max_items)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    fields: dict[str, FactField]
    record_lists: dict[str, RecordList]


def _unwrap(t: mi.Type) -> tuple[mi.Type, str, dict]:
    """Strip ``Annotated`` metadata and ``| None``; keep the description and constraints."""
    description = ""
    constraints: dict = {}
    while True:
        if isinstance(t, mi.Metadata):
            description = (t.extra_json_schema or {}).get("description", description)
            t = t.type
        elif isinstance(t, mi.UnionType):
            (t,) = [x for x in t.types if not isinstance(x, mi.NoneType)]
        else:
            return t, description, constraints


def _field(path: str, declared: mi.Type) -> FactField:
    t, description, _ = _unwrap(declared)
    if isinstance(t, mi.BoolType):
        return FactField(path, FieldKind.BOOL, description)
    if isinstance(t, mi.IntType):
        return FactField(path, FieldKind.INT, description, minimum=t.ge, maximum=t.le)
    if isinstance(t, mi.LiteralType):
        return FactField(path, FieldKind.ENUM, description, values=tuple(str(v) for v in t.values))
    if isinstance(t, mi.ListType) and isinstance(t.item_type, mi.LiteralType):
        return FactField(path, FieldKind.CODES, description, values=tuple(str(v) for v in t.item_type.values))
    raise TypeError(f"unsupported vocabulary type at {path}: {t!r}")


@cache
def vocabulary() -> Vocabulary:
    fields: dict[str, FactField] = {}
    record_lists: dict[str, RecordList] = {}
    root = mi.type_info(Facts)
    assert isinstance(root, mi.StructType)
    for group in root.fields:
        group_type, description, _ = _unwrap(group.type)
        name = group.encode_name
        if isinstance(group_type, mi.StructType):
            for leaf in group_type.fields:
                path = f"{name}.{leaf.encode_name}"
                fields[path] = _field(path, leaf.type)
        elif isinstance(group_type, mi.ListType) and isinstance(group_type.item_type, mi.StructType):
            items = {
                leaf.encode_name: _field(f"{name}[].{leaf.encode_name}", leaf.type)
                for leaf in group_type.item_type.fields
            }
            assert group_type.max_length is not None, f"{name} needs a maximum length"
            record_lists[name] = RecordList(name, description, items, group_type.max_length)
        else:
            fields[name] = _field(name, group.type)
    return Vocabulary(fields, record_lists)

"""The facts behind a prompt, in words a practitioner reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from service.conditions.python import Found, lower_first
from service.conditions.reference import Witness
from service.facts.cin_codes import describe_cin_code
from service.facts.paths import vocabulary

_RECORD_PATH = re.compile(r"^([a-z_]+)\[(\d+)\]\.([a-z_]+)$")
# A record is named by its role ("the mother"), so the role is never listed among its facts.
LABEL_FIELD = "role"
_LABEL_SUFFIX = "." + LABEL_FIELD
_VALUE_WORDS = {True: "yes", False: "no", None: "not recorded"}


NONE_NAMED = "see the facts listed"  # what `{records}` reads when no record is named, by default
RECORDS = "{records}"
COUNTED = "{counted}"


def render_records(because: list[Witness], known: dict[str, Any], none: str = NONE_NAMED) -> str:
    """The parents or carers a rule matched, each with what made it match.

    ``the mother (went to a special school: not recorded) and the father (…)``
    """
    grouped: dict[tuple[str, int], list[str]] = {}
    for path, value in because:
        match = _RECORD_PATH.match(path)
        if not match:
            continue
        list_path, index, field = match.group(1), int(match.group(2)), match.group(3)
        if field == LABEL_FIELD:
            continue
        words = lower_first(vocabulary().record_lists[list_path].item_fields[field].words)
        shown = (
            _VALUE_WORDS.get(value, str(value)) if isinstance(value, bool) or value is None else str(value)
        )
        grouped.setdefault((list_path, index), []).append(f"{words}: {shown}")
    if not grouped:
        return none
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


# --- the fast path: the witnesses the generated explanations find (service.conditions.python)
#
# ``render_records`` above reads witnesses as paths and parses them again; the evaluator's hot
# path instead carries, with each witness, which record it came from and the words for its
# field, all worked out once when the packs are loaded. Both give the same text; the
# differential test compares them on many thousands of generated cases.


class CountContext:
    """What the prompts of one case share, each worked out once and only when asked for: the
    packs' counts, each with the facts it was counted from, and the records' labels."""

    __slots__ = ("_cache", "_counters", "_labels", "facts")

    def __init__(self, facts: Any, counters: dict[str, Callable[[Any], tuple[int, list[Found]]]]) -> None:
        self.facts = facts
        self._counters = counters
        self._cache: dict[str, tuple[int, list[Found]]] = {}
        self._labels: dict[tuple[str, int], str] = {}

    def label(self, list_path: str, index: int) -> str:
        """:func:`record_label` of a record of the case (``the mother``)."""
        found = self._labels.get((list_path, index))
        if found is None:
            found = self._labels[(list_path, index)] = _struct_record_label(self.facts, list_path, index)
        return found

    def get(self, key: str) -> tuple[int, list[Found]]:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._counters[key](self.facts)
        return found


def unique_found(found: list[Found]) -> list[Found]:
    """The first witness of each path, in order."""
    seen: set[str] = set()
    unique: list[Found] = []
    for item in found:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def render_found(because: list[Found], label: Callable[[str, int], str], none: str = NONE_NAMED) -> str:
    """:func:`render_records` for witnesses that carry their record (``label`` names a record of
    the facts, as :func:`record_label` does)."""
    grouped: dict[tuple[str, int], list[str]] = {}
    texts = _ITEM_TEXTS
    for path, value, record in because:
        if record is None or path.endswith(_LABEL_SUFFIX):
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
        return none
    parts = [
        f"{label(list_path, index)} ({'; '.join(items)})" for (list_path, index), items in grouped.items()
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


# --- what a count counted, in words (`{counted}`) ------------------------------------------


def render_counted(
    found: list[Found], label: Callable[[str, int], str], codes: dict[str, frozenset[str]]
) -> str:
    """The facts counts were counted from: each record with its counted facts, then each
    listed code a count asks about (``codes``: per list of codes, the codes asked about).

    ``the mother (spent time in care as a child: yes) and CIN factor 4B, mental health (parent or carer)``
    """
    grouped: dict[tuple[str, int], list[str]] = {}
    others: list[str] = []
    for path, value, record in found:
        if record is not None:
            if path.endswith(_LABEL_SUFFIX):
                continue
            list_path, index, words = record
            text = f"{words}: {_shown(value)}"
            items = grouped.setdefault((list_path, index), [])
            if text not in items:
                items.append(text)
        elif isinstance(value, list):
            others += [
                f"CIN factor {code}, {describe_cin_code(code)}"
                for code in value
                if code in codes.get(path, ())
            ]
        elif path in vocabulary().record_lists:
            others.append(f"{path} recorded: {value}")
        else:
            others.append(f"{lower_first(vocabulary().fields[path].words)}: {_shown(value)}")
    parts = [f"{label(lp, i)} ({'; '.join(items)})" for (lp, i), items in sorted(grouped.items())]
    parts += list(dict.fromkeys(others))
    if not parts:
        return "none known"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _shown(value: Any) -> str:
    return _VALUE_WORDS.get(value, str(value)) if isinstance(value, bool) or value is None else str(value)


def found_of(witnesses: list[Witness]) -> list[Found]:
    """Plain witnesses (``parents[1].care_leaver``, value) with the record each belongs to."""
    found: list[Found] = []
    for path, value in witnesses:
        match = _RECORD_PATH.match(path)
        if match is None:
            found.append((path, value, None))
            continue
        list_path, index, field = match.group(1), int(match.group(2)), match.group(3)
        words = lower_first(vocabulary().record_lists[list_path].item_fields[field].words)
        found.append((path, value, (list_path, index, words)))
    return found


def plain_labels(known: dict[str, Any]) -> Callable[[str, int], str]:
    return lambda list_path, index: record_label(known, list_path, index)

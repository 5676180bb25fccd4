"""The facts behind a prompt, in words a practitioner reads."""

from __future__ import annotations

import re
from typing import Any

from service.facts.paths import vocabulary
from service.packs.conditions import Witness

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

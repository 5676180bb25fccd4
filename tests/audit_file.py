"""Reading an audit file in tests: one JSON record per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec


def audit_records(path: Path, event: str | None = None) -> list[dict[str, Any]]:
    """Every record of a file no process is writing any more, strictly: each line must be a
    whole record (a torn or glued line fails to decode). ``event`` keeps only records of it."""
    records = [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]
    return records if event is None else [r for r in records if r["event"] == event]


def records_so_far(path: Path, event: str | None = None) -> list[dict[str, Any]]:
    """The records of a file workers are still writing: a last line without its newline yet is
    left for the next look."""
    written = path.read_bytes()
    records = [msgspec.json.decode(line) for line in written[: written.rfind(b"\n") + 1].splitlines()]
    return records if event is None else [r for r in records if r["event"] == event]

"""What ``guidance audit verify`` reports: the kinds of problem, each problem at its line, each
chain's head, and the whole verification of some files. See :mod:`service.audit.verify`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from service.audit.records import Follows, Process

TORN = "torn"
UNPARSEABLE = "unparseable"
EDITED = "edited"
PREV_MISMATCH = "prev-mismatch"
DELETED = "deleted"
REORDERED = "reordered"
DUPLICATED = "duplicated"
INSERTED = "inserted"
LOST = "lost"
KINDS = (TORN, UNPARSEABLE, EDITED, PREV_MISMATCH, DELETED, REORDERED, DUPLICATED, INSERTED, LOST)


@dataclass(slots=True)
class Problem:
    """One thing wrong, at one line."""

    file: Path
    line: int
    kind: str
    message: str
    chain: str | None = None
    seq: int | None = None

    def to_builtins(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
            "chain": self.chain,
            "seq": self.seq,
        }


@dataclass(slots=True)
class ChainHead:
    """A chain as far as the files go: note ``last_seq`` and ``head`` to detect truncation later."""

    chain: str
    process: Process | None
    records: int
    first_file: Path
    first_line: int
    last_seq: int
    head: str  # the hash of the record with the highest seq seen in order
    first_ts: str | None
    last_ts: str | None
    last_file: Path
    last_line: int
    follows: Follows | None = None  # the head of the chain this one continues, if any
    follows_found: bool = False  # whether that chain is in the files given
    followed_by: list[str] = field(default_factory=list)
    problems: int = 0
    outages: int = 0  # audit_resumed records: times the service could not write, then could
    refused: int = 0  # records the service refused while it could not write

    def to_builtins(self) -> dict[str, Any]:
        follows = None
        if self.follows is not None:
            follows = {**msgspec.structs.asdict(self.follows), "in_files": self.follows_found}
        return {
            "chain": self.chain,
            "process": msgspec.to_builtins(self.process),
            "records": self.records,
            "first": {"file": str(self.first_file), "line": self.first_line, "ts": self.first_ts},
            "last": {"file": str(self.last_file), "line": self.last_line, "ts": self.last_ts},
            "last_seq": self.last_seq,
            "head": self.head,
            "follows": follows,
            "followed_by": list(self.followed_by),
            "problems": self.problems,
            "outages": self.outages,
            "refused": self.refused,
        }


@dataclass(slots=True)
class FileReport:
    path: Path
    lines: int = 0
    records: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def broken(self) -> Problem | None:
        """The first problem in the file, if any."""
        return self.problems[0] if self.problems else None

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_builtins(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "lines": self.lines,
            "records": self.records,
            "intact": self.intact,
            "problems": [p.to_builtins() for p in self.problems],
            "broken": self.broken.to_builtins() if self.broken else None,
        }


@dataclass(slots=True)
class Verification:
    files: list[FileReport] = field(default_factory=list)
    chains: dict[str, ChainHead] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return all(report.intact for report in self.files)

    @property
    def problems(self) -> list[Problem]:
        return [p for report in self.files for p in report.problems]

    def counts(self) -> dict[str, int]:
        counted = Counter(p.kind for p in self.problems)
        return {kind: counted[kind] for kind in KINDS if counted[kind]}

    def to_builtins(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "problems": self.counts(),
            "files": [report.to_builtins() for report in self.files],
            "chains": [head.to_builtins() for head in self.chains.values()],
        }


# Wording shared by the messages.


def line_text(file: Path, line: int, here: Path) -> str:
    """``line 12``, or ``line 12 of audit.log.1`` when that is another file than ``here``."""
    return f"line {line}" if file == here else f"line {line} of {file}"


def seq_runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted seqs as runs of consecutive ones, first and last of each."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [(a, b) for a, b in runs]


def missing_runs(start: int, end: int, found: list[int]) -> list[tuple[int, int]]:
    """The runs of ``start``..``end - 1`` not among the sorted ``found`` (without listing them all)."""
    runs = []
    low = start
    for a, b in seq_runs(found):
        if a > low:
            runs.append((low, a - 1))
        low = b + 1
    if low < end:
        runs.append((low, end - 1))
    return runs


def seqs_text(runs: list[tuple[int, int]]) -> str:
    """``3``, ``3-5`` or ``3, 5-7``: runs of seqs, for messages."""
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:6])
    return text + (", ..." if len(runs) > 6 else "")


def records_text(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"

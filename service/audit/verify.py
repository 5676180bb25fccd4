"""Checking audit logs: every chain whole, every record as it was written.

Files are read in the order given, as one stream, so a log rotated into several files
verifies when its parts are named oldest first. Lines of several chains (one per process)
interleave freely; each chain is followed by its ``chain`` field. For each file the first
broken record is reported by its 1-based line number, with what is wrong:

- the line is not a complete audit record (unparseable, cut short, or text added);
- the record is not as it was written (its content no longer matches its hash, or its
  bytes are not the canonical form the service writes): it was **edited**;
- a record is missing from its chain (``seq`` jumps): one was **deleted**, or, when the
  missing one is found further on in the file, the records were **reordered**;
- a record repeats or goes back in its chain (``seq`` not above the last): **reordered** or
  duplicated;
- ``prev`` is not the hash of the record before it: that record was edited and given a new
  hash, or this one was put in another's place;
- a chain does not begin with its ``chain_start`` at seq 0: its first records were deleted.

What a file alone cannot show: records removed from the **end** of a chain (or a whole
chain removed), and a tail rewritten by someone who recomputed every hash after their edit.
Both become visible when the chain heads (last seq and hash, which this module reports)
are noted somewhere the writer of the log cannot change, and compared later.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from service.audit.chain import GENESIS, seal

_decode = msgspec.json.Decoder().decode

UNPARSEABLE = "unparseable"
EDITED = "edited"
DELETED = "deleted"
REORDERED = "reordered"


@dataclass(slots=True)
class Break:
    """The first broken record of a file."""

    file: Path
    line: int
    kind: str  # unparseable | edited | deleted | reordered
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
    process: dict[str, Any] | None
    records: int
    first_file: Path
    first_line: int
    last_seq: int
    head: str  # the hash of the last record seen
    first_ts: str | None
    last_ts: str | None
    last_file: Path
    last_line: int

    def to_builtins(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "process": self.process,
            "records": self.records,
            "first": {"file": str(self.first_file), "line": self.first_line, "ts": self.first_ts},
            "last": {"file": str(self.last_file), "line": self.last_line, "ts": self.last_ts},
            "last_seq": self.last_seq,
            "head": self.head,
        }


@dataclass(slots=True)
class FileReport:
    path: Path
    lines: int = 0
    records: int = 0
    broken: Break | None = None
    resynced: bool = False  # an earlier file was broken, so chains were picked up afresh here

    def to_builtins(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "lines": self.lines,
            "records": self.records,
            "intact": self.broken is None,
            "broken": self.broken.to_builtins() if self.broken else None,
            "resynced": self.resynced,
        }


@dataclass(slots=True)
class Verification:
    files: list[FileReport] = field(default_factory=list)
    chains: dict[str, ChainHead] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return all(report.broken is None for report in self.files)

    def to_builtins(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "files": [report.to_builtins() for report in self.files],
            "chains": [head.to_builtins() for head in self.chains.values()],
        }


class _Broken(Exception):
    def __init__(self, kind: str, message: str, chain: str | None = None, seq: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.chain = chain
        self.seq = seq


def parse_line(raw: bytes) -> dict[str, Any]:
    """The record on one line, checked against its own hash; raises ``_Broken`` if it is not whole."""
    text = raw[:-1] if raw.endswith(b"\n") else raw
    try:
        record = _decode(text)
    except msgspec.DecodeError:
        raise _Broken(
            UNPARSEABLE, "not a complete JSON record (cut short, or not written by the service)"
        ) from None
    if not isinstance(record, dict):
        raise _Broken(UNPARSEABLE, "not a JSON object")
    chain, seq, prev, digest = (record.get(k) for k in ("chain", "seq", "prev", "hash"))
    if not (
        isinstance(chain, str)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and isinstance(prev, str)
        and isinstance(digest, str)
        and isinstance(record.get("event"), str)
    ):
        raise _Broken(UNPARSEABLE, "not an audit record: `chain`, `seq`, `prev`, `hash` or `event` missing")
    body = {key: value for key, value in record.items() if key != "hash"}
    expected_line, expected_hash = seal(body)
    if expected_hash != digest:
        raise _Broken(EDITED, "its content does not match its hash: the record was edited", chain, seq)
    if expected_line[:-1] != text:
        raise _Broken(
            EDITED,
            "its bytes are not as the service writes them (reformatted or a field repeated): "
            "the record was edited",
            chain,
            seq,
        )
    return record


def _find_later(lines: Iterator[tuple[int, bytes]], chain: str, seq: int) -> int | None:
    """The line further on in this file holding ``seq`` of ``chain``, if any (reads to the end)."""
    found = None
    needle_chain = f'"chain":"{chain}"'.encode()
    needle_seq = f'"seq":{seq},'.encode()
    for number, raw in lines:
        if found is None and needle_chain in raw and needle_seq in raw:
            try:
                record = _decode(raw)
            except msgspec.DecodeError:
                continue
            if isinstance(record, dict) and record.get("chain") == chain and record.get("seq") == seq:
                found = number
    return found


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        yield from enumerate(handle, start=1)


def verify_files(paths: Iterable[Path]) -> Verification:
    """Check every chain in ``paths`` (read in order, as one stream). Raises ``OSError`` if unreadable."""
    result = Verification()
    states: dict[str, ChainHead] = result.chains
    fresh: set[str] | None = None  # after a broken file: chains picked up afresh as met again
    for path in paths:
        report = FileReport(path)
        result.files.append(report)
        if fresh is not None:
            report.resynced = True
        lines = _numbered_lines(path)
        for number, raw in lines:
            report.lines = number
            try:
                record = parse_line(raw)
                _follow(record, path, number, states, fresh)
            except _Broken as broken:
                report.broken = Break(path, number, broken.kind, broken.message, broken.chain, broken.seq)
                if broken.kind == DELETED and broken.seq is not None and broken.chain is not None:
                    expected = states[broken.chain].last_seq + 1 if broken.chain in states else 0
                    later = _find_later(lines, broken.chain, expected)
                    if later is not None:
                        report.broken.kind = REORDERED
                        report.broken.message = (
                            f"expected seq {expected} of its chain here, but it comes later, at line "
                            f"{later}: the records were reordered"
                        )
                for number, _raw in lines:  # count the rest of the file; check no more of it
                    report.lines = number
                fresh = set(states)
                break
            report.records += 1
    return result


def _follow(
    record: dict[str, Any],
    path: Path,
    number: int,
    states: dict[str, ChainHead],
    fresh: set[str] | None,
) -> None:
    chain, seq, prev, event = record["chain"], record["seq"], record["prev"], record["event"]
    is_start = event == "chain_start"
    if is_start and seq != 0:
        raise _Broken(EDITED, f"a chain_start with seq {seq}: a chain_start only ever has seq 0", chain, seq)
    if seq == 0 and not is_start:
        raise _Broken(EDITED, f"a {event} record with seq 0: only a chain_start opens a chain", chain, seq)
    head = states.get(chain)
    if fresh is not None and (head is None or chain in fresh):
        fresh.discard(chain)  # after a broken file: take this record as the chain's new anchor
    elif head is None:
        if seq != 0:
            raise _Broken(
                DELETED,
                f"its chain begins here at seq {seq}, without its chain_start: the records before it "
                "were deleted (or an earlier file of the log was not given first)",
                chain,
                seq,
            )
        if prev != GENESIS:
            raise _Broken(EDITED, "a chain_start whose prev is not the genesis value", chain, seq)
    else:
        expected = head.last_seq + 1
        where = f"line {head.last_line}" + ("" if head.last_file == path else f" of {head.last_file}")
        if seq > expected:
            missing = seq - expected
            raise _Broken(
                DELETED,
                f"seq {seq} follows seq {head.last_seq} ({where}): {missing} record"
                f"{'s' if missing > 1 else ''} of this chain missing here and not further on in "
                "this file: deleted",
                chain,
                seq,
            )
        if seq < expected:
            raise _Broken(
                REORDERED,
                f"seq {seq} comes after seq {head.last_seq} ({where}): the records were reordered or "
                "one was duplicated",
                chain,
                seq,
            )
        if prev != head.head:
            raise _Broken(
                EDITED,
                f"its prev is not the hash of the record before it (seq {head.last_seq}, {where}): that "
                "record was edited and given a new hash, or this one was put in its place",
                chain,
                seq,
            )
    ts = record.get("ts") if isinstance(record.get("ts"), str) else None
    if head is None:
        states[chain] = ChainHead(
            chain=chain,
            process=record.get("process") if is_start else None,
            records=1,
            first_file=path,
            first_line=number,
            last_seq=seq,
            head=record["hash"],
            first_ts=ts,
            last_ts=ts,
            last_file=path,
            last_line=number,
        )
        return
    head.records += 1
    head.last_seq = seq
    head.head = record["hash"]
    head.last_ts = ts
    head.last_file = path
    head.last_line = number
    if is_start:
        head.process = record.get("process")

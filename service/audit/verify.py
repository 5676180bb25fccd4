"""Checking audit logs: every chain whole, every record as it was written, every problem named.

Files are read in the order given, as one stream, so a log rotated into several files
verifies when its parts are named oldest first. Lines of several chains (one per process)
interleave freely; each chain is followed by its ``chain`` field. Verification never stops at
the first problem: every line is read, and every problem is reported with its file and
1-based line number, and its chain:

- ``torn``: the line is the start of a record cut short (a write that failed, a process that
  died while writing). When a whole record follows the fragment on the same line (logs written
  before the service cut failed writes back), that record is recovered and checked as usual.
- ``unparseable``: the line is not an audit record at all: text added, or an empty line.
- ``edited``: the record is not as it was written: its content no longer matches its hash, or
  its bytes are not the canonical form the service writes, or it breaks a rule every record
  keeps (a ``chain_start`` at seq 0, and only there).
- ``prev-mismatch``: ``prev`` is not the hash of the record before it in its chain: that record
  was edited and given a new hash, or this one was put in its place.
- ``deleted``: records are missing from a chain (``seq`` jumps) and are not found anywhere later
  in the files given; or a chain begins without its ``chain_start``.
- ``reordered``: records missing at one place in a chain turn up later in the files.
- ``duplicated``: an exact copy of a record already seen.
- ``inserted``: a different record claims a seq its chain already has; the one the chain does
  not continue from (the next record's ``prev`` does not point to it) is the inserted one.
- ``lost``: a ``chain_start`` whose ``follows`` names a head (chain, seq, hash) further on than
  the files given hold for that chain: records written to the old file after the copy and
  before the truncation of ``copytruncate``, or removed from the end of an earlier file.

What the files alone cannot show: records removed from the **end** of a chain that no later
chain follows (or a whole chain removed), and a tail rewritten by someone who recomputed every
hash after their edit. Both become visible when the chain heads (last seq and hash, which this
module reports) are noted somewhere the writer of the log cannot change, and compared later.

Memory stays bounded on long logs: per chain, its head, the last ``_RECENT`` records' hashes
(to tell a duplicate from an insertion and to check ``prev`` across reordered records), and
the seqs found out of place.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from service.audit.chain import GENESIS, seal

_decode = msgspec.json.Decoder().decode

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

_RECENT = 1000  # records per chain kept for duplicate, insertion and reordering checks
# A record glued after a torn fragment is looked for on lines up to this long, at this many places.
_RECOVER_BYTES = 4 * 1024 * 1024
_RECOVER_TRIES = 2000
_CHAIN_IN_TEXT = re.compile(rb'"chain":"([0-9a-f]{32})"')


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
    process: dict[str, Any] | None
    records: int
    first_file: Path
    first_line: int
    last_seq: int
    head: str  # the hash of the record with the highest seq seen in order
    first_ts: str | None
    last_ts: str | None
    last_file: Path
    last_line: int
    follows: dict[str, Any] | None = None  # the head of the chain this one continues, if any
    follows_found: bool = False  # whether that chain is in the files given
    followed_by: list[str] = field(default_factory=list)
    problems: int = 0
    outages: int = 0  # audit_resumed records: times the service could not write, then could
    refused: int = 0  # records the service refused while it could not write

    def to_builtins(self) -> dict[str, Any]:
        follows = None
        if self.follows is not None:
            follows = {**self.follows, "in_files": self.follows_found}
        return {
            "chain": self.chain,
            "process": self.process,
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


# ---------------------------------------------------------------------------------------------
# one line


class _Unfit(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _as_record(text: bytes) -> dict[str, Any]:
    """The audit record ``text`` holds (not yet checked against its hash); raises ``_Unfit``."""
    try:
        record = _decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec lets a bad UTF-8 key through as this
        raise _Unfit(UNPARSEABLE, "not JSON") from None
    if not isinstance(record, dict):
        raise _Unfit(UNPARSEABLE, "JSON, but not an object")
    chain, seq, prev, digest = (record.get(k) for k in ("chain", "seq", "prev", "hash"))
    if not (
        isinstance(chain, str)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and seq >= 0
        and isinstance(prev, str)
        and isinstance(digest, str)
        and isinstance(record.get("event"), str)
    ):
        missing = "JSON, but not an audit record: `chain`, `seq`, `prev`, `hash` or `event` missing"
        raise _Unfit(UNPARSEABLE, missing)
    return record


def _seal_problem(record: dict[str, Any], text: bytes) -> str | None:
    """Why the record is not as the service wrote it, or None."""
    body = {key: value for key, value in record.items() if key != "hash"}
    expected_line, expected_hash = seal(body)
    if expected_hash != record["hash"]:
        return "its content does not match its hash: the record was edited"
    if expected_line[:-1] != text:
        return (
            "its bytes are not as the service writes them (reformatted or a field repeated): "
            "the record was edited"
        )
    return None


def recover_glued(text: bytes) -> tuple[int, dict[str, Any]] | None:
    """A whole audit record ending ``text`` after something else (a torn fragment), with where it starts.

    Tries each ``{"`` in turn, up to ``_RECOVER_TRIES`` of them, on lines up to ``_RECOVER_BYTES``.
    """
    if len(text) > _RECOVER_BYTES:
        return None
    start = text.find(b'{"', 1)
    for _ in range(_RECOVER_TRIES):
        if start == -1:
            break
        try:
            return start, _as_record(text[start:])
        except _Unfit:
            start = text.find(b'{"', start + 1)
    return None


@dataclass(slots=True)
class _Line:
    record: dict[str, Any] | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) of the line itself
    chain: str | None = None
    suspect: bool = False  # the record is followed in its chain, but its own content is not trusted


def examine(raw: bytes) -> _Line:
    """What one line holds: a record (checked against its hash), a problem, or both."""
    text = raw[:-1] if raw.endswith(b"\n") else raw
    if not text.strip():
        return _Line(problems=[(UNPARSEABLE, "an empty line: the service never writes one (text added)")])
    try:
        record = _as_record(text)
    except _Unfit as unfit:
        return _unparseable(text, unfit)
    edited = _seal_problem(record, text)
    if edited:
        return _Line(record, [(EDITED, edited)], record["chain"], suspect=True)
    return _Line(record)


def _unparseable(text: bytes, unfit: _Unfit) -> _Line:
    looks_like_record = text.startswith(b'{"') and unfit.message == "not JSON"
    found = _CHAIN_IN_TEXT.search(text)
    chain = found.group(1).decode() if found else None
    glued = recover_glued(text) if unfit.message == "not JSON" else None
    if glued is not None:
        start, record = glued
        what = (
            f"a record cut short ({start} bytes), then a whole record on the same line (checked on "
            "its own): a write that failed, with the next record appended to it"
            if looks_like_record
            else f"text added ({start} bytes) before a whole record on the same line (checked on its own)"
        )
        problems = [(TORN if looks_like_record else UNPARSEABLE, what)]
        edited = _seal_problem(record, text[start:])
        if edited:
            problems.append((EDITED, f"the whole record after the fragment: {edited}"))
        return _Line(record, problems, chain or record["chain"], suspect=bool(edited))
    if looks_like_record:
        cut = (
            "not a whole record: the start of one, cut short (a write that failed, or a process "
            "that died while writing)"
        )
        return _Line(problems=[(TORN, cut)], chain=chain)
    return _Line(problems=[(UNPARSEABLE, f"not a complete audit record ({unfit.message}): text added")])


# ---------------------------------------------------------------------------------------------
# chains


@dataclass(slots=True)
class _Seen:
    hash: str
    prev: str
    file: Path
    line: int


@dataclass(slots=True)
class _Gap:
    """Seqs ``start`` to ``end - 1`` missing where the record with seq ``end`` came."""

    start: int
    end: int
    file: Path
    line: int
    before: _Seen | None  # the record before the gap, None when the chain began here
    before_seq: int
    found: dict[int, tuple[Path, int]] = field(default_factory=dict)


@dataclass(slots=True)
class _Chain:
    head: ChainHead
    expected: int
    recent: dict[int, _Seen] = field(default_factory=dict)
    order: deque[tuple[int, _Seen]] = field(default_factory=deque)
    gaps: list[_Gap] = field(default_factory=list)
    gap_starts: list[int] = field(default_factory=list)
    rivals: list[_Seen] = field(default_factory=list)  # every record claiming the head's seq, when several do
    follows_line: tuple[Path, int] | None = None

    def remember(self, seq: int, seen: _Seen) -> None:
        self.recent[seq] = seen
        self.order.append((seq, seen))
        if len(self.order) > _RECENT:
            old, kept = self.order.popleft()
            if self.recent.get(old) is kept:
                del self.recent[old]


def _where(file: Path, line: int, here: Path) -> str:
    return f"line {line}" if file == here else f"line {line} of {file}"


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted seqs as runs of consecutive ones, first and last of each."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [(a, b) for a, b in runs]


def _missing_runs(start: int, end: int, found: list[int]) -> list[tuple[int, int]]:
    """The runs of ``start``..``end - 1`` not among the sorted ``found`` (without listing them all)."""
    runs = []
    low = start
    for a, b in _runs(found):
        if a > low:
            runs.append((low, a - 1))
        low = b + 1
    if low < end:
        runs.append((low, end - 1))
    return runs


def _seqs(runs: list[tuple[int, int]]) -> str:
    """``3``, ``3-5`` or ``3, 5-7``: runs of seqs, for messages."""
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:6])
    return text + (", ..." if len(runs) > 6 else "")


def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


class _Verifier:
    def __init__(self) -> None:
        self.result = Verification()
        self.states: dict[str, _Chain] = {}
        self.reports: dict[Path, FileReport] = {}

    def problem(
        self, file: Path, line: int, kind: str, message: str, chain: str | None, seq: int | None
    ) -> None:
        report = self.reports[file]
        report.problems.append(Problem(file, line, kind, message, chain, seq))
        if chain is not None and chain in self.result.chains:
            self.result.chains[chain].problems += 1

    # -- reading

    def read(self, path: Path) -> None:
        report = self.reports[path] = FileReport(path)
        self.result.files.append(report)
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                report.lines = number
                line = examine(raw)
                record = line.record
                for kind, message in line.problems:
                    seq = record["seq"] if record is not None else None
                    self.problem(path, number, kind, message, line.chain, seq)
                if record is not None:
                    report.records += 1
                    self.follow(record, path, number, line.suspect)

    # -- following chains

    def follow(self, record: dict[str, Any], path: Path, number: int, suspect: bool) -> None:
        chain, seq, prev, digest, event = (record[k] for k in ("chain", "seq", "prev", "hash", "event"))
        if not suspect:
            self._check_shape(record, path, number)
        state = self.states.get(chain)
        seen = _Seen(digest, prev, path, number)
        ts = record.get("ts") if isinstance(record.get("ts"), str) else None
        if state is None:
            head = ChainHead(chain, None, 0, path, number, seq, digest, ts, ts, path, number)
            self.result.chains[chain] = head
            state = self.states[chain] = _Chain(head, seq + 1)
            if seq > 0:
                self._open_gap(state, 0, seq, path, number, None)
            self._accept(state, seq, seen, ts)
        elif seq == state.expected:
            if state.rivals:
                self._settle_rivals(state, seq, seen, suspect)
            elif not suspect:
                self._check_prev(state, seq, seen, path)
            self._accept(state, seq, seen, ts)
        elif seq > state.expected:
            self._unsettled_rivals(state, "the next record of the chain is missing")
            self._open_gap(state, state.expected, seq, path, number, state.recent.get(state.expected - 1))
            self._accept(state, seq, seen, ts)
        else:
            self._out_of_place(state, seq, seen, path, suspect)
        head = state.head
        head.records += 1
        if event == "chain_start" and seq == 0:
            process = record.get("process")
            head.process = process if isinstance(process, dict) else None
            follows = record.get("follows")
            if isinstance(follows, dict):
                head.follows = follows
                state.follows_line = (path, number)
        elif event == "audit_resumed":
            head.outages += 1
            refused = record.get("refused")
            head.refused += refused if isinstance(refused, int) else 0

    def _check_shape(self, record: dict[str, Any], path: Path, number: int) -> None:
        chain, seq, event = record["chain"], record["seq"], record["event"]
        if event == "chain_start" and seq != 0:
            message = f"a chain_start with seq {seq}: a chain_start only ever has seq 0"
            self.problem(path, number, EDITED, message, chain, seq)
        elif seq == 0 and event != "chain_start":
            message = f"a {event} record with seq 0: only a chain_start opens a chain"
            self.problem(path, number, EDITED, message, chain, seq)
        elif seq == 0 and record["prev"] != GENESIS:
            message = "a chain_start whose prev is not the genesis value"
            self.problem(path, number, EDITED, message, chain, seq)

    def _accept(self, state: _Chain, seq: int, seen: _Seen, ts: str | None) -> None:
        state.expected = seq + 1
        state.remember(seq, seen)
        head = state.head
        head.last_seq, head.head, head.last_ts = seq, seen.hash, ts or head.last_ts
        head.last_file, head.last_line = seen.file, seen.line

    def _check_prev(self, state: _Chain, seq: int, seen: _Seen, path: Path) -> None:
        before = state.recent.get(seq - 1)
        if before is not None and before.hash != seen.prev:
            self.problem(
                path,
                seen.line,
                PREV_MISMATCH,
                f"its prev is not the hash of the record before it (seq {seq - 1}, "
                f"{_where(before.file, before.line, path)}): that record was edited and given a new "
                "hash, or this one was put in its place",
                state.head.chain,
                seq,
            )

    def _open_gap(
        self, state: _Chain, start: int, end: int, path: Path, number: int, before: _Seen | None
    ) -> None:
        state.gaps.append(_Gap(start, end, path, number, before, start - 1))
        state.gap_starts.append(start)

    def _gap_holding(self, state: _Chain, seq: int) -> _Gap | None:
        index = bisect.bisect_right(state.gap_starts, seq) - 1
        if index >= 0:
            gap = state.gaps[index]
            if gap.start <= seq < gap.end and seq not in gap.found:
                return gap
        return None

    def _out_of_place(self, state: _Chain, seq: int, seen: _Seen, path: Path, suspect: bool) -> None:
        chain = state.head.chain
        gap = self._gap_holding(state, seq)
        if gap is not None:  # missing where it belonged, found here: reported with the gap
            gap.found[seq] = (path, seen.line)
            if not suspect:
                self._check_prev(state, seq, seen, path)
            after = state.recent.get(seq + 1)
            if after is not None and after.prev != seen.hash:
                self.problem(
                    after.file,
                    after.line,
                    PREV_MISMATCH,
                    f"its prev is not the hash of the record before it (seq {seq}, found out of "
                    f"place at {_where(path, seen.line, after.file)}): that record was edited and "
                    "given a new hash, or this one was put in its place",
                    chain,
                    seq + 1,
                )
            state.remember(seq, seen)
            return
        earlier = state.recent.get(seq)
        if earlier is None:
            self.problem(
                path,
                seen.line,
                INSERTED,
                f"seq {seq} comes after seq {state.expected - 1}, and an earlier record (more than "
                f"{_RECENT} records back) already has seq {seq}: a copy, or a record inserted",
                chain,
                seq,
            )
        elif earlier.hash == seen.hash:
            self.problem(
                path,
                seen.line,
                DUPLICATED,
                f"an exact copy of the record at {_where(earlier.file, earlier.line, path)} "
                f"(seq {seq}): a record was duplicated",
                chain,
                seq,
            )
        elif seq == state.expected - 1:  # the next record's prev will say which one the chain continues from
            if not state.rivals:
                state.rivals.append(earlier)
            state.rivals.append(seen)
        else:
            after = state.recent.get(seq + 1)
            if after is not None and after.prev == seen.hash:
                self._inserted(earlier, seq, chain, seen, after)
                state.recent[seq] = seen
            else:
                self._inserted(seen, seq, chain, earlier, after)

    def _inserted(self, inserted: _Seen, seq: int, chain: str, genuine: _Seen, after: _Seen | None) -> None:
        because = (
            f"seq {seq + 1} ({_where(after.file, after.line, inserted.file)}) follows that one"
            if after is not None and after.prev == genuine.hash
            else "nothing later in the chain points to this one"
        )
        self.problem(
            inserted.file,
            inserted.line,
            INSERTED,
            f"a second record claiming seq {seq} of its chain, besides the one at "
            f"{_where(genuine.file, genuine.line, inserted.file)}; {because}: this one was inserted",
            chain,
            seq,
        )

    def _settle_rivals(self, state: _Chain, seq: int, seen: _Seen, suspect: bool) -> None:
        """Several records claimed seq - 1; this record's prev names the genuine one."""
        claimants, state.rivals = state.rivals, []
        genuine = next((c for c in claimants if c.hash == seen.prev), None)
        if genuine is None:
            first = claimants[0]
            for other in claimants[1:]:
                self._inserted(other, seq - 1, state.head.chain, first, None)
            if not suspect:
                self._check_prev(state, seq, seen, seen.file)
            return
        state.recent[seq - 1] = genuine
        for other in claimants:
            if other is not genuine:
                self._inserted(other, seq - 1, state.head.chain, genuine, seen)

    def _unsettled_rivals(self, state: _Chain, why: str) -> None:
        if not state.rivals:
            return
        seq = state.expected - 1
        first, *others = state.rivals
        state.rivals = []
        for other in others:
            self.problem(
                other.file,
                other.line,
                INSERTED,
                f"a second record claiming seq {seq} of its chain, besides the one at "
                f"{_where(first.file, first.line, other.file)}; {why}, so nothing says which of the "
                "two is genuine: one of them was inserted",
                state.head.chain,
                seq,
            )

    # -- the end of the files

    def finish(self) -> Verification:
        for state in self.states.values():
            self._unsettled_rivals(state, "no record of the chain follows them")
            for gap in state.gaps:
                self._report_gap(state, gap)
        for state in self.states.values():
            self._check_follows(state)
        for report in self.result.files:
            report.problems.sort(key=lambda p: p.line)
        return self.result

    def _report_gap(self, state: _Chain, gap: _Gap) -> None:
        chain = state.head.chain
        found = sorted(gap.found)
        count_missing = gap.end - gap.start - len(found)
        if gap.before is None:
            here = f"its chain begins here at seq {gap.end}, without its chain_start"
        else:
            where = _where(gap.before.file, gap.before.line, gap.file)
            here = f"seq {gap.end} follows seq {gap.before_seq} ({where})"
        if count_missing:
            span = f"seq {_seqs(_missing_runs(gap.start, gap.end, found))}"
            if gap.before is None and not found:
                message = (
                    f"{here}: the records before it were deleted (or an earlier file of the log was "
                    "not given first)"
                )
            else:
                message = (
                    f"{here}: {_records(count_missing)} of this chain missing here ({span}) and not "
                    "found anywhere later in these files: deleted"
                )
            self.problem(gap.file, gap.line, DELETED, message, chain, gap.end)
        if found:
            places = [gap.found[s] for s in found]
            shown = ", ".join(_where(f, n, gap.file) for f, n in places[:3])
            shown += ", ..." if len(places) > 3 else ""
            one = len(found) == 1
            message = (
                f"{here}: {_records(len(found))} of this chain that belong{'s' if one else ''} before "
                f"it (seq {_seqs(_runs(found))}) come{'s' if one else ''} later, at {shown}: the "
                "records were reordered"
            )
            if gap.before is None:
                message += " (or the files were not given oldest first)"
            self.problem(gap.file, gap.line, REORDERED, message, chain, gap.end)

    def _check_follows(self, state: _Chain) -> None:
        head = state.head
        follows = head.follows
        if follows is None or state.follows_line is None:
            return
        old_chain, old_seq, old_hash = follows.get("chain"), follows.get("seq"), follows.get("hash")
        older = self.states.get(old_chain) if isinstance(old_chain, str) else None
        if older is None or not isinstance(old_seq, int):
            return  # the chain it continues is in none of the files given: nothing to compare
        head.follows_found = True
        older.head.followed_by.append(head.chain)
        path, number = state.follows_line
        last = older.head
        where = _where(last.last_file, last.last_line, path)
        if last.last_seq < old_seq:
            lost = old_seq - last.last_seq
            span = _seqs([(last.last_seq + 1, old_seq)])
            self.problem(
                path,
                number,
                LOST,
                f"this chain continues chain {old_chain} from its seq {old_seq}, but the files given "
                f"end that chain at seq {last.last_seq} ({where}): {_records(lost)} of it (seq {span}) "
                f"{'is' if lost == 1 else 'are'} in none of them: written after the copy and before "
                "the truncation (logrotate copytruncate), or removed from the end of the earlier file",
                head.chain,
                0,
            )
        elif last.last_seq > old_seq:
            self.problem(
                path,
                number,
                INSERTED,
                f"this chain continues chain {old_chain} from its seq {old_seq}, but that chain goes "
                f"on to seq {last.last_seq} ({where}): records were added to it after it ended",
                head.chain,
                0,
            )
        else:
            followed = older.recent.get(old_seq)
            if followed is not None and followed.hash != old_hash:
                self.problem(
                    path,
                    number,
                    PREV_MISMATCH,
                    f"this chain continues chain {old_chain} from its seq {old_seq}, but the record "
                    f"with that seq ({where}) is not the one it followed: it was replaced by one with "
                    "a new hash",
                    head.chain,
                    0,
                )


def verify_files(paths: Iterable[Path]) -> Verification:
    """Check every chain in ``paths`` (read in order, as one stream). Raises ``OSError`` if unreadable."""
    verifier = _Verifier()
    for path in paths:
        verifier.read(path)
    return verifier.finish()

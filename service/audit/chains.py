"""Following chains through the records of some files, in the order given: every gap, every
record out of place, duplicated or inserted, every ``prev`` that does not match, and what a new
chain's ``follows`` says is missing. See :mod:`service.audit.verify` for the kinds of problem.

Memory stays bounded on long logs: per chain, its head, the last ``_RECENT`` records' hashes
(to tell a duplicate from an insertion and to check ``prev`` across reordered records), and
the seqs found out of place.

One module, about 400 lines: :class:`Chains` is one state machine over a chain's records, and its
cases (gap, duplicate, insertion, reorder, follows) are only clear side by side.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from service.audit.chain import GENESIS
from service.audit.examine import Examined
from service.audit.reading import Envelope
from service.audit.records import AuditResumed, ChainStart, to_record
from service.audit.report import (
    DELETED,
    DUPLICATED,
    EDITED,
    INSERTED,
    LOST,
    PREV_MISMATCH,
    REORDERED,
    ChainHead,
    FileReport,
    Problem,
    Verification,
    line_text,
    missing_runs,
    records_text,
    seq_runs,
    seqs_text,
)

__all__ = ["Chains"]

_RECENT = 1000  # records per chain kept for duplicate, insertion and reordering checks


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


class Chains:
    """The chains of the files read so far, followed record by record."""

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

    def open_file(self, path: Path) -> FileReport:
        report = self.reports[path] = FileReport(path)
        self.result.files.append(report)
        return report

    # -- following chains

    def follow(self, line: Examined, path: Path, number: int) -> None:
        """Place the record ``line`` holds in its chain."""
        envelope, fields, suspect = line.envelope, line.fields, line.suspect
        assert envelope is not None and fields is not None
        chain, seq, prev, digest = envelope.chain, envelope.seq, envelope.prev, envelope.hash
        event, ts = envelope.event, envelope.ts
        if not suspect:
            self._check_shape(envelope, path, number)
        state = self.states.get(chain)
        seen = _Seen(digest, prev, path, number)
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
        # The rest of a record is read only where it tells something about its chain: typed,
        # when it is of its kind's shape (a record of a kind this version does not know, or not
        # of its shape, is followed all the same; none the service writes is either).
        if event == "chain_start" and seq == 0:
            start = to_record(fields)
            if isinstance(start, ChainStart):
                head.process = start.process
                if start.follows is not None:
                    head.follows = start.follows
                    state.follows_line = (path, number)
            else:
                head.process = None
        elif event == "audit_resumed":
            head.outages += 1
            resumed = to_record(fields)
            head.refused += resumed.refused if isinstance(resumed, AuditResumed) else 0

    def _check_shape(self, envelope: Envelope, path: Path, number: int) -> None:
        chain, seq, event = envelope.chain, envelope.seq, envelope.event
        if event == "chain_start" and seq != 0:
            message = f"a chain_start with seq {seq}: a chain_start only ever has seq 0"
            self.problem(path, number, EDITED, message, chain, seq)
        elif seq == 0 and event != "chain_start":
            message = f"a {event} record with seq 0: only a chain_start opens a chain"
            self.problem(path, number, EDITED, message, chain, seq)
        elif seq == 0 and envelope.prev != GENESIS:
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
                f"{line_text(before.file, before.line, path)}): that record was edited and given a new "
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
                    f"place at {line_text(path, seen.line, after.file)}): that record was edited and "
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
                f"an exact copy of the record at {line_text(earlier.file, earlier.line, path)} "
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
            f"seq {seq + 1} ({line_text(after.file, after.line, inserted.file)}) follows that one"
            if after is not None and after.prev == genuine.hash
            else "nothing later in the chain points to this one"
        )
        self.problem(
            inserted.file,
            inserted.line,
            INSERTED,
            f"a second record claiming seq {seq} of its chain, besides the one at "
            f"{line_text(genuine.file, genuine.line, inserted.file)}; {because}: this one was inserted",
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
                f"{line_text(first.file, first.line, other.file)}; {why}, so nothing says which of the "
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
            where = line_text(gap.before.file, gap.before.line, gap.file)
            here = f"seq {gap.end} follows seq {gap.before_seq} ({where})"
        if count_missing:
            span = f"seq {seqs_text(missing_runs(gap.start, gap.end, found))}"
            if gap.before is None and not found:
                message = (
                    f"{here}: the records before it were deleted (or an earlier file of the log was "
                    "not given first)"
                )
            else:
                message = (
                    f"{here}: {records_text(count_missing)} of this chain missing here ({span}) and not "
                    "found anywhere later in these files: deleted"
                )
            self.problem(gap.file, gap.line, DELETED, message, chain, gap.end)
        if found:
            places = [gap.found[s] for s in found]
            shown = ", ".join(line_text(f, n, gap.file) for f, n in places[:3])
            shown += ", ..." if len(places) > 3 else ""
            one = len(found) == 1
            message = (
                f"{here}: {records_text(len(found))} of this chain that belong{'s' if one else ''} before "
                f"it (seq {seqs_text(seq_runs(found))}) come{'s' if one else ''} later, at {shown}: the "
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
        old_chain, old_seq, old_hash = follows.chain, follows.seq, follows.hash
        older = self.states.get(old_chain)
        if older is None:
            return  # the chain it continues is in none of the files given: nothing to compare
        head.follows_found = True
        older.head.followed_by.append(head.chain)
        path, number = state.follows_line
        last = older.head
        where = line_text(last.last_file, last.last_line, path)
        if last.last_seq < old_seq:
            lost = old_seq - last.last_seq
            span = seqs_text([(last.last_seq + 1, old_seq)])
            self.problem(
                path,
                number,
                LOST,
                f"this chain continues chain {old_chain} from its seq {old_seq}, but the files given "
                f"end that chain at seq {last.last_seq} ({where}): {records_text(lost)} of it (seq {span}) "
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

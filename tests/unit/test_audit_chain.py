"""The hash chain and its verifier, on trails written by the real AuditTrail to real files."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import random
import resource
import select
import shutil
from pathlib import Path

import msgspec
import pytest
import structlog

from service.audit.chain import GENESIS, canonical, record_hash, seal
from service.audit.sinks import (
    FILE_MISSING,
    FREE_SPACE_LOW,
    WRITE_FAILED,
    AuditWriteError,
    DescriptorSink,
    FileSink,
    file_sink,
)
from service.audit.trail import AuditTrail
from service.audit.verify import (
    DELETED,
    DUPLICATED,
    EDITED,
    INSERTED,
    LOST,
    PREV_MISMATCH,
    REORDERED,
    TORN,
    UNPARSEABLE,
    verify_files,
)
from service.evaluation.evaluator import Evaluator
from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from tests.conftest import KNOWLEDGE

PACKS = load_packs([KNOWLEDGE])
PROMPTS = Evaluator(PACKS).evaluate(msgspec.convert(HARRY_PRE_BIRTH, type=Facts))


def _evaluate(trail: AuditTrail, n: int) -> None:
    trail.evaluation(
        evaluation_id=f"00000000-0000-4000-8000-{n:012d}",
        request_id=f"{n:032x}",
        client="anonymous",
        case_ref=f"CASE-{n}",
        prompts=PROMPTS[: n % 4],
        duration_ms=1.5,
    )


def _write_log(path: Path, records: int = 8) -> AuditTrail:
    trail = AuditTrail(file_sink(path), b"unit-key", PACKS)
    trail.start()
    for n in range(records):
        _evaluate(trail, n)
    return trail


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def test_a_sealed_line_is_canonical_json_whose_hash_covers_everything_but_the_hash() -> None:
    record = {"seq": 1, "event": "feedback", "prev": GENESIS, "chain": "c", "ts": "2026-01-01T00:00:00.000Z"}
    line, digest = seal(dict(record))
    decoded = msgspec.json.decode(line)
    assert line.endswith(b"\n")
    assert decoded["hash"] == digest == hashlib.sha256(canonical(record)).hexdigest()
    assert record_hash(decoded) == digest
    assert line == canonical(record)[:-1] + f',"hash":"{digest}"'.encode() + b"}\n"


def test_records_chain_from_a_chain_start_naming_the_process(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    trail = _write_log(log, records=3)
    records = [msgspec.json.decode(line) for line in _lines(log)]
    assert [r["event"] for r in records] == ["chain_start", "evaluation", "evaluation", "evaluation"]
    assert [r["seq"] for r in records] == [0, 1, 2, 3]
    assert {r["chain"] for r in records} == {trail.chain}
    assert records[0]["prev"] == GENESIS
    assert records[0]["process"] == {"pid": os.getpid(), "host": os.uname().nodename}
    for before, after in itertools.pairwise(records):
        assert after["prev"] == before["hash"] == record_hash(before)


def test_verify_passes_on_two_chains_interleaved_in_one_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    first = AuditTrail(file_sink(log), None, PACKS)
    second = AuditTrail(file_sink(log), None, PACKS)
    for n in range(10):
        _evaluate(first if n % 3 else second, n)
    result = verify_files([log])
    assert result.intact
    assert set(result.chains) == {first.chain, second.chain}
    assert sum(head.records for head in result.chains.values()) == 12  # 10 + two chain_starts


def test_verify_names_the_line_of_a_deleted_record(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    del lines[4]  # seq 4, on line 5
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind, broken.seq) == (5, DELETED, 5)
    assert "seq 5 follows seq 3" in broken.message


def test_verify_names_the_line_of_an_edited_record(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    assert b'"learning_point":2' in lines[6]
    lines[6] = lines[6].replace(b'"learning_point":2', b'"learning_point":3', 1)
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (7, EDITED)
    assert "does not match its hash" in broken.message


def test_an_edit_given_a_fresh_hash_is_caught_at_the_next_record(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    record = msgspec.json.decode(lines[3])
    del record["hash"]
    record["duration_ms"] = 99.0
    lines[3], _ = seal(record)  # the forger recomputes this record's hash
    report = verify_files([_write_lines(log, lines)]).files[0]
    assert [(p.line, p.kind) for p in report.problems] == [(5, PREV_MISMATCH)]
    assert "line 4" in report.problems[0].message


def test_a_reformatted_record_counts_as_edited(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines[2] = lines[2].replace(b'"client":"anonymous"', b'"client": "anonymous"')
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (3, EDITED)


def test_verify_names_the_line_of_reordered_records(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines[5], lines[6] = lines[6], lines[5]
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (6, REORDERED)
    assert "line 7" in broken.message


def test_a_record_moved_back_is_reordered(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines.insert(8, lines.pop(2))  # seq 2 now after seq 7
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (3, REORDERED)


def test_a_duplicated_record_is_caught(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines.insert(5, lines[4])
    report = verify_files([_write_lines(log, lines)]).files[0]
    assert [(p.line, p.kind) for p in report.problems] == [(6, DUPLICATED)]
    assert "line 5" in report.problems[0].message


def test_a_chain_without_its_chain_start_is_broken(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    broken = verify_files([_write_lines(log, _lines(log)[1:])]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (1, DELETED)
    assert "without its chain_start" in broken.message


def test_an_unparseable_line_is_named(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines.insert(3, b'{"event": "note", "text": "added by hand"}\n')
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (4, UNPARSEABLE)


def test_a_line_cut_short_is_named_torn(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    trail = _write_log(log)
    data = log.read_bytes()
    log.write_bytes(data[:-40])
    report = verify_files([log]).files[0]
    assert [(p.line, p.kind, p.chain) for p in report.problems] == [(9, TORN, trail.chain)]


def test_swapping_lines_of_different_chains_breaks_nothing(tmp_path: Path) -> None:
    """Interleaving between processes carries no meaning; only order within a chain does."""
    log = tmp_path / "audit.log"
    first = AuditTrail(file_sink(log), None, PACKS)
    second = AuditTrail(file_sink(log), None, PACKS)
    first.start()
    second.start()
    _evaluate(first, 1)
    _evaluate(second, 2)
    lines = _lines(log)
    lines[2], lines[3] = lines[3], lines[2]
    assert verify_files([_write_lines(log, lines)]).intact


def test_truncating_the_tail_is_not_detectable_from_the_file_alone_only_against_a_noted_head(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    trail = _write_log(log)
    before = verify_files([log]).chains[trail.chain]
    _write_lines(log, _lines(log)[:-2])
    after = verify_files([log])
    assert after.intact  # the limitation, stated honestly
    assert (after.chains[trail.chain].last_seq, after.chains[trail.chain].head) != (
        before.last_seq,
        before.head,
    )


def test_a_rotated_log_verifies_when_its_files_are_given_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    old, new = _write_lines(tmp_path / "audit.log.1", lines[:4]), _write_lines(log, lines[4:])
    assert verify_files([old, new]).intact
    reversed_order = verify_files([new, old])
    assert not reversed_order.intact
    broken = reversed_order.files[0].broken
    assert broken is not None and broken.line == 1


def test_a_broken_file_does_not_condemn_the_next(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log, records=12)
    lines = _lines(log)
    first, second = tmp_path / "audit.log.1", tmp_path / "audit.log.2"
    _write_lines(first, lines[:3] + lines[4:7])  # seq 3 deleted from the older file
    _write_lines(second, lines[7:])  # the newer file, untouched
    result = verify_files([first, second])
    assert [(p.line, p.kind) for p in result.files[0].problems] == [(4, DELETED)]
    assert result.files[1].problems == []
    assert not result.intact


class _FailingOnce:
    """A real sink that fails its first write after being armed, then writes to its file."""

    def __init__(self, path: Path) -> None:
        self._inner = file_sink(path)
        self.armed = False

    def write(self, line: bytes) -> None:
        if self.armed:
            self.armed = False
            raise AuditWriteError("the disk is full")
        self._inner.write(line)


def test_a_record_that_failed_to_write_leaves_the_chain_whole(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    sink = _FailingOnce(log)
    trail = AuditTrail(sink, None, PACKS)
    _evaluate(trail, 1)
    sink.armed = True
    with pytest.raises(AuditWriteError):
        _evaluate(trail, 2)
    _evaluate(trail, 3)
    assert verify_files([log]).intact
    records = [msgspec.json.decode(line) for line in _lines(log)]
    assert [(r["seq"], r["event"]) for r in records] == [
        (0, "chain_start"),
        (1, "evaluation"),
        (2, "audit_resumed"),  # the trail shows its own gap: one record refused
        (3, "evaluation"),
    ]
    assert (records[2]["refused"], records[2]["reason"]) == (1, "audit-write-failed")
    assert records[1]["ts"] <= records[2]["unavailable_since"] <= records[2]["ts"]


def test_a_short_write_is_ended_so_the_next_record_stands_on_its_own_line() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        with pytest.raises(BlockingIOError):
            while True:  # fill the pipe
                os.write(write_end, b"x" * 4096)
        sink = DescriptorSink(write_end, "a full pipe")
        _drain(read_end, limit=8192)  # room for the start of the next line only
        with pytest.raises(AuditWriteError, match="short write"):
            sink.write(b"y" * 70_000 + b"\n")
        _drain(read_end)
        sink.write(b"next\n")
        assert _drain(read_end) == b"\nnext\n"
    finally:
        os.close(read_end)
        os.close(write_end)


def _drain(fd: int, limit: int | None = None) -> bytes:
    data = b""
    while (limit is None or len(data) < limit) and select.select([fd], [], [], 0)[0]:
        data += os.read(fd, 4096 if limit else 65536)
    return data


def test_a_quiet_global_log_level_cannot_drop_audit_records(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        trail = AuditTrail(file_sink(log), None, PACKS)
        _evaluate(trail, 1)
    finally:
        structlog.reset_defaults()
    assert [msgspec.json.decode(line)["event"] for line in _lines(log)] == ["chain_start", "evaluation"]


def test_a_forked_process_starts_a_chain_of_its_own(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    trail = _write_log(log, records=2)
    pid = os.fork()
    if pid == 0:  # the child: write one record and leave at once
        try:
            _evaluate(trail, 50)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    _evaluate(trail, 51)
    records = [msgspec.json.decode(line) for line in _lines(log)]
    child = [r for r in records if r["chain"] != trail.chain]
    assert [(r["event"], r["seq"]) for r in child] == [("chain_start", 0), ("evaluation", 1)]
    assert child[0]["process"]["pid"] == pid
    assert verify_files([log]).intact


# ---------------------------------------------------------------------------------------------
# verify reports every problem, and recovers what a torn line hid


def test_a_whole_record_glued_to_a_torn_line_is_recovered_and_checked(tmp_path: Path) -> None:
    """Logs written before failed writes were cut back: worker A's write came up short, worker
    B's record was appended to the fragment, and A then wrote its record again."""
    log = tmp_path / "audit.log"
    a = AuditTrail(file_sink(log), None, PACKS)
    b = AuditTrail(file_sink(log), None, PACKS)
    a.start()
    b.start()
    _evaluate(a, 1)
    _evaluate(b, 2)
    _evaluate(a, 3)
    a0, b0, a1, b1, a2 = _lines(log)
    _write_lines(log, [a0, b0, a1[:150] + b1, a1, a2])
    result = verify_files([log])
    assert [(p.line, p.kind, p.chain) for p in result.problems] == [(3, TORN, a.chain)]
    assert "whole record on the same line" in result.problems[0].message
    assert result.files[0].records == 5
    assert (result.chains[b.chain].records, result.chains[b.chain].last_seq) == (2, 1)
    assert (result.chains[a.chain].records, result.chains[a.chain].last_seq) == (3, 2)


def test_a_record_inserted_before_the_genuine_one_is_the_one_reported(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    forged = msgspec.json.decode(lines[4])
    del forged["hash"]
    forged["client"] = "someone-else"
    forged_line, _ = seal(forged)  # a valid record, claiming seq 4, with prev pointing at seq 3
    lines.insert(4, forged_line)
    report = verify_files([_write_lines(log, lines)]).files[0]
    assert [(p.line, p.kind, p.seq) for p in report.problems] == [(5, INSERTED, 4)]
    assert "line 6" in report.problems[0].message  # the genuine one, which seq 5 follows


def test_a_record_moved_earlier_is_reported_once_as_reordered(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines.insert(3, lines.pop(6))  # seq 6 now before seq 3, 4, 5
    report = verify_files([_write_lines(log, lines)]).files[0]
    assert [(p.line, p.kind, p.seq) for p in report.problems] == [(4, REORDERED, 6)]
    assert "seq 3-5" in report.problems[0].message


def test_an_empty_line_and_added_text_are_reported_and_the_records_after_them_still_checked(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    lines.insert(2, b"\n")
    lines.insert(6, b"looks fine to me -- J.\n")
    del lines[8]  # and a deletion after both
    report = verify_files([_write_lines(log, lines)]).files[0]
    assert [(p.line, p.kind) for p in report.problems] == [(3, UNPARSEABLE), (7, UNPARSEABLE), (9, DELETED)]


# ---------------------------------------------------------------------------------------------
# the file sink: torn lines, short writes, the free-space floor, files that move


def test_a_file_left_ending_in_a_fragment_gets_the_next_record_on_a_line_of_its_own(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    trail = _write_log(log, records=2)
    whole = log.read_bytes()
    with log.open("ab") as handle:
        handle.write(b'{"case_ref_hash":"5c40e4')  # a process killed while writing
    _evaluate(trail, 3)
    lines = _lines(log)
    assert lines[3] == b'{"case_ref_hash":"5c40e4\n'
    assert log.read_bytes().startswith(whole)
    result = verify_files([log])
    assert [(p.line, p.kind) for p in result.problems] == [(4, TORN)]
    assert result.chains[trail.chain].last_seq == 3


def test_a_short_write_is_cut_back_so_the_file_ends_on_a_whole_record(tmp_path: Path) -> None:
    """A real short write: the file size limit (RLIMIT_FSIZE) in a child process."""
    log = tmp_path / "audit.log"
    limit = 20_000 + 777
    pid = os.fork()
    if pid == 0:  # the child: write until refused, say how the refusal came
        status = 3
        try:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            trail = AuditTrail(file_sink(log), None, PACKS)
            try:
                for n in range(1_000):
                    _evaluate(trail, n)
            except AuditWriteError as error:
                status = 0 if "the part written was removed" in str(error) else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's last write was not a short one"
    data = log.read_bytes()
    assert 0 < len(data) <= limit and data.endswith(b"\n")
    assert limit - len(data) < 3_000  # it filled the file up to one record short of the limit
    assert verify_files([log]).intact


def test_below_the_free_space_floor_nothing_is_written_and_the_trail_says_why(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    trail = AuditTrail(file_sink(log, min_free=2**62), None, PACKS)
    with pytest.raises(AuditWriteError) as refused:
        _evaluate(trail, 1)
    assert refused.value.reason == FREE_SPACE_LOW
    assert log.read_bytes() == b""
    readiness = trail.readiness()
    assert (readiness.ready, readiness.reason) == (False, FREE_SPACE_LOW)
    assert str(log) in (readiness.detail or "") and "GUIDANCE_AUDIT_MIN_FREE" in (readiness.detail or "")
    assert log.read_bytes() == b""


@pytest.mark.parametrize("how", ["deleted", "renamed", "replaced"])
def test_a_moved_file_is_reopened_and_the_new_chain_names_the_old_head(tmp_path: Path, how: str) -> None:
    log, old = tmp_path / "audit.log", tmp_path / "audit.log.1"
    trail = _write_log(log, records=3)
    before = _lines(log)
    head = msgspec.json.decode(before[-1])
    if how == "deleted":
        log.unlink()
    elif how == "renamed":
        log.rename(old)
    else:  # renamed, and a new file created in its place (logrotate's `create`)
        log.rename(old)
        log.touch(mode=0o640)
    _evaluate(trail, 4)
    start, record = (msgspec.json.decode(line) for line in _lines(log))
    assert (start["event"], start["seq"], record["event"], record["seq"]) == (
        "chain_start",
        0,
        "evaluation",
        1,
    )
    assert start["follows"] == {"chain": head["chain"], "seq": head["seq"], "hash": head["hash"]}
    assert start["chain"] == record["chain"] == trail.chain != head["chain"]
    assert verify_files([log]).intact  # alone: the chain it follows is simply not among the files
    if how != "deleted":
        result = verify_files([old, log])
        assert result.intact
        assert result.chains[head["chain"]].followed_by == [trail.chain]
        assert result.chains[trail.chain].follows_found


def test_copytruncate_is_noticed_and_what_its_window_lost_is_reported(tmp_path: Path) -> None:
    log, copy = tmp_path / "audit.log", tmp_path / "audit.log.1"
    trail = _write_log(log, records=3)
    shutil.copyfile(log, copy)
    _evaluate(trail, 4)  # written after the copy, before the truncation: in neither file
    os.truncate(log, 0)
    _evaluate(trail, 5)
    start = msgspec.json.decode(_lines(log)[0])
    assert start["event"] == "chain_start" and start["follows"]["seq"] == 4
    result = verify_files([copy, log])
    assert [(p.file, p.line, p.kind) for p in result.problems] == [(log, 1, LOST)]
    assert "1 record of it (seq 4) is in none of them" in result.problems[0].message


def test_copytruncate_with_nothing_in_its_window_verifies(tmp_path: Path) -> None:
    log, copy = tmp_path / "audit.log", tmp_path / "audit.log.1"
    trail = _write_log(log, records=3)
    shutil.copyfile(log, copy)
    os.truncate(log, 0)
    _evaluate(trail, 4)
    for _ in range(3):  # another writer filled the truncated file past where this one had written
        with log.open("ab") as handle:
            handle.write(_lines(copy)[1])
    _evaluate(trail, 5)
    records = [msgspec.json.decode(line) for line in _lines(log)]
    assert records[0]["event"] == "chain_start" and records[0]["follows"]["seq"] == 3
    # Records of others after this writer's own are no truncation: its chain goes on.
    assert [(r["event"], r["chain"], r["seq"]) for r in (records[0], records[1], records[5])] == [
        ("chain_start", trail.chain, 0),
        ("evaluation", trail.chain, 1),
        ("evaluation", trail.chain, 2),
    ]
    assert verify_files([copy, _write_lines(log, [_lines(log)[i] for i in (0, 1, 5)])]).intact


def test_a_deleted_file_without_a_path_to_reopen_refuses_records(tmp_path: Path) -> None:
    """Standard output redirected to a file: deleted, its records could never be read."""
    log = tmp_path / "stdout.log"
    fd = os.open(log, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    sink = FileSink(fd, "standard output")
    trail = AuditTrail(sink, None, PACKS)
    _evaluate(trail, 1)
    log.unlink()
    with pytest.raises(AuditWriteError) as refused:
        _evaluate(trail, 2)
    assert refused.value.reason == FILE_MISSING
    assert trail.readiness().reason == FILE_MISSING
    sink.close()


def test_a_pipe_whose_reader_has_gone_keeps_the_trail_not_ready() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        trail = AuditTrail(DescriptorSink(write_end, "standard output"), None, PACKS)
        with pytest.raises(AuditWriteError):
            trail.start()
        for _ in range(2):  # each probe writes the record owed, and fails again
            readiness = trail.readiness()
            assert (readiness.ready, readiness.reason) == (False, WRITE_FAILED)
            assert "standard output" in (readiness.detail or "") and "Broken pipe" in (readiness.detail or "")
    finally:
        os.close(write_end)


def test_two_records_claiming_the_last_seq_are_reported_though_nothing_says_which_is_genuine(
    tmp_path: Path,
) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    lines = _lines(log)
    forged = msgspec.json.decode(lines[-1])
    del forged["hash"]
    forged["duration_ms"] = 0.1
    forged_line, _ = seal(forged)
    report = verify_files([_write_lines(log, [*lines, forged_line])]).files[0]
    assert [(p.line, p.kind, p.seq) for p in report.problems] == [(len(lines) + 1, INSERTED, forged["seq"])]
    assert "nothing says which of the two is genuine" in report.problems[0].message


def test_verify_never_fails_on_a_damaged_log_and_finds_every_flipped_byte(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    first = AuditTrail(file_sink(log), None, PACKS)
    second = AuditTrail(file_sink(log), None, PACKS)
    for n in range(12):
        _evaluate(first if n % 3 else second, n)
    clean = log.read_bytes()
    rng = random.Random(11)
    junk = [b"\n", b"\x00\xff", b'{"', b"}", b'{"chain":', b'"seq":-1', b"\xe2\x82", b"[]", b"null"]
    for _ in range(150):
        data = bytearray(clean)
        at = rng.randrange(len(data))
        if rng.random() < 0.5:  # one byte changed: always found
            data[at] = (data[at] + rng.randrange(1, 256)) % 256
            assert not verify_files([_write_lines(log, [bytes(data)])]).intact
        else:  # any damage at all: reported, never a crash
            data[at:at] = rng.choice(junk) * rng.randrange(1, 4)
            verify_files([_write_lines(log, [bytes(data)])])

"""The hash chain and its verifier, on trails written by the real AuditTrail to real files."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import select
from pathlib import Path

import msgspec
import pytest
import structlog

from service.audit.chain import GENESIS, canonical, record_hash, seal
from service.audit.sinks import AuditWriteError, DescriptorSink, file_sink
from service.audit.trail import AuditTrail
from service.audit.verify import DELETED, EDITED, REORDERED, UNPARSEABLE, verify_files
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
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (5, EDITED)
    assert "line 4" in broken.message


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
    broken = verify_files([_write_lines(log, lines)]).files[0].broken
    assert broken is not None
    assert (broken.line, broken.kind) == (6, REORDERED)


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


def test_a_line_cut_short_is_named(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_log(log)
    data = log.read_bytes()
    log.write_bytes(data[:-40])
    report = verify_files([log]).files[0]
    assert report.broken is not None
    assert (report.broken.line, report.broken.kind) == (9, UNPARSEABLE)


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
    assert result.files[0].broken is not None and result.files[0].broken.line == 4
    assert result.files[1].broken is None and result.files[1].resynced
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
    assert [msgspec.json.decode(line)["seq"] for line in _lines(log)] == [0, 1, 2]


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

"""The audit records as typed Structs: written byte for byte as before, read back typed, and
tolerant of what a later version may add.

``records-as-written-at-113b181.jsonl`` holds the lines the trail wrote before its records were
typed (commit 113b181, when each record was a dict), for the fixed inputs of ``_write_fixed``
below: a clock, chain ids, a process id and host name that do not change, and stand-ins for
the packs and prompts. The same inputs must give the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

import service.audit.trail as trail_module
from service.audit.chain import GENESIS, seal
from service.audit.keyed_hash import KeyedHash
from service.audit.reading import Reader
from service.audit.records import (
    AuditResumed,
    CardFeedback,
    ChainStart,
    Evaluation,
    Feedback,
    Fired,
    Follows,
    PackRef,
    Process,
    Record,
    canonical,
    decode_record,
    in_order,
)
from service.audit.show import show
from service.audit.sinks import AuditWriteError, SinkReplaced
from service.audit.summarize import summarize
from service.audit.trail import AuditTrail
from service.audit.verify import EDITED, verify_files
from service.evaluation.prompts import Because
from tests.conftest import REPO

WRITTEN_BEFORE = REPO / "tests" / "fixtures" / "audit" / "records-as-written-at-113b181.jsonl"

PACKS: Any = [
    SimpleNamespace(id="alpha", version="1.2.0", digest="sha256:" + "ab" * 32),
    SimpleNamespace(id="beta", version="0.1.0-rc.1", digest="sha256:" + "cd" * 32),
]
PROMPTS: Any = [
    SimpleNamespace(
        id="alpha/first-rule",
        learning_point=7,
        because=[
            Because(path="parents[0].capacity_doubt", value=True),
            Because(path="parents[0].capacity_formally_assessed", value=None),
            Because(path="parents[1].role", value="mother"),
        ],
    ),
    SimpleNamespace(
        id="beta/second-rule",
        learning_point=12,
        because=[
            Because(path="assessment_factors", value=["21B", "3A"]),
            Because(path="risk_indicators", value=3),
            Because(path="child.unborn", value=False),
            Because(path="assessment_factors", value=[]),
        ],
    ),
]


class _ListSink:
    """Keeps each line; raises ``fail`` once, in place of the next write, when one is set."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.fail: Exception | None = None

    def write(self, line: bytes) -> None:
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.lines.append(bytes(line))


def _ids(n: int) -> tuple[str, str]:
    return f"00000000-0000-4000-8000-{n:012d}", f"{n:032x}"


def _write_fixed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every kind of record, with and without its optional fields, from fixed inputs."""
    times = (f"2026-01-31T09:30:{n // 1000:02d}.{n % 1000:03d}Z" for n in itertools.count(0, 7))
    chains = (f"{n:032x}" for n in itertools.count(0xC0FFEE))
    monkeypatch.setattr(trail_module, "_timestamp", lambda: next(times))
    monkeypatch.setattr(trail_module, "_chain_id", lambda: next(chains))
    monkeypatch.setattr(os, "getpid", lambda: 4242)
    monkeypatch.setattr(socket, "gethostname", lambda: "golden-host")
    sink = _ListSink()
    keyed, unkeyed = AuditTrail(sink, b"golden-key", PACKS), AuditTrail(sink, None, PACKS[:1])

    def evaluation(trail: AuditTrail, n: int, **fields: Any) -> None:
        evaluation_id, request_id = _ids(n)
        trail.evaluation(evaluation_id=evaluation_id, request_id=request_id, **fields)

    def feedback(n: int, about: int, prompt_id: str, outcome: str, comment_given: bool) -> None:
        keyed.feedback(
            evaluation_id=_ids(about)[0],
            prompt_id=prompt_id,
            outcome=outcome,
            request_id=_ids(n)[1],
            client="anonymous",
            comment_given=comment_given,
        )

    keyed.start()
    evaluation(keyed, 1, client="anonymous", case_ref="CASE-0042", prompts=PROMPTS, duration_ms=1.23456)
    evaluation(keyed, 2, client='caller "é" \\ /', case_ref=None, prompts=[], duration_ms=0.0)
    feedback(3, 1, "alpha/first-rule", "already_done", True)
    feedback(4, 1, "beta/second-rule", "disagree", False)
    sink.fail = AuditWriteError("the disk is full")
    with pytest.raises(AuditWriteError):
        evaluation(keyed, 5, client="anonymous", case_ref="CASE-0043", prompts=PROMPTS[1:], duration_ms=2.0)
    evaluation(keyed, 6, client="anonymous", case_ref="CASE-0043", prompts=PROMPTS[1:], duration_ms=17.5)
    sink.fail = SinkReplaced("replaced")  # a new chain, whose chain_start follows the old one
    feedback(7, 6, "beta/second-rule", "accepted", False)
    evaluation(unkeyed, 8, client="anonymous", case_ref="CASE-0042", prompts=PROMPTS[:1], duration_ms=0.0004)
    return sink.lines


def test_records_are_written_byte_for_byte_as_before_they_were_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    written = _write_fixed(monkeypatch)
    before = WRITTEN_BEFORE.read_bytes().splitlines(keepends=True)
    events = [msgspec.json.decode(line)["event"] for line in before]
    assert events == [
        "chain_start",
        "evaluation",
        "evaluation",
        "feedback",
        "feedback",
        "audit_resumed",
        "evaluation",
        "chain_start",  # with follows
        "feedback",
        "chain_start",
        "evaluation",  # no key: no case_ref_hash
    ]
    assert written == before


def test_every_line_reads_back_as_its_typed_record_and_encodes_to_the_same_bytes() -> None:
    kinds = {
        "chain_start": ChainStart,
        "evaluation": Evaluation,
        "feedback": Feedback,
        "audit_resumed": AuditResumed,
    }
    for line in WRITTEN_BEFORE.read_bytes().splitlines(keepends=True):
        record = decode_record(line)
        assert type(record) is kinds[msgspec.json.decode(line)["event"]]
        assert seal(record)[0] == line  # the hash is not a field: sealing the record gives the line
    lines = WRITTEN_BEFORE.read_bytes().splitlines()
    start, head = decode_record(lines[7]), msgspec.json.decode(lines[6])
    assert isinstance(start, ChainStart)
    assert start.process == Process(host="golden-host", pid=4242)
    assert start.packs[1] == PackRef(digest="sha256:" + "cd" * 32, id="beta", version="0.1.0-rc.1")
    assert start.follows == Follows(chain=head["chain"], hash=head["hash"], seq=6)
    first = decode_record(lines[1])
    assert isinstance(first, Evaluation)
    assert first.fired[1].because[0] == Because(path="assessment_factors", value=["21B", "3A"])
    assert (first.tenant, first.trace_id) == (None, None)


def test_tenant_and_trace_id_are_absent_unless_given_and_sorted_in_when_they_are() -> None:
    sink = _ListSink()
    trail = AuditTrail(sink, None, PACKS)
    trail.evaluation(
        evaluation_id=_ids(1)[0],
        request_id=_ids(1)[1],
        client="c",
        case_ref=None,
        prompts=[],
        duration_ms=1.0,
    )
    trail.evaluation(
        evaluation_id=_ids(2)[0],
        request_id=_ids(2)[1],
        client="c",
        case_ref=None,
        prompts=[],
        duration_ms=1.0,
        tenant="tenant-a",
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    )
    trail.feedback(
        evaluation_id=_ids(2)[0],
        prompt_id="alpha/first-rule",
        outcome="accepted",
        request_id=_ids(3)[1],
        client="c",
        comment_given=False,
        tenant="tenant-a",
    )
    plain, with_both, fed_back = (msgspec.json.decode(line) for line in sink.lines[1:])
    assert "tenant" not in plain and "trace_id" not in plain
    assert list(with_both) == [*sorted(k for k in with_both if k != "hash"), "hash"]
    assert (with_both["tenant"], with_both["trace_id"]) == ("tenant-a", "4bf92f3577b34da6a3ce929d0e0e4736")
    assert fed_back["tenant"] == "tenant-a"
    read = decode_record(sink.lines[2])
    assert isinstance(read, Evaluation) and read.tenant == "tenant-a"


def test_nested_parts_encoded_in_declaration_order_are_canonical() -> None:
    fired = [Fired(rule=p.id, learning_point=p.learning_point, because=p.because) for p in PROMPTS]
    assert in_order(fired) == canonical(fired)
    for struct in (Fired, Because, PackRef, Process, Follows):
        assert list(struct.__struct_fields__) == sorted(struct.__struct_fields__), struct


def test_the_case_reference_hmac_is_hmac_sha256_under_the_key() -> None:
    for key in (b"", b"k", b"golden-key", b"x" * 64, b"y" * 65, bytes(range(200))):
        keyed = KeyedHash(key)
        for message in ("", "CASE-0042", "é" * 100):
            expected = hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
            assert keyed.hexdigest(message.encode()) == expected


@pytest.mark.parametrize(
    "nanoseconds",
    [
        0,
        1_767_225_599_999_999_999,  # the last nanosecond of 2025
        1_767_225_600_000_000_000,
        1_767_225_600_000_999_999,
        1_767_225_600_123_456_789,
        1_767_225_601_999_500_000,
    ],
)
def test_the_time_is_written_as_datetime_writes_it(monkeypatch: pytest.MonkeyPatch, nanoseconds: int) -> None:
    monkeypatch.setattr(trail_module.time, "time_ns", lambda: nanoseconds)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanoseconds // 1000)
    expected = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert trail_module._timestamp() == expected
    assert trail_module._timestamp() == expected  # again, from the text kept for that second


def test_chain_ids_are_random_version_4_uuids_in_hex() -> None:
    ids = {trail_module._chain_id() for _ in range(1000)}
    assert len(ids) == 1000
    for chain in ids:
        assert len(chain) == 32 and int(chain, 16) >= 0
        assert chain[12] == "4" and chain[16] in "89ab"


# ---------------------------------------------------------------------------------------------
# what a later version may write


def _rechained(lines: list[bytes], added: dict[int, dict[str, Any]]) -> list[bytes]:
    """The lines with fields added to some records, every hash and prev after them made anew, as
    a later version writing those fields would have written them."""
    heads: dict[str, str] = {}
    out = []
    for index, line in enumerate(lines):
        record = msgspec.json.decode(line)
        del record["hash"]
        record.update(added.get(index, {}))
        record["prev"] = heads.get(record["chain"], record["prev"])
        if "follows" in record:  # the head of the chain it continues, as now written
            record["follows"]["hash"] = heads[record["follows"]["chain"]]
        sealed, heads[record["chain"]] = seal(record)
        out.append(sealed)
    return out


def test_records_with_fields_a_later_version_adds_are_read_verified_and_guarded(tmp_path: Path) -> None:
    lines = WRITTEN_BEFORE.read_bytes().splitlines(keepends=True)
    lines = _rechained(lines, {1: {"signature": {"alg": "x"}, "zz_new": [1, 2]}, 3: {"aa_new": True}})
    log = tmp_path / "later.log"
    log.write_bytes(b"".join(lines))
    assert verify_files([log]).intact
    summary = summarize([log])
    assert (summary["evaluations"], summary["unreadable_lines"]) == (4, 0)
    view = show(_ids(1)[0], [log])
    assert view is not None
    assert [p["rule"] for p in view["prompts"]] == ["alpha/first-rule", "beta/second-rule"]
    assert [f["outcome"] for f in view["prompts"][0]["feedback"]] == ["already_done"]
    # A field this version does not know is still covered by the hash: changed, it is caught.
    log.write_bytes(b"".join(lines).replace(b'"zz_new":[1,2]', b'"zz_new":[1,3]'))
    broken = verify_files([log]).files[0].broken
    assert broken is not None and (broken.line, broken.kind) == (2, EDITED)


def test_a_record_of_a_kind_this_version_does_not_know_is_followed_but_not_read(tmp_path: Path) -> None:
    lines = WRITTEN_BEFORE.read_bytes().splitlines(keepends=True)[:7]
    head = msgspec.json.decode(lines[-1])
    later, _ = seal(
        {
            "event": "decision",
            "chain": head["chain"],
            "seq": 7,
            "prev": head["hash"],
            "ts": head["ts"],
            "x": 1,
        }
    )
    log = tmp_path / "later.log"
    log.write_bytes(b"".join([*lines, later]))
    result = verify_files([log])
    assert result.intact
    assert result.chains[head["chain"]].last_seq == 7
    with pytest.raises(msgspec.ValidationError):
        decode_record(later)
    assert summarize([log])["unreadable_lines"] == 1  # counted, as any line naming no known kind


def test_the_reader_reads_only_the_kind_asked_for() -> None:
    reader = Reader([WRITTEN_BEFORE])
    kinds: dict[type[Record], int] = {ChainStart: 3, Evaluation: 4, Feedback: 3, AuditResumed: 1}  # type: ignore[dict-item]
    for kind, count in kinds.items():
        found = list(reader.records(kind))
        assert len(found) == count and all(type(line.record) is kind for line in found)
    assert reader.unreadable == 0
    assert next(iter(reader.records(ChainStart))).record.prev == GENESIS


class _ReplacedAfter:
    """A sink that writes ``ok`` lines, then finds its file replaced at every write."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.tries = 0

    def write(self, line: bytes) -> None:
        if self.ok:
            self.ok -= 1
            return
        self.tries += 1
        raise SinkReplaced("replaced again")


@pytest.mark.parametrize("opened", [False, True])
def test_a_file_replaced_at_every_try_refuses_the_record_after_three(opened: bool) -> None:
    sink = _ReplacedAfter(ok=1 if opened else 0)
    trail = AuditTrail(sink, None, PACKS)
    if opened:  # the record is tried at once, then a new chain is started for it, twice
        trail.start()
    with pytest.raises(AuditWriteError, match="replaced 3 times while one record was being written"):
        trail.evaluation(
            evaluation_id=_ids(1)[0],
            request_id=_ids(1)[1],
            client="c",
            case_ref=None,
            prompts=[],
            duration_ms=1.0,
        )
    assert sink.tries == 3


def test_cards_are_recorded_canonically_and_card_feedback_reads_back_as_its_kind() -> None:
    sink = _ListSink()
    trail = AuditTrail(sink, None, PACKS)
    cards = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(len(PROMPTS))]
    trail.evaluation(
        evaluation_id=_ids(1)[0],
        request_id=_ids(1)[1],
        client="ehr",
        case_ref=None,
        prompts=PROMPTS,
        duration_ms=1.0,
        pack="alpha",
        card_ids=cards,
    )
    trail.card_feedback(
        card=cards[0],
        service="alpha",
        outcome="not_applicable",
        override_reason="cds-not-applicable",
        request_id=_ids(2)[1],
        client="ehr",
        tenant=None,
        comment_given=True,
    )
    evaluation, feedback = sink.lines[1:]
    for line in (evaluation, feedback):
        record = decode_record(line)
        assert seal(record)[0] == line  # canonical: re-encoding the typed record gives the line
    read = decode_record(evaluation)
    assert isinstance(read, Evaluation)
    assert [f.card for f in read.fired] == cards
    assert [p.id for p in read.packs] == ["alpha"]  # the CDS service's pack alone
    fed_back = decode_record(feedback)
    assert isinstance(fed_back, CardFeedback)
    assert (fed_back.card, fed_back.outcome, fed_back.override_reason, fed_back.tenant) == (
        cards[0],
        "not_applicable",
        "cds-not-applicable",
        None,
    )
    assert "tenant" not in msgspec.json.decode(feedback)

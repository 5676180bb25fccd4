"""The audit trail: one hash-chained JSON line per evaluation and per feedback.

Each record is a Struct of :mod:`service.audit.records` (which decides what a record may hold),
built by the methods below from ids, hashes and the prompts' rule ids and facts: never the case
reference itself, the request body, or free text. Under the chain's lock it is stamped (time,
chain, seq, prev), encoded once as canonical JSON, hashed once, and the line goes through a
structlog logger whose one processor hands it to the sink as it is.

Everything that does not change from record to record is worked out once: the ``packs`` list,
encoded when the trail is built and embedded as is; the key of the case reference's HMAC, set up
once and copied per record; the date and time to the second, shared by every record written in
that second.

One module, past 400 lines, because the chain's state (lock, seq, prev, outage, file
replacement) and every method that stamps a record under it must be read together to see that
no record is written outside the lock or without its place in the chain.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import MutableMapping, Sequence
from typing import Any

import msgspec
import structlog

from service.audit.chain import GENESIS
from service.audit.keyed_hash import KeyedHash
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
    in_order,
)
from service.audit.sinks import AuditSink, AuditWriteError, SinkReplaced
from service.audit.states import AuditFailure, AuditReadiness, AuditStatus
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

__all__ = ["AuditFailure", "AuditReadiness", "AuditStatus", "AuditTrail", "AuditWriteError"]

_log = structlog.get_logger("guidance.audit")
_sha256 = hashlib.sha256

# The time as records write it, UTC to the millisecond: the text up to the second is made once
# per second (when the clock reaches a new one), the milliseconds are looked up.
_MILLISECONDS = tuple(f"{n:03d}Z" for n in range(1000))
_second: tuple[int, str] = (-1, "")


def _timestamp() -> str:
    """Now, as ``2026-11-26T06:36:32.675Z`` (what ``datetime.now(UTC).isoformat(timespec=
    "milliseconds")`` gives, with ``Z``): the same clock, truncated to the millisecond."""
    global _second
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    second = _second
    if second[0] != seconds:
        second = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds)))
    return second[1] + _MILLISECONDS[nanoseconds // 1_000_000]


def _chain_id() -> str:
    """A random chain id, 32 hex digits (a version 4 UUID's, without the ``uuid`` module)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def _as_line(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> bytes:
    """The one processor: the line was rendered, chained and sealed before it was logged."""
    line: bytes = event_dict["event"]
    return line


class _SinkLogger:
    """The structlog "logger" at the end of the chain: it only writes the rendered line."""

    def __init__(self, sink: AuditSink) -> None:
        self.msg = self.info = sink.write


# Pinned rather than taken from structlog's global configuration: a global log level set to
# WARNING (Litestar's plugin configures one) must never silently drop audit records.
_AUDIT_LOGGER_CLASS = structlog.make_filtering_bound_logger(logging.NOTSET)

# How many times in a row the file may turn out replaced while one record is being written.
_REPLACEMENTS = 3

_NONE_FIRED = msgspec.Raw(in_order([]))


def _fired_tail(rule: str, learning_point: int) -> bytes:
    """What follows ``because`` (and ``card``) in a ``Fired`` as the trail writes it."""
    whole = in_order(Fired(rule=rule, learning_point=learning_point, because=[]))
    return whole[whole.index(b',"learning_point":') :]


class _Outage:
    __slots__ = ("reason", "refused", "since")

    def __init__(self, since: str, reason: str) -> None:
        self.since = since
        self.reason = reason
        self.refused = 0


def _new_chain_in(trail: AuditTrail | None) -> None:
    if trail is not None:
        trail._new_chain()


class AuditTrail:
    def __init__(self, sink: AuditSink, key: bytes | None, packs: Sequence[Pack]) -> None:
        # Keyed once; each case reference hashes on copies (saves the key set-up per record).
        self._case_ref_mac = KeyedHash(key) if key is not None else None
        self._sink = sink
        self._new_chain()
        # Encoded once, in canonical form, and embedded as is in every record (msgspec writes a
        # Raw value's bytes unchanged; read back, they are the list of PackRef they encode).
        refs = [PackRef(id=p.id, version=p.version, digest=p.digest) for p in packs]
        self._packs: Any = msgspec.Raw(canonical(refs))
        # A CDS Hooks service is one pack: its evaluations name that pack alone.
        self._pack_refs: dict[str, Any] = {ref.id: msgspec.Raw(canonical([ref])) for ref in refs}
        self._fired_tails: dict[str, bytes] = {}  # rule id -> the end of its Fired, made once
        self._log_line = (
            structlog.wrap_logger(
                _SinkLogger(sink),
                processors=[_as_line],
                wrapper_class=_AUDIT_LOGGER_CLASS,
                context_class=dict,
            )
            .bind()
            .info
        )
        # A process forked after this point (a pre-forking server) starts a chain of its own,
        # rather than continuing this one in two places at once.
        trail = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _new_chain_in(trail()))

    def _new_chain(self) -> None:
        self._lock = threading.Lock()
        self.chain = _chain_id()
        self._seq = 0
        self._prev = GENESIS
        self._follows: Follows | None = None  # the head of the chain this one continues
        self._outage: _Outage | None = None  # since when records have been refused, and why
        self._last_failure: tuple[float, str] | None = None  # when (epoch seconds) and why

    def _write(self, record: Record) -> None:
        with self._lock:
            try:
                replacements = _REPLACEMENTS
                if self._seq and self._outage is None:  # the chain is open and owes nothing: write
                    try:
                        self._append(record)
                        return
                    except SinkReplaced:
                        self._continue_in_new_file()
                        replacements -= 1
                self._append_owed(record, replacements)
            except AuditWriteError as error:
                self._unavailable(error, refused=1)
                # For operators, on the process log: which sink failed and how; nothing of the request.
                _log.error(
                    "audit_write_failed",
                    record=type(record).__struct_config__.tag,
                    reason=error.reason,
                    error=str(error),
                )
                raise

    def _append_owed(self, record: Record | None, replacements: int = _REPLACEMENTS) -> None:
        """This chain's ``chain_start`` if not yet written, the ``audit_resumed`` record owed
        after an outage, then the record (if any). Raises ``AuditWriteError``."""
        for _ in range(replacements):
            try:
                if self._seq == 0:
                    self._append(self._chain_start())
                    self._follows = None
                if self._outage is not None:
                    outage = self._outage
                    self._append(
                        AuditResumed(
                            ts="",
                            chain="",
                            seq=0,
                            prev="",
                            unavailable_since=outage.since,
                            refused=outage.refused,
                            reason=outage.reason,
                        )
                    )
                    self._outage = None
                    _log.info("audit_resumed", unavailable_since=outage.since, refused=outage.refused)
                if record is not None:
                    self._append(record)
                return
            except SinkReplaced:
                self._continue_in_new_file()
        raise AuditWriteError(
            f"the audit file was replaced {_REPLACEMENTS} times while one record was being written"
        )

    def _append(self, record: Record) -> None:
        """Stamp, encode, hash and write one record. The sink raises ``AuditWriteError`` when it
        cannot write (``SinkReplaced`` when its file moved); the chain then stays put, so the
        next record written follows the last one that was."""
        record.ts = _timestamp()
        record.chain = self.chain
        record.seq = self._seq
        record.prev = self._prev
        body = canonical(record)
        digest = _sha256(body).hexdigest()
        self._log_line(body[:-1] + b',"hash":"' + digest.encode() + b'"}\n')
        self._seq += 1
        self._prev = digest

    def _chain_start(self) -> ChainStart:
        return ChainStart(
            ts="",
            chain="",
            seq=0,
            prev="",
            process=Process(pid=os.getpid(), host=socket.gethostname()),
            packs=self._packs,
            follows=self._follows,
        )

    def _continue_in_new_file(self) -> None:
        """The sink's file was replaced: a new chain starts in the new file, its ``chain_start``
        naming the head of this one (when this one has a record) in ``follows``."""
        if self._seq > 0:
            self._follows = Follows(chain=self.chain, seq=self._seq - 1, hash=self._prev)
        _log.warning(
            "audit_file_replaced",
            sink=getattr(self._sink, "name", None),
            follows=self._follows.chain if self._follows else None,
        )
        self.chain = _chain_id()
        self._seq = 0
        self._prev = GENESIS

    def _unavailable(self, error: AuditWriteError, *, refused: int) -> None:
        self._last_failure = (time.time(), error.reason)
        if self._outage is None:
            self._outage = _Outage(_timestamp(), error.reason)
            _log.error("audit_unavailable", reason=error.reason, error=str(error))
        self._outage.refused += refused

    def start(self) -> None:
        """Open this process's chain. A chain not yet opened opens before its first record."""
        with self._lock:
            try:
                self._append_owed(None)
            except AuditWriteError as error:
                self._unavailable(error, refused=0)
                raise

    def readiness(self) -> AuditReadiness:
        """Whether a record can be written now, found out by trying what the next record would.

        Checks the sink (a moved file is reopened and its new chain started; the free-space
        floor), and while records are being refused, writes the ``audit_resumed`` record owed
        as its probe: ready again as soon as that succeeds.
        """
        check = getattr(self._sink, "check", None)
        with self._lock:
            try:
                for _ in range(_REPLACEMENTS):
                    try:
                        if check is not None:
                            check()
                        break
                    except SinkReplaced:
                        self._continue_in_new_file()
                if self._seq == 0 or self._outage is not None:
                    self._append_owed(None)
            except AuditWriteError as error:
                self._unavailable(error, refused=0)
                return AuditReadiness(ready=False, reason=error.reason, detail=str(error))
        return AuditReadiness(ready=True)

    def status(self) -> AuditStatus:
        with self._lock:
            outage = self._outage
            return AuditStatus(
                available=outage is None,
                chain=self.chain,
                seq=self._seq - 1 if self._seq else None,
                unavailable_since=outage.since if outage else None,
                refused=outage.refused if outage else 0,
                last_failure=AuditFailure.at_time(*self._last_failure) if self._last_failure else None,
            )

    def _fired(self, prompts: list[Prompt], card_ids: list[str] | None) -> Any:
        """The prompts shown (with the card each was shown as, under CDS Hooks), encoded here in
        declaration order (see Fired) and embedded as is, like ``packs``; most evaluations show
        none. Each is written as its ``Fired`` would be: the facts encoded, the rest (learning
        point and rule, fixed per rule) pasted from bytes made once."""
        if not prompts:
            return _NONE_FIRED
        tails = self._fired_tails
        parts = []
        for index, prompt in enumerate(prompts):
            tail = tails.get(prompt.id)
            if tail is None:
                tail = tails[prompt.id] = _fired_tail(prompt.id, prompt.learning_point)
            card = b"" if card_ids is None else b',"card":' + in_order(card_ids[index])
            parts.append(b'{"because":' + in_order(prompt.because) + card + tail)
        return msgspec.Raw(b"[" + b",".join(parts) + b"]")

    def case_ref_hash(self, case_ref: str | None) -> str | None:
        if case_ref is None or self._case_ref_mac is None:
            return None
        return self._case_ref_mac.hexdigest(case_ref.encode())

    def evaluation(
        self,
        *,
        evaluation_id: str,
        request_id: str,
        client: str,
        case_ref: str | None,
        prompts: list[Prompt],
        duration_ms: float,
        tenant: str | None = None,
        pack: str | None = None,
        card_ids: list[str] | None = None,
        trace_id: str | None = None,
    ) -> None:
        self._write(
            Evaluation(
                ts="",
                chain="",
                seq=0,
                prev="",
                evaluation_id=evaluation_id,
                request_id=request_id,
                client=client,
                packs=self._packs if pack is None else self._pack_refs[pack],
                fired=self._fired(prompts, card_ids),
                duration_ms=round(duration_ms, 3),
                case_ref_hash=self.case_ref_hash(case_ref),
                tenant=tenant,
                trace_id=trace_id,
            )
        )

    def feedback(
        self,
        *,
        evaluation_id: str,
        prompt_id: str,
        outcome: str,
        request_id: str,
        client: str,
        comment_given: bool,
        tenant: str | None = None,
    ) -> None:
        self._write(
            Feedback(
                ts="",
                chain="",
                seq=0,
                prev="",
                evaluation_id=evaluation_id,
                prompt_id=prompt_id,
                outcome=outcome,
                request_id=request_id,
                client=client,
                comment_given=comment_given,
                tenant=tenant,
            )
        )

    def card_feedback(
        self,
        *,
        card: str,
        service: str,
        outcome: str,
        override_reason: str | None,
        request_id: str,
        client: str,
        tenant: str | None,
        comment_given: bool,
    ) -> None:
        """Feedback on a CDS Hooks card: the card names its evaluation's prompt in the
        evaluation record (``fired[].card``), so the record keeps only the card."""
        self._write(
            CardFeedback(
                ts="",
                chain="",
                seq=0,
                prev="",
                card=card,
                service=service,
                outcome=outcome,
                override_reason=override_reason,
                request_id=request_id,
                client=client,
                comment_given=comment_given,
                tenant=tenant,
            )
        )

"""The audit trail: one hash-chained JSON line per evaluation and per feedback.

Records go through a structlog logger whose processors stamp the time, chain the record and
render canonical JSON. What a record may hold is decided here and nowhere else: ids, hashes,
pack versions, rule ids with the facts behind them (booleans, enums and numbers only) and
timings. Never the case reference itself, the request body, or free text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import threading
import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from service.audit.chain import GENESIS, canonical, seal
from service.audit.sinks import AuditSink, AuditWriteError, SinkReplaced
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

__all__ = ["AuditReadiness", "AuditTrail", "AuditWriteError"]

_log = structlog.get_logger("guidance.audit")


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _SinkLogger:
    """The structlog "logger" at the end of the chain: it only writes the rendered line."""

    def __init__(self, sink: AuditSink) -> None:
        self._sink = sink

    def msg(self, line: bytes) -> None:
        self._sink.write(line)

    info = msg


# Pinned rather than taken from structlog's global configuration: a global log level set to
# WARNING (Litestar's plugin configures one) must never silently drop audit records.
_AUDIT_LOGGER_CLASS = structlog.make_filtering_bound_logger(logging.NOTSET)

# How many times in a row the file may turn out replaced while one record is being written.
_REPLACEMENTS = 3


class AuditReadiness(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the trail can take a record now; what ``GET /ready`` reports."""

    ready: bool
    reason: str | None = None  # audit-write-failed | audit-file-missing | audit-free-space-low
    detail: str | None = None  # a sentence naming the sink and the figures; never a record's content


class _Outage:
    __slots__ = ("reason", "refused", "since")

    def __init__(self, since: str, reason: str) -> None:
        self.since = since
        self.reason = reason
        self.refused = 0


class AuditTrail:
    def __init__(self, sink: AuditSink, key: bytes | None, packs: list[Pack] | tuple[Pack, ...]) -> None:
        # Keyed once; each case reference hashes on a copy (saves the key set-up per record).
        self._case_ref_mac = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
        self._sink = sink
        self._new_chain()
        packs_list = [{"id": p.id, "version": p.version, "digest": p.digest} for p in packs]
        # Encoded once, in canonical form, and embedded as is in every record.
        self._packs = msgspec.Raw(canonical(packs_list))
        self._pack_refs = {ref["id"]: msgspec.Raw(canonical([ref])) for ref in packs_list}
        self._logger = structlog.wrap_logger(
            _SinkLogger(sink),
            processors=[self._chain_and_seal],
            wrapper_class=_AUDIT_LOGGER_CLASS,
            context_class=dict,
        ).bind()
        # A process forked after this point (a pre-forking server) starts a chain of its own,
        # rather than continuing this one in two places at once.
        trail = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (t := trail()) is not None and t._new_chain())

    def _new_chain(self) -> None:
        self._lock = threading.Lock()
        self.chain = uuid.uuid4().hex
        self._seq = 0
        self._prev = GENESIS
        self._pending_hash = GENESIS
        self._follows: dict[str, Any] | None = None  # the head of the chain this one continues
        self._outage: _Outage | None = None  # since when records have been refused, and why

    def _chain_and_seal(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> bytes:
        event_dict["ts"] = _utc_timestamp()
        event_dict["chain"] = self.chain
        event_dict["seq"] = self._seq
        event_dict["prev"] = self._prev
        line, self._pending_hash = seal(event_dict)
        return line

    def _write(self, event: str, **fields: Any) -> None:
        with self._lock:
            try:
                self._append_owed(event, fields)
            except AuditWriteError as error:
                self._unavailable(error, refused=1)
                # For operators, on the process log: which sink failed and how; nothing of the request.
                _log.error("audit_write_failed", record=event, reason=error.reason, error=str(error))
                raise

    def _append_owed(self, event: str | None, fields: dict[str, Any]) -> None:
        """This chain's ``chain_start`` if not yet written, the ``audit_resumed`` record owed
        after an outage, then the record (if any). Raises ``AuditWriteError``."""
        for _ in range(_REPLACEMENTS):
            try:
                if self._seq == 0:
                    self._append("chain_start", **self._chain_start_fields())
                    self._follows = None
                if self._outage is not None:
                    outage = self._outage
                    self._append(
                        "audit_resumed",
                        unavailable_since=outage.since,
                        refused=outage.refused,
                        reason=outage.reason,
                    )
                    self._outage = None
                    _log.info("audit_resumed", unavailable_since=outage.since, refused=outage.refused)
                if event is not None:
                    self._append(event, **fields)
                return
            except SinkReplaced:
                self._continue_in_new_file()
        raise AuditWriteError(
            f"the audit file was replaced {_REPLACEMENTS} times while one record was being written"
        )

    def _append(self, event: str, **fields: Any) -> None:
        # The sink raises AuditWriteError when it cannot write; the chain then stays put, so
        # the next record written follows the last one that was.
        self._logger.info(event, **fields)
        self._seq += 1
        self._prev = self._pending_hash

    def _continue_in_new_file(self) -> None:
        """The sink's file was replaced: a new chain starts in the new file, its ``chain_start``
        naming the head of this one (when this one has a record) in ``follows``."""
        if self._seq > 0:
            self._follows = {"chain": self.chain, "seq": self._seq - 1, "hash": self._prev}
        _log.warning(
            "audit_file_replaced",
            sink=getattr(self._sink, "name", None),
            follows=self._follows["chain"] if self._follows else None,
        )
        self.chain = uuid.uuid4().hex
        self._seq = 0
        self._prev = GENESIS
        self._pending_hash = GENESIS

    def _unavailable(self, error: AuditWriteError, *, refused: int) -> None:
        if self._outage is None:
            self._outage = _Outage(_utc_timestamp(), error.reason)
            _log.error("audit_unavailable", reason=error.reason, error=str(error))
        self._outage.refused += refused

    def _chain_start_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "process": {"pid": os.getpid(), "host": socket.gethostname()},
            "packs": self._packs,
        }
        if self._follows is not None:
            fields["follows"] = self._follows
        return fields

    def start(self) -> None:
        """Open this process's chain. A chain not yet opened opens before its first record."""
        with self._lock:
            try:
                self._append_owed(None, {})
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
                    self._append_owed(None, {})
            except AuditWriteError as error:
                self._unavailable(error, refused=0)
                return AuditReadiness(ready=False, reason=error.reason, detail=str(error))
        return AuditReadiness(ready=True)

    def case_ref_hash(self, case_ref: str | None) -> str | None:
        if case_ref is None or self._case_ref_mac is None:
            return None
        mac = self._case_ref_mac.copy()
        mac.update(case_ref.encode())
        return mac.hexdigest()

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
    ) -> None:
        fired = [
            {
                "rule": p.id,
                "learning_point": p.learning_point,
                "because": p.because,  # Because structs: encoded as {"path", "value"}
            }
            for p in prompts
        ]
        if card_ids is not None:
            for entry, card_id in zip(fired, card_ids, strict=True):
                entry["card"] = card_id
        fields: dict[str, Any] = {
            "evaluation_id": evaluation_id,
            "request_id": request_id,
            "client": client,
            "packs": self._packs if pack is None else self._pack_refs[pack],
            "fired": fired,
            "duration_ms": round(duration_ms, 3),
        }
        if tenant is not None:
            fields["tenant"] = tenant
        digest = self.case_ref_hash(case_ref)
        if digest is not None:
            fields["case_ref_hash"] = digest
        self._write("evaluation", **fields)

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
            "feedback",
            evaluation_id=evaluation_id,
            prompt_id=prompt_id,
            outcome=outcome,
            request_id=request_id,
            client=client,
            comment_given=comment_given,
            **({"tenant": tenant} if tenant is not None else {}),
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
        fields: dict[str, Any] = {
            "card": card,
            "service": service,
            "outcome": outcome,
            "request_id": request_id,
            "client": client,
            "comment_given": comment_given,
        }
        if override_reason is not None:
            fields["override_reason"] = override_reason
        if tenant is not None:
            fields["tenant"] = tenant
        self._write("feedback", **fields)

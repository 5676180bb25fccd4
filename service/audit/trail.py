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
from service.audit.sinks import AuditSink, AuditWriteError
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

__all__ = ["AuditTrail", "AuditWriteError"]

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


class AuditTrail:
    def __init__(self, sink: AuditSink, key: bytes | None, packs: list[Pack] | tuple[Pack, ...]) -> None:
        # Keyed once; each case reference hashes on a copy (saves the key set-up per record).
        self._case_ref_mac = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None
        self._new_chain()
        packs_list = [{"id": p.id, "version": p.version, "digest": p.digest} for p in packs]
        # Encoded once, in canonical form, and embedded as is in every record.
        self._packs = msgspec.Raw(canonical(packs_list))
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
                if self._seq == 0 and event != "chain_start":
                    self._append("chain_start", **self._chain_start_fields())
                self._append(event, **fields)
            except AuditWriteError as error:
                # For operators, on the process log: which sink failed and how; nothing of the request.
                _log.error("audit_write_failed", record=event, error=str(error))
                raise

    def _append(self, event: str, **fields: Any) -> None:
        # The sink raises AuditWriteError when it cannot write; the chain then stays put, so
        # the next record written follows the last one that was.
        self._logger.info(event, **fields)
        self._seq += 1
        self._prev = self._pending_hash

    def _chain_start_fields(self) -> dict[str, Any]:
        return {"process": {"pid": os.getpid(), "host": socket.gethostname()}, "packs": self._packs}

    def start(self) -> None:
        """Open this process's chain. A chain not yet opened opens before its first record."""
        with self._lock:
            if self._seq == 0:
                self._append("chain_start", **self._chain_start_fields())

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
    ) -> None:
        fields: dict[str, Any] = {
            "evaluation_id": evaluation_id,
            "request_id": request_id,
            "client": client,
            "packs": self._packs,
            "fired": [
                {
                    "rule": p.id,
                    "learning_point": p.learning_point,
                    "because": p.because,  # Because structs: encoded as {"path", "value"}
                }
                for p in prompts
            ],
            "duration_ms": round(duration_ms, 3),
        }
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
    ) -> None:
        self._write(
            "feedback",
            evaluation_id=evaluation_id,
            prompt_id=prompt_id,
            outcome=outcome,
            request_id=request_id,
            client=client,
            comment_given=comment_given,
        )

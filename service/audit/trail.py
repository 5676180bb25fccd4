"""The audit trail: one hash-chained JSON line per evaluation and per feedback.

Records go through a structlog logger whose processors stamp the time, chain the record and
render canonical JSON. What a record may hold is decided here and nowhere else: ids, hashes,
pack versions, rule ids with the facts behind them (booleans, enums and numbers only) and
timings. Never the case reference itself, the request body, or free text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from service.audit.chain import GENESIS, seal
from service.audit.sinks import AuditSink, AuditWriteError
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

__all__ = ["AuditTrail", "AuditWriteError"]


def _utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _SinkLogger:
    """The structlog "logger" at the end of the chain: it only writes the rendered line."""

    def __init__(self, sink: AuditSink) -> None:
        self._sink = sink

    def msg(self, line: bytes) -> None:
        self._sink.write(line)

    info = msg


class AuditTrail:
    def __init__(self, sink: AuditSink, key: bytes | None, packs: list[Pack] | tuple[Pack, ...]) -> None:
        self.chain = uuid.uuid4().hex
        self._key = key
        self._seq = 0
        self._prev = GENESIS
        self._lock = threading.Lock()
        self._pending_hash = GENESIS
        self._packs = [{"id": p.id, "version": p.version, "digest": p.digest} for p in packs]
        self._logger = structlog.wrap_logger(
            _SinkLogger(sink),
            processors=[self._stamp, self._seal],
            cache_logger_on_first_use=True,
        )

    def _stamp(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict["ts"] = _utc_timestamp()
        event_dict["chain"] = self.chain
        event_dict["seq"] = self._seq
        event_dict["prev"] = self._prev
        return event_dict

    def _seal(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> bytes:
        line = seal(event_dict)
        self._pending_hash = event_dict["hash"]
        return line

    def _write(self, event: str, **fields: Any) -> None:
        with self._lock:
            if self._seq == 0 and event != "chain_start":
                self._append("chain_start", **self._chain_start_fields())
            self._append(event, **fields)

    def _append(self, event: str, **fields: Any) -> None:
        # The sink raises AuditWriteError when it cannot write; the chain then stays put.
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
        if case_ref is None or self._key is None:
            return None
        return hmac.new(self._key, case_ref.encode(), hashlib.sha256).hexdigest()

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
                    "because": [{"path": b.path, "value": b.value} for b in p.because],
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

"""What the audit trail says of itself: whether it can take a record (readiness), and its state
as last found (status). Never a record's content."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class AuditReadiness(msgspec.Struct, frozen=True, kw_only=True):
    """Whether the trail can take a record now; what ``GET /ready`` reports."""

    ready: bool
    reason: str | None = None  # audit-write-failed | audit-file-missing | audit-free-space-low
    detail: str | None = None  # a sentence naming the sink and the figures; never a record's content


class AuditFailure(msgspec.Struct, frozen=True, kw_only=True):
    at: str  # when, UTC to the millisecond, as records write the time
    reason: str  # audit-write-failed | audit-file-missing | audit-free-space-low

    @classmethod
    def at_time(cls, seconds: float, reason: str) -> AuditFailure:
        when = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
        return cls(at=when.replace("+00:00", "Z"), reason=reason)


class AuditStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The trail as last found, for ``GET /v1/status``; unlike readiness, finding it writes nothing."""

    available: bool  # false from a refused record (or failed probe) until a write succeeds again
    chain: str
    seq: int | None  # of the last record written in this chain; None before its chain_start
    unavailable_since: str | None = None
    refused: int = 0  # records refused since then
    last_failure: AuditFailure | None = None  # kept after recovery

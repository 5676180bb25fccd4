"""``GET /v1/status``: what this worker process runs, and how its audit trail stands.

Built from the settings, the loaded knowledge and the audit trail's own account. It names no
secret: not the audit key (only whether one is set), no token, no issuer's key.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from service import __version__
from service.audit.states import AuditFailure, AuditStatus
from service.auth.mode import AuthMode
from service.packs.model import Pack
from service.settings import Settings


class PackStatus(Struct, kw_only=True):
    id: str
    version: str
    digest: Annotated[str, Meta(pattern=r"^sha256:[0-9a-f]{64}$")]
    loaded_at: Annotated[str, Meta(description="When this process loaded the pack (UTC).")]


class AuditSinkStatus(Struct, kw_only=True):
    kind: Annotated[Literal["file", "stdout"], Meta(description="`GUIDANCE_AUDIT_FILE`, or standard output.")]
    file: str | None
    state: Annotated[
        Literal["available", "unavailable"],
        Meta(
            description="As last found by a record or a `GET /ready`: unavailable from a record refused "
            "until a write succeeds again. Asking for the status writes nothing."
        ),
    ]
    unavailable_since: str | None
    refused: Annotated[int, Meta(description="Records refused since `unavailable_since`.")]
    last_failure: Annotated[AuditFailure | None, Meta(description="The latest failure, kept after recovery.")]
    chain: Annotated[str, Meta(description="This process's current hash chain.")]
    seq: Annotated[int | None, Meta(description="The seq of the chain's last record; null before its first.")]
    key_set: Annotated[bool, Meta(description="Whether case references are kept as a keyed hash.")]


class Limits(Struct, kw_only=True):
    max_body_bytes: int
    max_head_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    keepalive_timeout_seconds: int
    max_concurrent_requests: Annotated[int, Meta(description="Per worker process.")]
    rate_limit: Annotated[str | None, Meta(description="Per client and worker, as `COUNT/UNIT`.")]
    audit_min_free_bytes: int


class ServiceStatus(Struct, kw_only=True):
    service: Literal["safeguarding-guidance"]
    version: str
    process: Annotated[int, Meta(description="The id of the worker process that answered.")]
    workers: int
    started_at: str
    uptime_seconds: float
    authentication: Literal["jwt", "off", "loopback"]
    tracing: Annotated[bool, Meta(description="Whether spans are exported (the `OTEL_*` variables).")]
    packs: list[PackStatus]
    audit: AuditSinkStatus
    limits: Limits


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatusReport:
    """What does not change while the process runs, worked out once; the rest per request."""

    def __init__(self, settings: Settings, mode: AuthMode, packs: Sequence[Pack], loaded_at: float) -> None:
        self._settings = settings
        self._mode = mode
        self._started = time.time()
        self._clock = time.monotonic()
        self._packs = [
            PackStatus(id=p.id, version=p.version, digest=p.digest, loaded_at=_utc(loaded_at)) for p in packs
        ]
        rate = settings.rate_limit
        self._limits = Limits(
            max_body_bytes=settings.max_body_bytes,
            max_head_bytes=settings.max_head_bytes,
            header_timeout_seconds=settings.header_timeout,
            body_timeout_seconds=settings.body_timeout,
            keepalive_timeout_seconds=settings.keepalive_timeout,
            max_concurrent_requests=settings.max_concurrent_requests,
            rate_limit=f"{rate[1]}/{rate[0]}" if rate else None,
            audit_min_free_bytes=settings.audit_min_free,
        )

    def status(self, audit: AuditStatus, tracing: bool) -> ServiceStatus:
        settings = self._settings
        return ServiceStatus(
            service="safeguarding-guidance",
            version=__version__,
            process=os.getpid(),
            workers=settings.workers,
            started_at=_utc(self._started),
            uptime_seconds=round(time.monotonic() - self._clock, 3),
            authentication=self._mode.value,
            tracing=tracing,
            packs=self._packs,
            audit=AuditSinkStatus(
                kind="stdout" if settings.audit_file is None else "file",
                file=None if settings.audit_file is None else str(settings.audit_file),
                state="available" if audit.available else "unavailable",
                unavailable_since=audit.unavailable_since,
                refused=audit.refused,
                last_failure=audit.last_failure,
                chain=audit.chain,
                seq=audit.seq,
                key_set=settings.audit_key is not None,
            ),
            limits=self._limits,
        )

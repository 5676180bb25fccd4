"""One worker's front-door limits, read from settings once per process, with the problem-details
answers that go with each refusal and the counts of refusals logged once a minute.

:mod:`service.http.front_door` enforces them; this module only says what they are and how a
refusal reads, so that changing a wording or a limit never means reading the protocol code.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

import msgspec
import structlog
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable

from service.http.problems import PROBLEM_BASE
from service.settings import Settings, settings_from_env

REPORT_SECONDS = 60.0

log = structlog.get_logger("guidance.front_door")


def problem(status: int, slug: str, title: str, detail: str) -> bytes:
    return msgspec.json.encode(
        {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    )


def seconds(value: float) -> str:
    return f"{value:g} second" + ("" if value == 1 else "s")


class Refusals:
    """Counts refusals by reason; logs the first of a reason at once, then a count a minute."""

    def __init__(self, interval: float = REPORT_SECONDS) -> None:
        self.interval = interval
        self.counts: dict[str, int] = {}

    def add(self, loop: asyncio.AbstractEventLoop, reason: str) -> None:
        if reason in self.counts:
            self.counts[reason] += 1
            return
        self.counts[reason] = 0
        log.warning("requests_refused", reason=reason, count=1)
        loop.call_later(self.interval, self._report, loop, reason)

    def _report(self, loop: asyncio.AbstractEventLoop, reason: str) -> None:
        count = self.counts.pop(reason, 0)
        if count:  # still happening: report, and keep counting for another interval
            log.warning("requests_refused", reason=reason, count=count, seconds=self.interval)
            self.counts[reason] = 0
            loop.call_later(self.interval, self._report, loop, reason)


class Limits:
    """One worker's limits and the answers that go with them, built once per process."""

    def __init__(self, settings: Settings) -> None:
        self.max_head = settings.max_head_bytes
        self.max_body = settings.max_body_bytes
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.max_in_progress = settings.max_concurrent_requests
        self.refusals = Refusals()
        head_size = f"{self.max_head // 1024} KiB" if self.max_head % 1024 == 0 else f"{self.max_head} bytes"
        self.head_too_large = problem(
            431,
            "request-head-too-large",
            "Request header fields too large",
            f"The request line and header fields together must not exceed {head_size}.",
        )
        self.header_timeout_body = problem(
            408,
            "request-timeout",
            "Request timeout",
            f"The request's header fields did not arrive within {seconds(settings.header_timeout)}.",
        )
        self.body_timeout_body = problem(
            408,
            "request-timeout",
            "Request timeout",
            f"The request's body did not arrive within {seconds(settings.body_timeout)} "
            "of its header fields.",
        )
        self.malformed = problem(
            400, "malformed-request", "Malformed request", "The request is not valid HTTP/1.1."
        )
        retry = settings.overload_retry_after
        overloaded = problem(
            503,
            "overloaded",
            "Service overloaded",
            f"The service has as many requests in progress as it takes; retry after {seconds(retry)}.",
        )
        self.overloaded = overloaded
        self.retry_after = b"retry-after: %d\r\n" % retry
        # Requests whose app has started and not returned, in this worker. Not len(tasks) of
        # uvicorn: a finished task leaves that set only in the loop's next round, so under load
        # every other round would find the worker full and shed everything.
        self.in_progress = 0

    async def run_counted(
        self, app: ASGI3Application, scope: Any, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            await app(scope, receive, send)
        finally:
            self.in_progress -= 1


@cache
def process_limits() -> Limits:
    return Limits(settings_from_env())

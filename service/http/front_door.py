"""The HTTP front door: the limits uvicorn's httptools protocol lacks, in one subclass of it.

``guidance serve`` runs uvicorn (uvloop, httptools) with this protocol (``http=`` in its
``Config``). Per connection it adds:

* **A cap on the request head** (request line and header fields; the trailer fields of a chunked
  body likewise): beyond ``max_head_bytes``, 431 and close. httptools gathers a header value
  without bound, so the bytes are counted as they arrive: a read that would take a head past the
  cap is refused before the parser sees it, and the parser never holds more than the cap plus
  one read.
* **Read timeouts**: ``header_timeout`` from the connection, or from a request's first byte, until
  its headers are in; ``body_timeout`` from then until its body is in. On expiry, 408 and close
  (a connection that never sent a byte is closed without an answer). uvicorn's keep-alive timeout
  still closes connections idle between requests.
* **A cap on requests in progress in this worker** (``max_concurrent_requests``: requests whose
  app has started and not returned, queued or running; not connections): a request that would
  start beyond it is answered 503
  with ``Retry-After`` at once, without running the app, so that the requests accepted keep a
  bounded latency. ``GET /health``, ``GET /ready`` and ``GET /metrics`` are never shed, and take
  no place among the requests in progress (so a crowd of them cannot crowd out the rest). A
  request's app starts once its body is in (uvicorn starts it when its headers are in), so a
  client sending a body slowly holds no place among the requests in progress, and one that goes
  away mid-body never reaches the app.
* **Malformed HTTP** answered 400.

Every answer written here is RFC 9457 problem details with ``X-Request-ID``, ``Cache-Control:
no-store`` and ``X-Content-Type-Options: nosniff``. Refusals are never logged one by one (a
client could write as many lines as it sends requests): one line when a kind of refusal starts,
then at most one a minute with how many there were.

The limits and the answers refusing a request are in :mod:`service.http.front_door_limits`, read
from settings once in each worker process.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from service.http.front_door_limits import process_limits
from service.http.headers import NOTHING_RUNS_POLICY, new_request_id

NEVER_SHED = frozenset({b"/health", b"/ready", b"/metrics"})  # for GET
LINGER_SECONDS = 2.0  # after a refusal, how long the client's remaining bytes are read and dropped
LINGER_BYTES = 4 * 1024 * 1024  # and at most how many

_IDLE, _HEAD, _BODY = 0, 1, 2  # between requests; reading a head; reading a body (or its trailers)
_ANSWER_HEADERS = (  # then the request id
    b"content-type: application/problem+json\r\n"
    b"cache-control: no-store\r\n"
    b"x-content-type-options: nosniff\r\n"
    b"content-security-policy: " + NOTHING_RUNS_POLICY + b"\r\n"
    b"x-request-id: "
)
_STRADDLE = (b"\n", b"\r\n", b"\n\r\n")  # how a blank line begun in one read can end in the next


class _Refused(Exception):
    """Raised in a parser callback once the connection is refused, to stop the parser."""


class FrontDoorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the service's limits (see the module's description)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = process_limits()
        self._max_head = self.limits.max_head
        self._phase = _IDLE
        self._section = 0  # counts heads, bodies and the gaps between them on this connection
        self._field_bytes = 0  # of the head or trailer section being read (at most one read short)
        self._fields_parsed = 0  # request line and fields the parser has handed over, this request
        self._announced_too_long = False  # its Content-Length is over the body limit
        self._body_seen = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_section = -1
        self._refused = False
        self._lingered = 0
        self._waiting: tuple[RequestResponseCycle, ASGI3Application] | None = None  # until its body is in
        self._answering: RequestResponseCycle | None = None  # the request the app last started on
        self._refusal: bytes | None = None  # to send once the answers due before it are out

    # Connection

    # uvicorn types the transport more narrowly than asyncio's Protocol it overrides.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first request's header fields are due within the header timeout of the connection.
        self._timer = self.loop.call_later(self.limits.header_timeout, self._expired)
        self._timer_section = 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._waiting = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:  # read and dropped, so that the refusal reaches the client
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        limits = self.limits
        if (
            self._phase != _BODY
            and self._field_bytes + len(data) > limits.max_head
            and b"\r\n\r\n" not in data
            and not data.startswith(_STRADDLE)
        ):
            # No blank line ends the head in this read: all of it is head, and too much.
            self._refuse_head()
            return
        section = self._section
        self._body_seen = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._refuse(400, "malformed", limits.malformed)  # unless already refused (_Refused)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():  # never, with ws="none"; kept as uvicorn has it
                self.handle_websocket_upgrade()
            return  # otherwise answered as plain HTTP, without uvicorn's two warnings per request
        if self._refused:
            return
        if self._section == section:  # the same head, body or trailer section as before this read
            self._field_bytes = 0 if self._body_seen else self._field_bytes + len(data)
            if self._field_bytes > limits.max_head:
                self._refuse_head()
                return
        if self._timer_section != self._section:
            self._cancel_timer()
            if self._phase != _IDLE:
                self._timer_section = self._section
                timeout = limits.header_timeout if self._phase == _HEAD else limits.body_timeout
                self._timer = self.loop.call_later(timeout, self._expired)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = _HEAD
        self._section += 1
        self._fields_parsed = 0
        self._announced_too_long = False

    # The parser hands over the request line and fields (trailers too) whole: counted exactly,
    # this catches a head too large that shares a read with the request before it, where
    # counting reads cannot tell where the head began.

    def on_url(self, url: bytes) -> None:
        self._fields_parsed += len(url)
        if self._fields_parsed > self._max_head:
            self._refuse_head_in_parser()
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        """uvicorn's ``on_header`` (three lines), with the count and the announced body size."""
        self._fields_parsed += len(name) + len(value) + 4
        if self._fields_parsed > self._max_head:
            self._refuse_head_in_parser()
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        elif name == b"content-length" and self._phase == _HEAD:  # a number (the parser checks)
            self._announced_too_long = int(value) > self.limits.max_body
        self.headers.append((name, value))

    def _refuse_head_in_parser(self) -> None:
        self._refuse_head()
        raise _Refused  # stops the parser: nothing more of this connection is parsed

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._section += 1
        self._field_bytes = 0
        super().on_headers_complete()  # builds the request's cycle; starts it, or queues it behind one

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if cycle is self.cycle and self._phase == _BODY and not self._announced_too_long:
            # Its body is still to come: the app starts once it is in (a client sending its body
            # slowly holds no place among the requests in progress, and one that goes away
            # mid-body never reaches the app). A body announced over the limit is refused by the
            # app at once, as before.
            self._waiting = (cycle, app)
            if cycle.waiting_for_100_continue:
                cycle.waiting_for_100_continue = False
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        limits = self.limits
        if cycle.scope["method"] == "GET" and cycle.scope["raw_path"] in NEVER_SHED:
            # Never shed, and never counted: a crowd of them (``/metrics`` needs no token) must
            # not take the places the requests that are counted need.
            super()._start_asgi_task(cycle, app)
            self._answering = cycle
            return
        if limits.in_progress < limits.max_in_progress:
            limits.in_progress += 1
            super()._start_asgi_task(cycle, partial(limits.run_counted, app))
            self._answering = cycle
            return
        # Over the cap: 503 at once, written here. No task (shed requests take no place among
        # those in progress) and no app: a refusal must cost far less than an answer, or a
        # crowd of clients retrying at once would leave no time for the requests accepted.
        limits.refusals.add(self.loop, "overloaded")
        answer = self._answer(
            503,
            limits.overloaded,
            close=not cycle.keep_alive,
            extra=limits.retry_after,
            head_only=cycle.scope["method"] == "HEAD",
        )
        self.transport.write(answer)
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()  # as after any answer: the next queued request, or keep-alive

    def on_body(self, body: bytes) -> None:
        self._body_seen = True
        super().on_body(body)
        if self._waiting is not None and self.flow.read_paused:
            # More body than uvicorn buffers before it waits for the app: start the app (it
            # reads on, or refuses a body over the limit).
            self._start_waiting()

    def on_message_complete(self) -> None:
        self._phase = _IDLE
        self._section += 1
        self._field_bytes = 0
        super().on_message_complete()
        if self._waiting is not None:
            self._start_waiting()

    def _start_waiting(self) -> None:
        cycle, app = self._waiting  # type: ignore[misc]  # only called while a request waits
        self._waiting = None
        self._start_asgi_task(cycle, app)

    # Refusals

    def _expired(self) -> None:
        self._timer = None
        if self.flow.read_paused:  # the wait is the server's (it stopped reading), not the client's
            timeout = self.limits.header_timeout if self._phase != _BODY else self.limits.body_timeout
            self._timer = self.loop.call_later(timeout, self._expired)
        elif self._phase == _HEAD:
            self._refuse(408, "header_timeout", self.limits.header_timeout_body)
        elif self._phase == _BODY:
            self._refuse(408, "body_timeout", self.limits.body_timeout_body)
        else:  # not a byte since the connection opened: nothing to answer
            self._refused = True
            self.transport.close()

    def _refuse_head(self) -> None:
        self._refuse(431, "head_too_large", self.limits.head_too_large)

    def _refuse(self, status: int, reason: str, body: bytes) -> None:
        """Refuse the request being read: answer ``status`` once the answers due before it on
        this connection are out (pipelined requests), then close."""
        if self._refused:
            return
        self._refused = True
        self._cancel_timer()
        self._unset_keepalive_if_required()
        self.limits.refusals.add(self.loop, reason)
        self._refusal = self._answer(status, body, close=True)
        if self._phase == _BODY:  # the request being read has a cycle: the app must not answer it
            cycle = self.cycle
            self._waiting = None
            if self.pipeline and self.pipeline[0][0] is cycle:
                self.pipeline.popleft()
            if cycle.response_started:  # the app answered before reading all of the body
                self._refusal = b""
            else:  # if the app has started on it, it learns that the client is gone
                cycle.disconnected = True
                cycle.message_event.set()
        if not self._answers_due():
            self._send_refusal()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refused and not self._answers_due():
            self._send_refusal()

    def _answers_due(self) -> bool:
        answering = self._answering
        return bool(self.pipeline) or (
            answering is not None and not answering.response_complete and not answering.disconnected
        )

    def _send_refusal(self) -> None:
        refusal, self._refusal = self._refusal, None
        if refusal is None or self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if not refusal:
            self.transport.close()
            return
        self.transport.write(refusal)
        # Closing with unread bytes would reset the connection and could lose the answer: send
        # it, half-close, and read what the client still sends for a moment before closing.
        self.transport.write_eof()
        self.flow.resume_reading()
        self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _answer(
        self, status: int, body: bytes, *, close: bool, extra: bytes = b"", head_only: bool = False
    ) -> bytes:
        """A problem-details answer with the headers every answer written here has."""
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += [name, b": ", value, b"\r\n"]
        parts += [
            _ANSWER_HEADERS,
            new_request_id().encode(),
            b"\r\ncontent-length: %d\r\n" % len(body),
            extra,
        ]
        if close:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if not head_only:
            parts.append(body)
        return b"".join(parts)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_section = -1

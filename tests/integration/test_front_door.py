"""The HTTP front door (service/http/front_door.py): the real server, over raw sockets.

Head cap (431), read timeouts (408), keep-alive timeout, malformed HTTP (400), the cap on
requests in progress (503 with Retry-After), many idle connections. Limits and timeouts are set
small through the environment, so that each test is bounded by counts and about a second.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import socket
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from service.http.problems import PROBLEM_BASE
from tests.server import running_server

TIMEOUT = 1.0  # header, body and keep-alive timeouts of the first server, in seconds
MARGIN = 0.75  # how late a timeout may act on a shared machine
CAP = 4  # requests in progress per worker, on the second server
KIB = 1024
MIB = 1024 * KIB
JSON = {"Content-Type": "application/json"}
EVALUATE_BODY = b'{"facts": {"child": {"unborn": true}}}'


@dataclass
class Server:
    base_url: str
    port: int
    pid: int
    stderr: Path
    audit: Path

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stderr.read_text().splitlines() if line.strip()]

    def refusals_logged(self, reason: str) -> list[dict]:
        return [
            line
            for line in self.log_lines()
            if line.get("event") == "requests_refused" and line.get("reason") == reason
        ]

    def evaluations_audited(self) -> int:
        return sum(1 for line in self.audit.read_text().splitlines() if '"event":"evaluation"' in line)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _server_pid(port: int) -> int:
    """The serve process started for ``port`` (with one worker, it is the worker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid == os.getpid() and f"PORT={port}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no server process for port {port}")


def _resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextmanager
def _server(folder: Path, env: dict[str, str]) -> Iterator[Server]:
    audit, stderr = folder / "audit.log", folder / "stderr.log"
    with running_server(env={"GUIDANCE_AUDIT_FILE": str(audit), **env}, stderr=stderr) as base_url:
        port = urlsplit(base_url).port
        assert port is not None
        yield Server(base_url, port, _server_pid(port), stderr, audit)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Timeouts of one second; the other limits as shipped."""
    env = {
        "GUIDANCE_HEADER_TIMEOUT": str(TIMEOUT),
        "GUIDANCE_BODY_TIMEOUT": str(TIMEOUT),
        "GUIDANCE_KEEPALIVE_TIMEOUT": str(int(TIMEOUT)),
    }
    with _server(tmp_path_factory.mktemp("front-door"), env) as running:
        yield running


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """At most four requests in progress; the timeouts as shipped (ten seconds)."""
    env = {"GUIDANCE_MAX_CONCURRENT_REQUESTS": str(CAP)}
    with _server(tmp_path_factory.mktemp("front-door-capped"), env) as running:
        yield running


_unread: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_response(sock: socket.socket, timeout: float = 10.0) -> Response:
    """The next answer on ``sock`` (what follows it is kept for the next call)."""
    sock.settimeout(timeout)
    data = _unread.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before an answer; had {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = _parse_head(head)
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    _unread[sock] = body[length:]
    return Response(status, headers, body[:length])


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    fields = (line.split(":", 1) for line in lines)
    return int(status_line.split()[1]), {name.strip().lower(): value.strip() for name, value in fields}


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True when the server closes the connection within ``timeout`` (any answer is dropped)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def assert_problem(response: Response, status: int, slug: str) -> dict:
    assert response.status == status, response
    assert response.headers["content-type"] == "application/problem+json"
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    problem = json.loads(response.body)
    assert problem["type"] == PROBLEM_BASE + slug
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    return problem


def evaluate_request(body: bytes = EVALUATE_BODY, extra_headers: bytes = b"") -> bytes:
    return (
        b"POST /v1/evaluate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + extra_headers
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


# The head cap


def _big_header_exchange(server: Server, pieces: int) -> Response:
    request = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * MIB + b"\r\n\r\n"
    step = -(-len(request) // pieces)
    with server.connect() as sock:
        for start in range(0, len(request), step):
            sock.sendall(request[start : start + step])
        response = read_response(sock)
        assert response.headers["connection"] == "close"
        assert closed_by_server(sock, 5), "the connection is closed after a 431"
    return response


def test_a_1_mib_header_is_refused_431_with_memory_flat(server: Server) -> None:
    assert_problem(_big_header_exchange(server, pieces=1), 431, "request-head-too-large")  # warm-up
    before = _resident_bytes(server.pid)
    for attempt in range(8):
        # At once, and in 4 KiB pieces (the server reads it a piece at a time).
        response = _big_header_exchange(server, pieces=1 if attempt % 2 == 0 else 256)
        problem = assert_problem(response, 431, "request-head-too-large")
        assert "16 KiB" in problem["detail"]
    growth = _resident_bytes(server.pid) - before
    assert growth < 2 * MIB, f"resident memory grew {growth / MIB:.1f} MiB over eight 1 MiB headers"
    assert httpx.get(f"{server.base_url}/health").status_code == 200


def test_a_head_within_the_limit_is_served_however_it_is_split(server: Server) -> None:
    """15 KiB of header fields, with a 40 KiB body, in pieces: the blank line that ends the head
    is split between two reads, and the read that ends it brings the body too."""
    pad = b"X-Pad: " + b"p" * (15 * KIB) + b"\r\n"
    body = EVALUATE_BODY + b" " * (40 * KIB)  # JSON allows the trailing white space
    request = evaluate_request(body, extra_headers=pad)
    blank_line = request.index(b"\r\n\r\n")
    for cuts in ([blank_line + 3], [5 * KIB, 10 * KIB, blank_line + 2], [blank_line + 1]):
        with server.connect() as sock:
            start = 0
            for cut in [*cuts, len(request)]:
                sock.sendall(request[start:cut])
                start = cut
                time.sleep(0.05)  # so that the server reads each piece on its own
            response = read_response(sock)
        assert response.status == 200, response
        assert "evaluation_id" in json.loads(response.body)


def test_a_head_too_large_behind_a_pipelined_request_is_refused_after_its_answer(server: Server) -> None:
    """Both in one write: the second head is counted as the parser hands it over."""
    big = b"GET /health HTTP/1.1\r\nHost: test\r\n" + b"X-Many: %s\r\n" % (b"m" * 100) * 200 + b"\r\n"
    with server.connect() as sock:
        sock.sendall(evaluate_request() + big)
        assert read_response(sock).status == 200
        assert_problem(read_response(sock), 431, "request-head-too-large")
        assert closed_by_server(sock, 5)


def test_trailer_fields_count_against_the_head_limit(server: Server) -> None:
    head = (
        b"POST /v1/evaluate HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunked_body = b"%x\r\n%s\r\n0\r\n" % (len(EVALUATE_BODY), EVALUATE_BODY)
    with server.connect() as sock:
        sock.sendall(head + chunked_body + b"\r\n")
        assert read_response(sock).status == 200
        sock.sendall(head + chunked_body)
        for n in range(40):  # 40 KiB of trailer fields, a field at a time
            sock.sendall(b"X-Trailer-%d: %s\r\n" % (n, b"t" * 1000))
        assert_problem(read_response(sock), 431, "request-head-too-large")


def test_a_body_announced_over_the_limit_is_refused_at_once(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            evaluate_request()[: -len(EVALUATE_BODY)].replace(
                b"Content-Length: 38", b"Content-Length: 900000"
            )
        )
        sent = time.monotonic()
        response = read_response(sock)
        assert time.monotonic() - sent < TIMEOUT  # not left to the body timeout
    assert response.status == 413


# Timeouts


def _send_slowly(server: Server, request: bytes, start_at: int) -> tuple[Response, float, int]:
    """Sends ``request[:start_at]`` at once, then a byte every 50 ms, making a normal request on
    another connection between bytes, until the server answers the slow connection.

    Returns its answer, how long after the connection it came, and how many normal requests
    were answered meanwhile (each must be answered, with 200, within a second)."""
    answered = 0
    with httpx.Client(base_url=server.base_url, timeout=1.0) as other, server.connect() as slow:
        connected = time.monotonic()
        slow.sendall(request[:start_at])
        for byte in request[start_at:]:
            if select.select([slow], [], [], 0)[0]:
                break
            slow.sendall(bytes([byte]))
            if answered % 2:
                assert other.get("/health").status_code == 200
            else:
                assert other.post("/v1/evaluate", content=EVALUATE_BODY, headers=JSON).status_code == 200
            answered += 1
            time.sleep(0.05)
        response = read_response(slow)
        elapsed = time.monotonic() - connected
        assert closed_by_server(slow, 5), "the connection is closed after a 408"
    return response, elapsed, answered


def test_a_client_sending_its_headers_slowly_is_cut_off_while_others_are_answered(server: Server) -> None:
    request = evaluate_request(extra_headers=b"X-Slow: " + b"s" * 200 + b"\r\n")  # 6 s at a byte per 50 ms
    response, elapsed, answered = _send_slowly(server, request, start_at=0)
    assert_problem(response, 408, "request-timeout")
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + MARGIN, elapsed
    assert answered >= 5


def test_a_client_sending_its_body_slowly_is_cut_off_while_others_are_answered(server: Server) -> None:
    audited = server.evaluations_audited()
    body = EVALUATE_BODY + b" " * 200
    request = evaluate_request(body)
    response, elapsed, answered = _send_slowly(server, request, start_at=len(request) - len(body))
    problem = assert_problem(response, 408, "request-timeout")
    assert "body" in problem["detail"]
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + MARGIN, elapsed
    assert answered >= 5
    # Only the normal requests reached the app: the slow one never started.
    assert server.evaluations_audited() - audited == (answered + 1) // 2


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        assert read_response(sock).status == 200
        answered = time.monotonic()
        assert closed_by_server(sock, TIMEOUT + MARGIN)
        assert time.monotonic() - answered >= TIMEOUT * 0.9


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server: Server) -> None:
    with server.connect() as sock:
        connected = time.monotonic()
        sock.settimeout(TIMEOUT + MARGIN)
        assert sock.recv(65536) == b"", "closed without an answer: nothing was asked"
        assert time.monotonic() - connected >= TIMEOUT * 0.9


# Malformed HTTP, and what the log says about refusals


def test_malformed_requests_get_400_problem_details_and_are_not_logged_one_by_one(server: Server) -> None:
    for _ in range(50):
        with server.connect() as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert_problem(read_response(sock), 400, "malformed-request")
    # One line when a kind of refusal starts, then a count a minute at most (the 431s of the
    # tests above are a dozen more refusals).
    assert len(server.refusals_logged("malformed")) == 1
    assert 1 <= len(server.refusals_logged("head_too_large")) <= 2
    assert not [line for line in server.log_lines() if line.get("level") in ("error", "critical")]
    assert httpx.get(f"{server.base_url}/health").status_code == 200


# The cap on requests in progress


async def _exchange(port: int, request: bytes, go: asyncio.Event) -> Response:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await go.wait()
        writer.write(request)
        status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Response(status, headers, body)
    finally:
        writer.close()


async def _burst(port: int, requests: list[bytes]) -> list[Response]:
    """Every request on its own connection, all connections opened first, then sent at once."""
    go = asyncio.Event()
    exchanges = [asyncio.create_task(_exchange(port, request, go)) for request in requests]
    await asyncio.sleep(0.5)  # connected
    go.set()
    return await asyncio.wait_for(asyncio.gather(*exchanges), 30)


def test_over_the_cap_requests_get_503_with_retry_after_and_health_is_never_shed(
    capped_server: Server,
) -> None:
    health = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
    ready = b"GET /ready HTTP/1.1\r\nHost: test\r\n\r\n"
    audited = capped_server.evaluations_audited()
    evaluations: list[Response] = []
    probes: list[Response] = []
    for _ in range(5):  # a burst sheds at once; a few more only if this machine was slow to send
        responses = asyncio.run(_burst(capped_server.port, [evaluate_request()] * 60 + [health, ready] * 10))
        evaluations += responses[:60]
        probes += responses[60:]
        if any(r.status == 503 for r in evaluations):
            break
    statuses = [r.status for r in evaluations]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) > 0 and statuses.count(200) >= CAP, statuses
    for response in evaluations:
        if response.status == 503:
            problem = assert_problem(response, 503, "overloaded")
            assert response.headers["retry-after"] == "1"
            assert "retry after 1 second" in problem["detail"]
            assert response.headers.get("connection") != "close"  # the client may retry on it
    assert [r.status for r in probes] == [200] * len(probes)
    # The app never ran for a shed request: one audit record per 200, none per 503.
    assert capped_server.evaluations_audited() - audited == statuses.count(200)
    # Not one log line per shed request: one when shedding starts (then a count a minute).
    assert len(capped_server.refusals_logged("overloaded")) == 1
    assert not [line for line in capped_server.log_lines() if line.get("level") in ("error", "critical")]


def test_a_crowd_of_metrics_scrapes_takes_no_place_from_evaluations(capped_server: Server) -> None:
    """``/metrics`` needs no token and is never shed; were it counted among the requests in
    progress, anyone who can reach the port could fill them and have every evaluation refused."""
    metrics = b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n"
    for _ in range(3):
        responses = asyncio.run(_burst(capped_server.port, [metrics] * 40 + [evaluate_request()] * CAP))
        assert [r.status for r in responses[:40]] == [200] * 40
        assert [r.status for r in responses[40:]] == [200] * CAP  # no more than the cap: none shed


def test_hundreds_of_idle_connections_do_not_stop_requests_being_answered(capped_server: Server) -> None:
    """300 connections idle or part-way through a head (in a worker taking four requests at a
    time: the cap counts requests, not connections)."""
    idle = []
    try:
        for n in range(300):
            sock = capped_server.connect()
            if n % 2:
                sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: te")
            idle.append(sock)
        with httpx.Client(base_url=capped_server.base_url, timeout=2.0) as client:
            for _ in range(20):
                assert client.post("/v1/evaluate", content=EVALUATE_BODY, headers=JSON).status_code == 200
                assert client.get("/health").status_code == 200
        assert not select.select(idle, [], [], 0)[0], "the idle connections are still open"
    finally:
        for sock in idle:
            sock.close()

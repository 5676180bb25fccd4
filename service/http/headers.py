"""Headers every response carries, whoever wrote it (a handler, a problem, the router's 404).

- ``X-Request-ID``: names the exchange; the audit record of an evaluation or feedback carries
  the same id. Made by the service, never taken from the caller.
- ``X-Content-Type-Options: nosniff``, and unless the response set its own:
  ``Cache-Control: no-store`` (answers echo case facts; no cache may keep them) and a
  ``Content-Security-Policy`` that lets a browser run nothing from them.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Message, Scope

from service.ids import random_hex

_REQUEST_ID = "request_id"
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
NOTHING_RUNS_POLICY = b"default-src 'none'; frame-ancestors 'none'"
_NOTHING_RUNS = (b"content-security-policy", NOTHING_RUNS_POLICY)
# The documentation page runs its own files and nothing else (Swagger UI styles itself inline).
DOCS_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_DOCS = (b"content-security-policy", DOCS_POLICY)


def new_request_id() -> str:
    """16 random bytes as hex."""
    return random_hex(16)


def request_id_of(scope: Scope) -> str:
    """This exchange's id, made the first time it is asked for."""
    state: dict[str, Any] = scope["state"]
    request_id = state.get(_REQUEST_ID)
    if request_id is None:
        request_id = state[_REQUEST_ID] = new_request_id()
    return request_id


async def add_response_headers(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: it sees every message the app sends."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or ())
    names = {name.lower() for name, _ in headers}
    headers.append((b"x-request-id", request_id_of(scope).encode()))
    headers.append(_NOSNIFF)
    if b"cache-control" not in names:
        headers.append(_NO_STORE)
    if b"content-security-policy" not in names:
        headers.append(_DOCS if scope["path"].startswith("/schema") else _NOTHING_RUNS)
    message["headers"] = headers

"""Who is calling: the middleware that checks bearer tokens and names the caller of each request,
and the per-client rate limit and CORS allow-list that build on it.

Every path needs a valid token when authentication is ``jwt``, except ``/health``, ``/ready``,
``/metrics`` and the documentation under ``/schema``. Which audience a token must carry
depends on the path (:func:`path_kind`): under ``/cds-services`` the exact URL called
(``GUIDANCE_PUBLIC_URL`` and the path, no query), anywhere else the issuer's own ``audience``.

A refused token gets 401 and ``WWW-Authenticate: Bearer``, never a word of why: a problem
document for the API, a FHIR OperationOutcome under ``/cds-services`` (what CDS Hooks expects of
an error). Why goes to standard error as one ``token_refused`` line with a reason code, the
trusted issuer if there is one, and the route's template: never the token, never a header,
never a value the caller chose.
"""

from __future__ import annotations

import re
import time
from enum import Enum
from functools import partial
from typing import Any

import anyio.to_thread
import msgspec
import structlog
from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from service.auth.callers import ANONYMOUS, UNAUTHENTICATED, caller_of, set_caller
from service.auth.mode import AuthMode
from service.auth.tokens import TokenRefused, TokenVerifier
from service.http.problems import problem
from service.settings import Settings

OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
DOCS_PATH = "/schema"
CDS_HOOKS_PATH = "/cds-services"
UNAUTHORIZED_DETAIL = "A valid bearer token is required."
FHIR_JSON = "application/fhir+json"
# RFC 6750: no error code when the request had no credentials; `invalid_token` when it had some.
_CHALLENGE = "Bearer"
_CHALLENGE_INVALID = 'Bearer error="invalid_token"'
_B64TOKEN = re.compile(r"^[A-Za-z0-9._~+/-]+=*$")
_OPERATION_OUTCOME = msgspec.json.encode(
    {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}
)
REFUSAL_LINES_PER_SECOND = 20  # beyond this, refusals are counted, not logged one by one

log = structlog.get_logger("guidance.auth")


class PathKind(Enum):
    OPEN = "open"  # health, readiness, metrics, docs: no token asked for
    API = "api"  # the issuer's own audience
    CDS_HOOKS = "cds_hooks"  # the exact URL called as the audience; a jti used once


def path_kind(path: str) -> PathKind:
    if path in OPEN_PATHS or path == DOCS_PATH or path.startswith(DOCS_PATH + "/"):
        return PathKind.OPEN
    if path == CDS_HOOKS_PATH or path.startswith(CDS_HOOKS_PATH + "/"):
        return PathKind.CDS_HOOKS
    return PathKind.API


def bearer_token(scope: Scope) -> tuple[str | None, str]:
    """The token of the request's one ``Authorization: Bearer`` header, or None and why not."""
    values = [value for name, value in scope["headers"] if name == b"authorization"]
    if not values:
        return None, "no_token"
    if len(values) > 1:
        return None, "several_authorization_headers"
    scheme, _, credentials = values[0].decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None, "not_bearer"
    token = credentials.strip()
    if not _B64TOKEN.match(token):
        return None, "malformed"
    return token, ""


class _RefusalLog:
    """One line per refusal, up to a number per second; past it a count, so that a stream of
    bad tokens cannot fill the log."""

    def __init__(self) -> None:
        self._second = 0
        self._lines = 0
        self._suppressed = 0

    def write(self, **fields: Any) -> None:
        now = int(time.monotonic())
        if now != self._second:
            self._second, self._lines = now, 0
        if self._lines >= REFUSAL_LINES_PER_SECOND:
            self._suppressed += 1
            return
        self._lines += 1
        if self._suppressed:
            fields["not_logged_before"] = self._suppressed
            self._suppressed = 0
        log.warning("token_refused", **fields)


class AuthenticationMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, mode: AuthMode, verifier: TokenVerifier | None, public_url: str | None) -> None:
        if mode is AuthMode.JWT and verifier is None:
            raise ValueError("authentication `jwt` needs a token verifier")
        self.mode = mode
        self.verifier = verifier
        self.public_url = public_url
        self._off_caller = ANONYMOUS if mode is AuthMode.LOOPBACK else UNAUTHENTICATED
        self._refusals = _RefusalLog()

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        kind = path_kind(scope["path"])
        if kind is PathKind.OPEN:
            await next_app(scope, receive, send)
            return
        if self.verifier is None:
            set_caller(scope, self._off_caller)
            await next_app(scope, receive, send)
            return
        token, reason = bearer_token(scope)
        try:
            if token is None:
                raise TokenRefused(reason)
            cds_hooks = kind is PathKind.CDS_HOOKS
            # The exact URL called, as the caller wrote its path (not decoded, no slash taken off),
            # without its query; no public URL means no CDS Hooks audience.
            audience = self.public_url + _path_as_sent(scope) if cds_hooks and self.public_url else None
            verify = partial(self.verifier.verify, token, audience, cds_hooks=cds_hooks)
            caller = await anyio.to_thread.run_sync(verify) if self.verifier.fetches else verify()
        except TokenRefused as refused:
            fields: dict[str, Any] = {"reason": refused.reason}
            if refused.issuer is not None:
                fields["issuer"] = refused.issuer
            fields["path"] = scope.get("path_template") or "?"  # the route, not what the caller wrote
            self._refusals.write(**fields)
            challenge = _CHALLENGE if reason == "no_token" else _CHALLENGE_INVALID
            if kind is PathKind.CDS_HOOKS:
                await _send_operation_outcome(send, challenge)
                return
            error = problem(401, "unauthorized", "Unauthorized", UNAUTHORIZED_DETAIL)
            error.headers = {"WWW-Authenticate": challenge}
            raise error from None
        set_caller(scope, caller)
        await next_app(scope, receive, send)


async def _send_operation_outcome(send: Send, challenge: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", FHIR_JSON.encode()),
                (b"content-length", str(len(_OPERATION_OUTCOME)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _OPERATION_OUTCOME, "more_body": False})


def _client_key(request: Request[Any, Any, Any]) -> str:
    """The rate limit's bucket: the caller's client (within its issuer), never its address."""
    caller = caller_of(request.scope)
    return f"{caller.issuer or ''} {caller.client}"


def rate_limit_config(settings: Settings) -> RateLimitConfig | None:
    """Litestar's rate limit, per client and per worker process, for every path that needs a token."""
    if settings.rate_limit is None:
        return None
    return RateLimitConfig(
        rate_limit=settings.rate_limit,
        exclude=[r"^/health$", r"^/ready$", r"^/metrics$", r"^/schema(/|$)"],
        identifier_for_request=_client_key,
    )


def cors_config(settings: Settings) -> CORSConfig | None:
    """Litestar's CORS from the allow-list; none at all when the list is empty (the default).
    No credentials: a browser client sends its bearer token in ``Authorization`` itself."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        expose_headers=["X-Request-ID", "Retry-After", "WWW-Authenticate"],
        max_age=600,
    )


def _path_as_sent(scope: Scope) -> str:
    raw = scope.get("raw_path")  # some clients' ASGI transports leave the query on it
    return raw.partition(b"?")[0].decode("latin-1") if raw else scope["path"]

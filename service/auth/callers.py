"""The caller of a request, as the audit trail names it.

The authentication middleware puts one on every request it lets through (``caller_of``);
handlers never read tokens themselves. Without authentication every caller is the same:
``anonymous`` while the service listens on loopback with no setting, ``unauthenticated`` when a
deployment has switched authentication off explicitly (behind an authenticating gateway).
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class Caller(Struct, frozen=True, kw_only=True):
    client: str  # the `client` of audit records: the token's client claim
    tenant: str | None = None  # the token's `tenant` claim, when it has one (CDS Hooks)
    issuer: str | None = None  # the trusted issuer that signed the token


ANONYMOUS = Caller(client="anonymous")
UNAUTHENTICATED = Caller(client="unauthenticated")
_CALLER = "caller"


def caller_of(scope: Any) -> Caller:
    """The caller the authentication middleware recorded for this request."""
    return scope["state"].get(_CALLER, ANONYMOUS)


def set_caller(scope: Any, caller: Caller) -> None:
    scope["state"][_CALLER] = caller

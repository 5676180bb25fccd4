"""Whether callers must show a token, decided once from the settings.

- ``jwt``: every request but health, readiness and the docs needs a valid bearer token.
- ``off``, set explicitly: no token is asked for (a deployment behind a gateway that
  authenticates callers); the audit trail names every caller ``unauthenticated``.
- unset: allowed only while the service listens on loopback (``make run`` works out of the
  box); callers are ``anonymous``. On any other address the service refuses to start.
"""

from __future__ import annotations

from enum import Enum

from service.settings import ConfigurationError, Settings, is_loopback


class AuthMode(Enum):
    JWT = "jwt"
    OFF = "off"  # explicitly off
    LOOPBACK = "loopback"  # unset, on a loopback address


def auth_mode(settings: Settings) -> AuthMode:
    if settings.auth == "jwt":
        return AuthMode.JWT
    if settings.auth == "off":
        return AuthMode.OFF
    if is_loopback(settings.host):
        return AuthMode.LOOPBACK
    raise ConfigurationError(
        "GUIDANCE_AUTH",
        f"the service would listen on {settings.host}, beyond this machine, with no authentication "
        "chosen: set GUIDANCE_AUTH=jwt with GUIDANCE_AUTH_ISSUERS (a YAML file of trusted issuers), "
        "or GUIDANCE_AUTH=off behind an authenticating gateway",
    )

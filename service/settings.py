"""All configuration, in one place: every default, every limit, read once from the environment.

A setting that cannot be used is a :class:`ConfigurationError` naming the variable and saying
what it takes, raised before the service listens: the service never starts half-configured.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

from msgspec import Struct

LINK_SETTING_PREFIX = "GUIDANCE_LINK_"
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

KIB = 1024
MIB = 1024 * KIB
MAX_BODY_BYTES = 64 * KIB  # a request body; the largest real case is a few KiB
MAX_HEAD_BYTES = 16 * KIB  # a request line and its headers


class ConfigurationError(ValueError):
    """A setting the service cannot start with; ``setting`` names the variable."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting
        self.message = message


RateUnit = Literal["second", "minute", "hour", "day"]


class Settings(Struct, kw_only=True, frozen=True):
    # What to serve
    knowledge_dirs: tuple[Path, ...] = (DEFAULT_KNOWLEDGE_DIR,)
    packs: tuple[str, ...] | None = None  # None: every pack found
    link_settings: dict[str, str] = {}
    # The audit trail
    audit_key: bytes | None = None
    audit_file: Path | None = None  # None: standard output
    audit_min_free: int = 64 * MIB  # refuse records (and readiness) below this much free space; 0: no floor
    # Where and how to listen
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Limits of the HTTP front door (see docs/integrating.md, "Security and limits")
    max_body_bytes: int = MAX_BODY_BYTES
    max_head_bytes: int = MAX_HEAD_BYTES
    header_timeout: float = 10.0  # seconds to send a request's line and headers
    body_timeout: float = 10.0  # seconds to send a request's body, once its headers are in
    keepalive_timeout: int = 5  # seconds an idle keep-alive connection is kept open
    max_concurrent_requests: int = 64  # per worker, queued or running; beyond it, 503 at once
    overload_retry_after: int = 1  # seconds, for a request shed under overload
    audit_retry_after: int = 5  # seconds, for a request refused because the audit trail is unavailable
    # Who may call (see docs/integrating.md, "Authentication")
    auth: Literal["jwt", "off"] | None = None  # None: unset, which start-up allows on loopback only
    auth_issuers: Path | None = None  # the YAML file of trusted issuers, for auth "jwt"
    public_url: str | None = None  # this service's URL as callers reach it: CDS Hooks audiences
    rate_limit: tuple[RateUnit, int] | None = None  # per client and worker: ("minute", 600)
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call; none by default
    # Traces (see docs/operating.md, "Traces"): OpenTelemetry's own OTEL_* variables switch them on
    tracing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives; raises :class:`ConfigurationError` for a bad one."""
        env = dict(os.environ if environ is None else environ)
        dirs = tuple(Path(p) for p in env.get("GUIDANCE_KNOWLEDGE", "").split(os.pathsep) if p)
        packs = tuple(p.strip() for p in env.get("GUIDANCE_PACKS", "").split(",") if p.strip())
        links = {
            key[len(LINK_SETTING_PREFIX) :].lower(): _link_url(key, value)
            for key, value in env.items()
            if key.startswith(LINK_SETTING_PREFIX)
        }
        key = env.get("GUIDANCE_AUDIT_KEY")
        if key is not None and len(key) < 16:
            raise ConfigurationError(
                "GUIDANCE_AUDIT_KEY", "GUIDANCE_AUDIT_KEY must be at least 16 characters (a random secret)"
            )
        audit_file = env.get("GUIDANCE_AUDIT_FILE")
        auth, issuers = _auth(env)
        defaults = cls()
        return cls(
            knowledge_dirs=dirs or (DEFAULT_KNOWLEDGE_DIR,),
            packs=packs or None,
            link_settings=links,
            audit_key=key.encode() if key else None,
            audit_file=Path(audit_file) if audit_file else None,
            audit_min_free=_whole(env, "GUIDANCE_AUDIT_MIN_FREE", defaults.audit_min_free, 0, 2**62, "bytes"),
            host=env.get("HOST", defaults.host).strip() or defaults.host,
            port=_whole(env, "PORT", defaults.port, 1, 65535, "a TCP port"),
            workers=_whole(env, "WORKERS", defaults.workers, 1, 64, "worker processes"),
            header_timeout=_seconds(env, "GUIDANCE_HEADER_TIMEOUT", defaults.header_timeout),
            body_timeout=_seconds(env, "GUIDANCE_BODY_TIMEOUT", defaults.body_timeout),
            keepalive_timeout=_whole(
                env, "GUIDANCE_KEEPALIVE_TIMEOUT", defaults.keepalive_timeout, 1, 300, "seconds"
            ),
            max_concurrent_requests=_whole(
                env,
                "GUIDANCE_MAX_CONCURRENT_REQUESTS",
                defaults.max_concurrent_requests,
                1,
                100_000,
                "requests per worker",
            ),
            overload_retry_after=_whole(
                env, "GUIDANCE_OVERLOAD_RETRY_AFTER", defaults.overload_retry_after, 1, 3600, "seconds"
            ),
            auth=auth,
            auth_issuers=issuers,
            public_url=_public_url(env),
            rate_limit=_rate_limit(env),
            cors_origins=_cors_origins(env),
            tracing=_tracing(env),
        )


@cache
def settings_from_env() -> Settings:
    """The process's settings, read once (each worker process reads its own environment)."""
    return Settings.from_env()


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int, what: str) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    if not re.fullmatch(r"\s*\d+\s*", text) or not low <= int(text) <= high:
        raise ConfigurationError(name, f"{name} is {what}: a whole number from {low} to {high}")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*", text):
        raise ConfigurationError(name, f"{name} must be a number of seconds from 0.1 to 300")
    value = float(text)
    if not 0.1 <= value <= 300:
        raise ConfigurationError(name, f"{name} must be a number of seconds from 0.1 to 300")
    return value


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_URL = re.compile(r"^(https://[^\s/?#@]+|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)(?:[/?#]\S*)?$")


def _link_url(variable: str, value: str) -> str:
    """A deployment's link: an ``https://`` URL, or ``http://`` to this machine only."""
    url = value.strip()
    if not _URL.match(url):
        raise ConfigurationError(
            variable,
            f"{variable} must be an https:// URL (or http:// to {', '.join(_LOOPBACK_HOSTS)}), "
            "with no spaces",
        )
    return url


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: 127.0.0.0/8, ``::1`` or ``localhost``."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _auth(env: Mapping[str, str]) -> tuple[Literal["jwt", "off"] | None, Path | None]:
    text = env.get("GUIDANCE_AUTH", "").strip().lower()
    issuers = env.get("GUIDANCE_AUTH_ISSUERS", "").strip()
    if text not in ("", "jwt", "off"):
        raise ConfigurationError(
            "GUIDANCE_AUTH",
            "GUIDANCE_AUTH is `jwt` (bearer tokens from the issuers in GUIDANCE_AUTH_ISSUERS) or `off` "
            "(behind a gateway that authenticates callers)",
        )
    if text == "jwt" and not issuers:
        raise ConfigurationError(
            "GUIDANCE_AUTH_ISSUERS",
            "GUIDANCE_AUTH=jwt needs GUIDANCE_AUTH_ISSUERS: the path of a YAML file of trusted issuers",
        )
    if issuers and text != "jwt":
        raise ConfigurationError(
            "GUIDANCE_AUTH_ISSUERS",
            "GUIDANCE_AUTH_ISSUERS is set but GUIDANCE_AUTH is not `jwt`: set GUIDANCE_AUTH=jwt to check "
            "tokens, or unset GUIDANCE_AUTH_ISSUERS",
        )
    # `text` was checked above to be one of the AuthSetting literals, or empty.
    return (text or None), (Path(issuers) if issuers else None)  # type: ignore[return-value]


_ORIGIN = re.compile(r"^(https://[A-Za-z0-9.-]+|http://(?:127\.0\.0\.1|localhost|\[::1\]))(:\d{1,5})?$")


def _public_url(env: Mapping[str, str]) -> str | None:
    """The service's own base URL: an origin, optionally with a path, never a query."""
    text = env.get("GUIDANCE_PUBLIC_URL", "").strip()
    if not text:
        return None
    origin, _, path = _split_origin(text)
    if not _ORIGIN.match(origin) or not re.fullmatch(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?", path):
        raise ConfigurationError(
            "GUIDANCE_PUBLIC_URL",
            "GUIDANCE_PUBLIC_URL is this service's base URL as its callers reach it: https://host[:port] "
            "with an optional path (or http:// to 127.0.0.1, localhost or [::1]), no query or fragment",
        )
    return text.rstrip("/")


def _split_origin(url: str) -> tuple[str, str, str]:
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host}", slash, slash + path


_RATE = re.compile(r"^\s*(\d{1,7})\s*/\s*(second|minute|hour|day)\s*$")


def _rate_limit(env: Mapping[str, str]) -> tuple[RateUnit, int] | None:
    text = env.get("GUIDANCE_RATE_LIMIT", "").strip()
    if not text or text.lower() == "off":
        return None
    match = _RATE.match(text.lower())
    if not match or int(match.group(1)) < 1:
        raise ConfigurationError(
            "GUIDANCE_RATE_LIMIT",
            "GUIDANCE_RATE_LIMIT is requests per client and worker, as COUNT/UNIT with a unit of "
            "second, minute, hour or day (for example 600/minute), or off",
        )
    # The pattern admits only the RateUnit literals as the unit.
    return match.group(2), int(match.group(1))  # type: ignore[return-value]


def _cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in env.get("GUIDANCE_CORS_ORIGINS", "").split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            raise ConfigurationError(
                "GUIDANCE_CORS_ORIGINS",
                "GUIDANCE_CORS_ORIGINS must name each origin allowed; `*` (any web page) is refused",
            )
        if not _ORIGIN.match(origin):
            raise ConfigurationError(
                "GUIDANCE_CORS_ORIGINS",
                f"GUIDANCE_CORS_ORIGINS: `{origin}` is not an origin: https://host[:port] (or http:// to "
                "127.0.0.1, localhost or [::1]), with no path, separated by commas",
            )
    return origins


_OTLP_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _tracing(env: Mapping[str, str]) -> bool:
    """Whether to export traces, read from OpenTelemetry's standard variables: on when an OTLP
    endpoint or ``OTEL_TRACES_EXPORTER=otlp`` is set, off with ``OTEL_SDK_DISABLED=true`` or
    ``OTEL_TRACES_EXPORTER=none``. Only OTLP over HTTP is installed; ``console`` would write to
    standard output, which is the audit trail's."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter not in ("", "otlp", "none"):
        raise ConfigurationError(
            "OTEL_TRACES_EXPORTER",
            "OTEL_TRACES_EXPORTER is `otlp` (OTLP over HTTP, to OTEL_EXPORTER_OTLP_ENDPOINT) or `none`",
        )
    for name in _OTLP_PROTOCOLS:
        protocol = env.get(name, "").strip().lower()
        if protocol not in ("", "http/protobuf"):
            raise ConfigurationError(name, f"{name}: only `http/protobuf` is installed (not `{protocol}`)")
    if exporter == "none":
        return False
    return exporter == "otlp" or any(env.get(name, "").strip() for name in _OTLP_ENDPOINTS)

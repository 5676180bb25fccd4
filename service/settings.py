"""All configuration, in one place: every default, every limit, read once from the environment.

A setting that cannot be used is a :class:`ConfigurationError` naming the variable and saying
what it takes, raised before the service listens: the service never starts half-configured.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

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
    # Limits of the HTTP front door (see the README, "Security and limits")
    max_body_bytes: int = MAX_BODY_BYTES
    max_head_bytes: int = MAX_HEAD_BYTES
    header_timeout: float = 10.0  # seconds to send a request's line and headers
    body_timeout: float = 10.0  # seconds to send a request's body, once its headers are in
    keepalive_timeout: int = 5  # seconds an idle keep-alive connection is kept open
    max_concurrent_requests: int = 64  # per worker, queued or running; beyond it, 503 at once
    overload_retry_after: int = 1  # seconds, for a request shed under overload
    audit_retry_after: int = 5  # seconds, for a request refused because the audit trail is unavailable

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

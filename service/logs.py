"""Operational messages: one JSON line each, on standard error.

Standard output belongs to the audit trail (when no audit file is set), so nothing else the
service says may go there. Request logging stays off: it would carry personal data.
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec
import structlog
from litestar.logging.config import StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig


def _json_bytes(value: Any, **_: Any) -> bytes:
    return msgspec.json.encode(value)


def _json_text(value: Any, **_: Any) -> str:
    return msgspec.json.encode(value).decode()


def processors(serializer: Any = _json_bytes) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(serializer=serializer),
    ]


def litestar_structlog_config() -> StructlogConfig:
    """The app's structlog set-up: JSON lines on standard error, no request logging."""
    return StructlogConfig(
        structlog_logging_config=StructLoggingConfig(
            processors=processors(),
            logger_factory=structlog.BytesLoggerFactory(file=sys.stderr.buffer),
        ),
        enable_middleware_logging=False,  # request logs would carry personal data
    )


def configure_command_logging() -> None:
    """For a command run outside the app (``guidance serve`` before its workers start)."""
    structlog.configure(
        processors=processors(),
        logger_factory=structlog.BytesLoggerFactory(file=sys.stderr.buffer),
        cache_logger_on_first_use=False,
    )


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own messages (started, stopping, errors) as JSON lines on standard error."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "structlog.stdlib.ProcessorFormatter",
                "processor": structlog.processors.JSONRenderer(serializer=_json_text),
                "foreign_pre_chain": [
                    structlog.stdlib.add_logger_name,
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                ],
            }
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def startup_failed(setting: str | None, error: str) -> None:
    """The one line a refused start writes: what is wrong and which setting to change."""
    line: dict[str, Any] = {"event": "startup_failed", "level": "error"}
    if setting:
        line["setting"] = setting
    line["error"] = error
    sys.stderr.buffer.write(msgspec.json.encode(line) + b"\n")
    sys.stderr.buffer.flush()

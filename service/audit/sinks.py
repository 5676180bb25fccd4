"""Where audit lines go: standard output by default, or an append-only file.

Each line is written with a single ``write`` on a descriptor opened with ``O_APPEND``, so
several worker processes can append to one file without tearing each other's lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class AuditWriteError(Exception):
    """The record could not be written; the evaluation must not be answered."""


class AuditSink(Protocol):
    def write(self, line: bytes) -> None: ...


class DescriptorSink:
    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self.name = name

    def write(self, line: bytes) -> None:
        try:
            written = os.write(self._fd, line)
        except OSError as error:
            raise AuditWriteError(f"cannot write the audit record to {self.name}: {error.strerror}") from None
        if written != len(line):
            raise AuditWriteError(f"short write of an audit record to {self.name}")


def stdout_sink() -> DescriptorSink:
    return DescriptorSink(1, "standard output")


def file_sink(path: Path) -> DescriptorSink:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    return DescriptorSink(fd, str(path))

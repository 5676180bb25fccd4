"""Where audit lines go: standard output by default, or an append-only file.

Each line is written with a single ``write`` on a descriptor opened with ``O_APPEND``, so
several worker processes can append to one file on a local filesystem without tearing each
other's lines. (A pipe only promises that for writes up to ``PIPE_BUF``, 4096 bytes on Linux:
with several workers, give them a file rather than a shared standard output.)
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
        self._torn = False  # a short write left part of a line: end it before the next record

    def write(self, line: bytes) -> None:
        data = b"\n" + line if self._torn else line
        try:
            written = os.write(self._fd, data)
        except OSError as error:
            raise AuditWriteError(f"cannot write the audit record to {self.name}: {error.strerror}") from None
        if written != len(data):
            self._torn = True
            raise AuditWriteError(f"short write of an audit record to {self.name}")
        self._torn = False


def stdout_sink() -> DescriptorSink:
    return DescriptorSink(1, "standard output")


def file_sink(path: Path) -> DescriptorSink:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    return DescriptorSink(fd, str(path))

"""Where audit lines go: standard output by default, or an append-only file.

A regular file (``GUIDANCE_AUDIT_FILE``, or standard output redirected to a file) is written by
:class:`FileSink`, which keeps three promises however many worker processes share the file:

- **No torn line swallows a record.** Each record is appended under an exclusive ``flock`` on
  the process's own open file description. If the file does not end with a newline (a process
  killed mid-write, text added by hand), the record starts with one. If the write comes up
  short (a full disk, ``RLIMIT_FSIZE``), the file is cut back to where it was before it
  (``ftruncate``), so no fragment is left for the next record to be glued onto, and the record
  is refused.
- **A free-space floor.** With ``min_free`` set, a record that would leave less than that many
  bytes free on the file's file system (``fstatvfs``: blocks available to the service's user)
  is refused before anything is written. The check runs under the same lock as the write, and
  measures (about a microsecond) before every record that could bring the free space within
  16 MiB of the floor, counting what this process wrote since it last measured; further from
  the floor, at least every 100 ms. Writers of this service cross the floor only if others
  fill more than 16 MiB within those 100 ms.
- **A moved file is noticed.** Before each record the sink compares the configured path with
  the file it has open (device and inode): deleted, renamed away or replaced, it opens the path
  again (creating the file, never its folder) and raises :class:`SinkReplaced`, so that the
  trail starts a new chain there, naming the head of the old one. A file cut shorter than where
  this process last wrote, or whose bytes there are no longer this process's last record
  (``copytruncate``), counts as a new file too. Standard output has no path to reopen: a
  redirected file that is deleted refuses records rather than write where nobody can read.

Pipes and character devices (a piped standard output, ``/dev/full``) get a single ``write`` per
record: a pipe keeps lines whole only up to ``PIPE_BUF`` (4096 bytes on Linux).

One module, about 400 lines, because the three promises above hold only together, under one
``flock`` in :meth:`FileSink.write`; split apart they would be harder to check.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Protocol

from service.settings import MIB, ConfigurationError, Settings

WRITE_FAILED = "audit-write-failed"
FILE_MISSING = "audit-file-missing"
FREE_SPACE_LOW = "audit-free-space-low"

# Read as well as write where allowed: the sink reads back the file's last byte and its own
# last record (``pread``). Opened write-only when reading is not permitted; those checks are
# then left out.
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_WRITE_ONLY = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MODE = 0o640
# The end of this process's last line: it holds the record's own hash, so it is unique, and
# finding it where this process left it proves the file was not truncated or rewritten since.
_TAIL = 80
# How long to wait for another process's lock before refusing the record (normally microseconds).
_LOCK_TIMEOUT = 1.0
_LOCK_NOW = fcntl.LOCK_EX | fcntl.LOCK_NB
# Free space is measured before every record that could bring it within this much of the floor
# (counting what this process wrote since it last measured); further from it, at least this
# often (seconds).
_FREE_MARGIN = 16 * MIB
_FREE_CHECK_EVERY = 0.1


class AuditWriteError(Exception):
    """The record could not be written; the evaluation must not be answered.

    ``reason`` is one of ``audit-write-failed``, ``audit-file-missing`` or
    ``audit-free-space-low``; the message names the sink and the figures, never a record's content.
    """

    def __init__(self, message: str, reason: str = WRITE_FAILED) -> None:
        super().__init__(message)
        self.reason = reason


class SinkReplaced(Exception):
    """The file at the configured path is a new one; the record was not written.

    The sink now writes to the new file. The trail starts a new chain there (its
    ``chain_start`` naming the head of the old chain) and writes the record again.
    """


class AuditSink(Protocol):
    def write(self, line: bytes) -> None: ...


class DescriptorSink:
    """One ``write`` per record on a pipe or character device (or on a descriptor given as is)."""

    def __init__(self, fd: int, name: str, *, owned: bool = False) -> None:
        self._fd = fd
        self.name = name
        self._owned = owned
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

    def close(self) -> None:
        if self._owned:
            os.close(self._fd)
            self._owned = False


def _after_fork_of(sink: FileSink | None) -> None:
    if sink is not None:
        sink._after_fork()


class FileSink:
    """A regular file shared by any number of writers; see the module's docstring."""

    def __init__(self, fd: int, name: str, *, path: Path | None = None, min_free: int = 0) -> None:
        self.name = name
        self._path = path
        self._path_text = os.fspath(path) if path is not None else None
        self._min_free = min_free
        self._lock = threading.Lock()
        self._retired: list[int] = []  # descriptors of replaced files, closed once unlocked
        self._free_checked = -_FREE_CHECK_EVERY  # when free space was last measured (monotonic)
        self._headroom = 0  # bytes above the floor then, less what this process wrote since
        self._adopt(fd)
        sink = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork_of(sink()))

    def _adopt(self, fd: int) -> None:
        st = os.fstat(fd)
        self._fd = fd
        self._dev, self._ino = st.st_dev, st.st_ino
        self._regular = stat.S_ISREG(st.st_mode)
        self._readable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
        self._end = -1  # where this process's last record ended in this file; -1: none yet
        self._tail = b""  # the last bytes of that record
        self._free_checked = -_FREE_CHECK_EVERY

    def write(self, line: bytes) -> None:
        with self._lock:
            fd = self._fd
            try:
                fcntl.flock(fd, _LOCK_NOW)
            except OSError:
                self._lock_file(fd)
            try:
                size = self._check(fd, len(line) + 1, fresh=False)
                if size and size != self._end and self._readable and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # the file ends in a fragment: this record starts its own line
                written = os.write(fd, line)
                if written != len(line):
                    self._finish_short_write(fd, line, written, size)
                if self._regular:
                    # Under the lock, an O_APPEND write lands at the size just read.
                    self._end = size + len(line)
                    self._tail = line[-_TAIL:]
                    self._headroom -= len(line)
            except OSError as error:  # nothing was written
                raise AuditWriteError(
                    f"cannot write the audit record to {self.name}: {error.strerror or error}"
                ) from None
            finally:
                self._unlock(fd)

    def check(self) -> None:
        """Raise as ``write`` would before writing: a moved file (reopened), a low floor."""
        with self._lock:
            fd = self._fd
            self._lock_file(fd)
            try:
                self._check(fd, 0, fresh=True)
            except OSError as error:
                raise AuditWriteError(f"cannot check the audit file {self.name}: {error.strerror}") from None
            finally:
                self._unlock(fd)

    def close(self) -> None:
        with self._lock:
            for fd in (*self._retired, self._fd):
                os.close(fd)
            self._retired = []
            self._fd = -1

    # ------------------------------------------------------------------------------------------

    def _check(self, fd: int, needed: int, *, fresh: bool) -> int:
        """The file's size, once it is known to be the right file with room for ``needed`` bytes."""
        if self._path_text is not None:
            try:
                st = os.stat(self._path_text)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is None or st.st_ino != self._ino or st.st_dev != self._dev:
                self._reopen()
                raise SinkReplaced(f"{self.name} was deleted, moved or replaced")
        else:
            st = os.fstat(fd)
            if st.st_nlink == 0:
                raise AuditWriteError(
                    f"{self.name} is a file that has been deleted: records written to it could never be read",
                    FILE_MISSING,
                )
        if not self._regular:
            return 0
        size = st.st_size
        if self._end >= 0 and size != self._end:
            start = self._end - len(self._tail)
            if size < self._end or (self._readable and os.pread(fd, len(self._tail), start) != self._tail):
                self._end, self._tail = -1, b""
                raise SinkReplaced(f"{self.name} was truncated or rewritten")
        if self._min_free:
            self._check_free(fd, needed, fresh)
        return size

    def _check_free(self, fd: int, needed: int, fresh: bool) -> None:
        """Refuse when writing ``needed`` bytes would leave less than the floor free.

        Measured (``fstatvfs``) when ``fresh``, when this record could bring the free space
        within ``_FREE_MARGIN`` of the floor (counting what this process wrote since it last
        measured), and otherwise at least every ``_FREE_CHECK_EVERY`` seconds.
        """
        now = time.monotonic()
        if (
            not fresh
            and self._headroom - needed >= _FREE_MARGIN
            and now - self._free_checked < _FREE_CHECK_EVERY
        ):
            return
        vfs = os.fstatvfs(fd)
        free = vfs.f_bavail * vfs.f_frsize
        self._free_checked, self._headroom = now, free - self._min_free
        if free - needed < self._min_free:
            raise AuditWriteError(
                f"only {_size(free)} ({free} bytes) free on the file system of {self.name}; "
                f"the audit trail keeps at least {_size(self._min_free)} ({self._min_free} bytes) "
                "free (GUIDANCE_AUDIT_MIN_FREE)",
                FREE_SPACE_LOW,
            )

    def _finish_short_write(self, fd: int, data: bytes, written: int, size: int) -> None:
        """Write the rest of a record that came up short; if that fails, cut the file back to
        ``size``, so that no fragment stays for another record to be glued onto, and refuse."""
        view = memoryview(data)
        try:
            while written < len(data):
                count = os.write(fd, view[written:])
                if count <= 0:
                    raise OSError(errno.EIO, "the write made no progress")
                written += count
        except OSError as error:
            message = (
                f"cannot write the audit record to {self.name}: {error.strerror or error} after "
                f"{written} of its {len(data)} bytes"
            )
            try:
                os.ftruncate(fd, size)
                message += "; the part written was removed"
            except OSError as cut:
                self._end, self._tail = -1, b""
                message += f"; the part written could not be removed ({cut.strerror})"
            raise AuditWriteError(message) from None

    def _reopen(self) -> None:
        assert self._path is not None
        try:
            fd = _open(self._path)
        except OSError as error:
            raise AuditWriteError(
                f"the audit file {self.name} was deleted or moved and cannot be created again: "
                f"{error.strerror}",
                FILE_MISSING,
            ) from None
        self._retired.append(self._fd)
        self._adopt(fd)

    def _lock_file(self, fd: int) -> None:
        """Take the file's lock, waiting up to ``_LOCK_TIMEOUT`` for another process to let go."""
        try:
            fcntl.flock(fd, _LOCK_NOW)
            return
        except BlockingIOError:
            pass
        except OSError as error:
            raise AuditWriteError(f"cannot lock the audit file {self.name}: {error.strerror}") from None
        deadline = time.monotonic() + _LOCK_TIMEOUT
        pause = 0.0
        while True:
            time.sleep(pause)
            try:
                fcntl.flock(fd, _LOCK_NOW)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuditWriteError(
                        f"the audit file {self.name} stayed locked by another process for {_LOCK_TIMEOUT:g} s"
                    ) from None
                pause = min(pause * 2 or 0.00005, 0.005)

    def _unlock(self, fd: int) -> None:
        """Let go of the file's lock; close the descriptors of replaced files."""
        try:  # noqa: SIM105 - a try costs nothing here, contextlib.suppress does
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass  # closing the descriptor releases it anyway
        if not self._retired:
            return
        for retired in self._retired:
            with contextlib.suppress(OSError):
                os.close(retired)
        self._retired = []

    def _after_fork(self) -> None:
        """A forked child shares its parent's open file description, and with it the parent's
        ``flock``: give it one of its own."""
        self._lock = threading.Lock()
        own = _own_description(self._fd)
        if own is not None:
            os.close(self._fd)
            self._fd = own
            self._readable = fcntl.fcntl(own, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR


def _own_description(fd: int) -> int | None:
    """A new open file description of the file ``fd`` is open on (Linux ``/proc``), appending."""
    for flags in (os.O_RDWR, os.O_WRONLY):
        try:
            return os.open(f"/proc/self/fd/{fd}", flags | os.O_APPEND | os.O_CLOEXEC)
        except OSError:
            continue
    return None


def _open(path: Path) -> int:
    try:
        return os.open(path, _FLAGS, _MODE)
    except PermissionError:
        return os.open(path, _WRITE_ONLY, _MODE)


def _size(count: int) -> str:
    return f"{count / MIB:.1f} MiB"


def stdout_sink(min_free: int = 0) -> FileSink | DescriptorSink:
    """Standard output: a :class:`FileSink` when it is redirected to a regular file."""
    name = "standard output"
    try:
        is_file = stat.S_ISREG(os.fstat(1).st_mode)
    except OSError:
        is_file = False
    if not is_file:
        return DescriptorSink(1, name)
    # Workers share the descriptor they inherit, and a shared description shares its flock:
    # each process writes through one of its own.
    fd = _own_description(1)
    if fd is None:
        fd = 1
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
    return FileSink(fd, name, min_free=min_free)


def file_sink(path: Path, min_free: int = 0) -> FileSink | DescriptorSink:
    """The file at ``path``, opened for appending (created with mode 0640). Raises ``OSError``."""
    fd = _open(path)
    try:
        is_file = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if is_file:
        return FileSink(fd, str(path), path=path, min_free=min_free)
    return DescriptorSink(fd, str(path), owned=True)


def open_audit_sink(settings: Settings) -> FileSink | DescriptorSink:
    """The sink the settings name. Raises :class:`ConfigurationError` for a file that cannot be used."""
    path = settings.audit_file
    if path is None:
        return stdout_sink(settings.audit_min_free)
    if not path.parent.is_dir():
        raise ConfigurationError(
            "GUIDANCE_AUDIT_FILE",
            f"the folder {path.parent} does not exist; create it with the owner and permissions the "
            "audit trail should have (the service never creates audit folders)",
        )
    try:
        return file_sink(path, settings.audit_min_free)
    except OSError as error:
        raise ConfigurationError(
            "GUIDANCE_AUDIT_FILE", f"cannot open {path} for appending: {error.strerror}"
        ) from None

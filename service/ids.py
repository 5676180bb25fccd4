"""Random ids (request ids, evaluation ids, cards) from the operating system's generator, read
4 KiB at a time rather than 16 bytes at a time: one system call per 256 ids.

Each byte is handed out once. A forked process (a pre-forking server's worker) drops what it
inherited, so that no two processes ever hand out the same id.
"""

from __future__ import annotations

import os
import threading

_CHUNK = 4096
_lock = threading.Lock()
_pool = b""
_used = 0
# The UUID variant (RFC 9562: binary 10xx) in the first hex digit of the fourth group.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _drop_pool() -> None:
    global _pool, _used
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_drop_pool)


def random_hex(size: int = 16) -> str:
    """``size`` random bytes as hex (``size`` at most 4,096)."""
    global _pool, _used
    with _lock:
        if _used + size > len(_pool):
            _pool, _used = os.urandom(_CHUNK), 0
        start = _used
        _used += size
        return _pool[start : start + size].hex()


def random_uuid4() -> str:
    """A random (version 4) UUID in its usual text form, without building a ``UUID``."""
    text = random_hex(16)
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"

"""HMAC-SHA256 under one key, keyed once: what the audit trail hashes case references with."""

from __future__ import annotations

import hashlib

BLOCK = 64  # SHA-256's block size, in bytes


class KeyedHash:
    """HMAC-SHA256 (RFC 2104) under one key, keyed once: the inner and outer hashes start from
    states that have absorbed the padded key, and each message hashes on copies of them. What
    ``hmac.new(key, message, "sha256").hexdigest()`` gives, without its set-up per message."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

"""Hash chaining: each record carries its sequence number, its predecessor's hash and its own.

``hash`` is SHA-256 over the record's canonical JSON (keys sorted, no spaces) without the
``hash`` field. Each process keeps its own chain, named by ``chain``, so several workers can
share one file and each chain still verifies on its own.

A line is that canonical JSON with ``"hash":"<hex>"`` added as its last member: the service
encodes each record once, hashes those bytes and appends the hash, with no second encoding.
"""

from __future__ import annotations

import hashlib
from typing import Any

from service.audit.records import canonical as _canonical

GENESIS = "0" * 64

_sha256 = hashlib.sha256


def canonical(record: Any) -> bytes:
    """The canonical JSON of a record: a :mod:`service.audit.records` Struct, or a dict as read."""
    return _canonical(record)


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of ``record`` without its ``hash`` field."""
    body = {key: value for key, value in record.items() if key != "hash"}
    return _sha256(_canonical(body)).hexdigest()


def seal(record: Any) -> tuple[bytes, str]:
    """The record's line and its hash. ``record`` (a Struct, or a dict) must not hold ``hash``
    and must not be empty.

    The line is the canonical JSON of ``record`` with ``"hash":"<hex>"`` appended as the last
    member, and a newline: exactly the bytes ``guidance audit verify`` expects.
    """
    body = _canonical(record)
    digest = _sha256(body).hexdigest()
    return body[:-1] + b',"hash":"' + digest.encode() + b'"}\n', digest

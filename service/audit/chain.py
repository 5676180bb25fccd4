"""Hash chaining: each record carries its sequence number, its predecessor's hash and its own.

``hash`` is SHA-256 over the record's canonical JSON (keys sorted, no spaces) without the
``hash`` field. Each process keeps its own chain, named by ``chain``, so several workers can
share one file and each chain still verifies on its own.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

GENESIS = "0" * 64

_canonical = msgspec.json.Encoder(order="sorted").encode


def canonical(record: dict[str, Any]) -> bytes:
    return _canonical(record)


def record_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def seal(record: dict[str, Any]) -> bytes:
    """The record's line: canonical JSON with its ``hash`` added, and a newline."""
    digest = hashlib.sha256(_canonical(record)).hexdigest()
    record["hash"] = digest
    return _canonical(record) + b"\n"

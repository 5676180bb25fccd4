"""Schemathesis hooks for the run against this service (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

JSON Schema counts ``3.0`` as the integer 3; this service does not: it never coerces, and
refuses a whole number written with a fraction (the OpenAPI field descriptions say so).
Schemathesis draws such spellings for the integer fields of JSON bodies under OpenAPI 3.1 and
has no setting against it, so generated bodies get them written as integers here. Nothing else
of what it generates is changed.

Every call carries a bearer token: the API's own (``SCHEMATHESIS_API_TOKEN``), or under CDS
Hooks one of its own per call (its audience is the exact URL called and its ``jti`` is used
once), signed here as an EHR would with the key in ``SCHEMATHESIS_CDS_KEY``.
"""

from __future__ import annotations

import os
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt
import schemathesis


def _integers_as_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers_as_integers(item) for item in value]
    return value


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    return _integers_as_integers(body)


@cache
def _cds_key() -> bytes:
    return Path(os.environ["SCHEMATHESIS_CDS_KEY"]).read_bytes()


def _cds_hooks_token(path: str) -> str:
    now = int(time.time())
    claims = {
        "iss": os.environ["SCHEMATHESIS_CDS_ISSUER"],
        "aud": os.environ["SCHEMATHESIS_PUBLIC_URL"] + path,
        "iat": now,
        "exp": now + 300,
        "sub": "schemathesis-ehr",  # CDS Hooks: the EHR's client id
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, _cds_key(), algorithm="ES256", headers={"kid": "ehr-schemathesis"})


@schemathesis.auth(refresh_interval=None)
class BearerTokens:
    """The API's token for the API; a fresh one per call, for its exact URL, under CDS Hooks."""

    def get(self, case: Any, context: Any) -> str:
        path = unquote(case.formatted_path)
        if path.startswith("/cds-services"):
            return _cds_hooks_token(path)
        return os.environ["SCHEMATHESIS_API_TOKEN"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

"""Schemathesis hooks for the run against this service (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

JSON Schema counts ``3.0`` as the integer 3; this service does not: it never coerces, and
refuses a whole number written with a fraction (the OpenAPI field descriptions say so).
Schemathesis draws such spellings for the integer fields of JSON bodies under OpenAPI 3.1 and
has no setting against it, so generated bodies get them written as integers here. Nothing else
of what it generates is changed.
"""

from __future__ import annotations

from typing import Any

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

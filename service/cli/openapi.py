"""``guidance openapi``: write the OpenAPI document exactly as the app generates it."""

from __future__ import annotations

from pathlib import Path

import msgspec

from service.audit.sinks import DescriptorSink
from service.http.openapi import encode_document


def generated_openapi() -> bytes:
    from service.app import create_app

    # Building the app for its schema writes no audit record: chains open at startup only.
    app = create_app(audit_sink=DescriptorSink(-1, "nowhere"))
    return encode_document(msgspec.json.decode(app.state.openapi_document))


def write_openapi(output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(generated_openapi())
    print(f"wrote {output}")
    return 0

"""``guidance openapi``: write the OpenAPI document exactly as the app generates it."""

from __future__ import annotations

from pathlib import Path

import msgspec

from service.audit.sinks import DescriptorSink


def generated_openapi() -> bytes:
    from service.app import create_app

    # Building the app for its schema writes no audit record: chains open at startup only.
    app = create_app(audit_sink=DescriptorSink(-1, "nowhere"))
    document = app.openapi_schema.to_schema()
    return msgspec.json.format(msgspec.json.encode(document, order="sorted"), indent=2) + b"\n"


def write_openapi(output: Path) -> int:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(generated_openapi())
    print(f"wrote {output}")
    return 0

"""The bare endpoint the benchmark compares the service with: a Litestar POST route that
receives the same body (decoded as JSON, as Litestar does for any JSON body) and answers with
a small JSON object. No knowledge, no engine, no audit."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post


@post("/v1/evaluate", status_code=200)
async def evaluate(data: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "fields": len(data)}


def create_app() -> Litestar:
    return Litestar(route_handlers=[evaluate])


def serve() -> int:
    """``python -m bench.bare``: served as ``guidance serve`` serves the service, but with uvicorn's
    stock protocol rather than the front door, whose cost is the service's to carry."""
    import uvicorn

    from service.settings import Settings

    settings = Settings.from_env()
    uvicorn.run(
        "bench.bare:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(serve())

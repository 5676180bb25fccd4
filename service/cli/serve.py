"""``guidance serve``: the API under uvicorn, one process per worker."""

from __future__ import annotations

import argparse

import uvicorn

from service.settings import Settings


def serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        access_log=False,  # access lines would repeat what the audit trail records, with less care
        log_level="info",  # start-up lines only: access lines are off
    )
    return 0

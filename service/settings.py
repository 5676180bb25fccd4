"""All configuration, read once from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from msgspec import Struct

LINK_SETTING_PREFIX = "GUIDANCE_LINK_"
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"


class Settings(Struct, kw_only=True, frozen=True):
    knowledge_dirs: tuple[Path, ...] = (DEFAULT_KNOWLEDGE_DIR,)
    packs: tuple[str, ...] | None = None  # None: every pack found
    link_settings: dict[str, str] = {}
    audit_key: bytes | None = None
    audit_file: Path | None = None
    max_body_bytes: int = 64 * 1024
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        dirs = tuple(Path(p) for p in env.get("GUIDANCE_KNOWLEDGE", "").split(os.pathsep) if p)
        packs = tuple(p.strip() for p in env.get("GUIDANCE_PACKS", "").split(",") if p.strip())
        links = {
            key[len(LINK_SETTING_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(LINK_SETTING_PREFIX) and value
        }
        key = env.get("GUIDANCE_AUDIT_KEY")
        audit_file = env.get("GUIDANCE_AUDIT_FILE")
        return cls(
            knowledge_dirs=dirs or (DEFAULT_KNOWLEDGE_DIR,),
            packs=packs or None,
            link_settings=links,
            audit_key=key.encode() if key else None,
            audit_file=Path(audit_file) if audit_file else None,
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8000")),
            workers=int(env.get("WORKERS", "1")),
        )

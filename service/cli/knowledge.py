"""Loading packs for a command, with problems printed for people rather than raised."""

from __future__ import annotations

import argparse
import sys

from service.packs.loader import PackError, load_packs
from service.packs.model import Pack
from service.settings import settings_from_env


def packs_for(args: argparse.Namespace) -> list[Pack] | None:
    settings = settings_from_env()
    dirs = tuple(args.knowledge) if getattr(args, "knowledge", None) else settings.knowledge_dirs
    only = args.pack or settings.packs
    try:
        return load_packs(dirs, only)
    except PackError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return None

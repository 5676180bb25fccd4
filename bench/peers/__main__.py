"""``python -m bench.peers [--cases N] [--rounds R] [--write DIR]``: the peers table alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bench.inprocess import shipped_packs
from bench.peers import jdm, rego, suite
from bench.peers.engines import jdm_name


def _at_least(least: int) -> Callable[[str], int]:
    def number(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, not {value}")
        return value

    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--cases", type=_at_least(1), default=10_000, help="cases every engine must agree on")
    parser.add_argument("--timed", type=_at_least(1), default=2_000, help="of them, how many are timed")
    parser.add_argument("--rounds", type=_at_least(0), default=5, help="0: check agreement only")
    parser.add_argument("--write", type=Path, help="also write each pack's generated JDM and Rego here")
    args = parser.parse_args(argv)
    packs = shipped_packs()
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for pack in packs:
            (args.write / f"{jdm_name(pack)}.json").write_text(jdm.decision_text(pack))
            (args.write / f"{jdm_name(pack)}.rego").write_text(rego.module(pack))
    try:
        result = suite.run(packs, args.cases, args.rounds, timed=args.timed)
    except suite.Disagreement as disagreement:
        print(disagreement, file=sys.stderr)
        return 1
    print(suite.render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

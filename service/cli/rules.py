"""``guidance rules``: every rule as a readable table."""

from __future__ import annotations

import argparse
import textwrap

from service.cli.knowledge import packs_for
from service.conditions.words import describe


def rules(args: argparse.Namespace) -> int:
    packs = packs_for(args)
    if packs is None:
        return 2
    for pack in packs:
        print(f"{pack.id} {pack.version} – {pack.spec.title} ({len(pack.rules)} rules)")
        header = f"  {'rule':<46} {'LP':>2}  {'kind':<8} {'indicator':<9} when"
        print(header)
        print("  " + "-" * (len(header) + 30))
        for rule in pack.rules:
            words = textwrap.wrap(describe(rule.condition), width=70) or [""]
            columns = f"{rule.local_id:<46} {rule.learning_point:>2}  {rule.kind:<8} {rule.indicator:<9}"
            print(f"  {columns} {words[0]}")
            for more in words[1:]:
                print(f"  {'':<46} {'':>2}  {'':<8} {'':<9} {more}")
        print()
    return 0

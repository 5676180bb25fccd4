"""``guidance audit verify|summarize|show``: the audit trail, checked and read for people.

Exit status: 0 all is well; 1 a chain is broken, or the evaluation asked for is not there;
2 a file cannot be read or an option is wrong.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from service.audit.show import PackTexts, pack_texts, show, show_text
from service.audit.summarize import BoundError, summarize, summary_text
from service.audit.verify import Verification, verify_files

OK, BROKEN, USAGE = 0, 1, 2


def audit(args: argparse.Namespace) -> int:
    try:
        if args.audit_command == "verify":
            return _verify(args)
        if args.audit_command == "summarize":
            return _summarize(args)
        if args.audit_command == "show":
            return _show(args)
    except OSError as error:
        name = error.filename if error.filename is not None else "a file"
        print(f"guidance audit: cannot read {name}: {error.strerror or error}", file=sys.stderr)
        return USAGE
    except BoundError as error:
        print(f"guidance audit: {error}", file=sys.stderr)
        return USAGE
    print(f"guidance audit: unknown action {args.audit_command!r}", file=sys.stderr)
    return USAGE


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _verify(args: argparse.Namespace) -> int:
    result = verify_files(args.files)
    if getattr(args, "json", False):
        _print_json(result.to_builtins())
    else:
        sys.stdout.write(verify_text(result))
    return OK if result.intact else BROKEN


def verify_text(result: Verification) -> str:
    out: list[str] = []
    for report in result.files:
        counted = f"{report.records} record{_s(report.records)} on {report.lines} line{_s(report.lines)}"
        if report.intact:
            out.append(f"{report.path}: intact ({counted})")
            continue
        n = len(report.problems)
        out.append(f"{report.path}: {n} problem{_s(n)} ({counted})")
        for p in report.problems:
            out.append(f"{report.path}:{p.line}: BROKEN ({p.kind}): {p.message}")
            if p.chain is not None:
                out.append(f"  chain {p.chain}" + (f", seq {p.seq}" if p.seq is not None else ""))
    if result.chains:
        out.append("")
        out.append("Chains (note each head: records later removed from a chain's end show only against it):")
        for head in result.chains.values():
            process = head.process
            who = f"process {process.pid} on {process.host}" if process else "process unknown"
            out.append(
                f"  {head.chain}  {who}  {head.records} record{_s(head.records)}, "
                f"seq {head.last_seq} last, {head.first_ts} to {head.last_ts}"
            )
            out.append(f"    head {head.head}")
            if head.follows is not None:
                f = head.follows
                where = "" if head.follows_found else " (not in these files)"
                out.append(f"    follows chain {f.chain} from its seq {f.seq}{where}")
            out.extend(f"    continued by chain {later}" for later in head.followed_by)
            if head.outages:
                out.append(
                    f"    {head.outages} outage{_s(head.outages)} of the audit trail: {head.refused} "
                    f"record{_s(head.refused)} refused while it could not write (audit_resumed)"
                )
            if head.problems:
                out.append(f"    {head.problems} problem{_s(head.problems)} in this chain (above)")
    out.append("")
    if result.intact:
        out.append("intact")
    else:
        counts = result.counts()
        total = sum(counts.values())
        listed = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        out.append(f"BROKEN: {total} problem{_s(total)} ({listed})")
    return "\n".join(out) + "\n"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _summarize(args: argparse.Namespace) -> int:
    summary = summarize(args.files, since=args.since, until=args.until, pack=args.pack, rule=args.rule)
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(summary_text(summary))
    return OK


def _knowledge() -> dict[str, PackTexts]:
    """The knowledge this machine has, for the prompts' own words (used only when digests match)."""
    from service.packs.loader import PackError, load_packs
    from service.settings import settings_from_env

    try:
        return pack_texts(load_packs(settings_from_env().knowledge_dirs, None))
    except (PackError, OSError):
        return {}


def _show(args: argparse.Namespace) -> int:
    view = show(args.evaluation_id, args.files, _knowledge())
    if view is None:
        names = ", ".join(str(f) for f in args.files)
        print(f"guidance audit: no evaluation {args.evaluation_id} in {names}", file=sys.stderr)
        return BROKEN
    if args.json:
        _print_json(view)
    else:
        sys.stdout.write(show_text(view))
    return OK

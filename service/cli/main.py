"""``guidance``: one command for the people who run the service and keep its knowledge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service import __version__
from service.settings import ConfigurationError


def _knowledge_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--knowledge",
        action="append",
        type=Path,
        metavar="DIR",
        help="a pack folder or a folder of packs (default: GUIDANCE_KNOWLEDGE, else knowledge/)",
    )
    parser.add_argument("--pack", action="append", metavar="ID", help="use only this pack (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guidance",
        description="Safeguarding guidance service: serve it, check its knowledge, read its audit trail.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API (HOST, PORT and WORKERS override)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)

    check = commands.add_parser("check", help="validate packs, run their scenarios, report coverage")
    check.add_argument(
        "--strict", action="store_true", help="fail, rather than warn, on a pack overdue for review"
    )
    check.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        metavar="DIR",
        help="default: GUIDANCE_KNOWLEDGE, else the shipped knowledge",
    )

    evaluate = commands.add_parser("evaluate", help="prompts for a facts file, without a server")
    evaluate.add_argument(
        "file", type=Path, metavar="FILE.json", help="facts, or a request body with `facts`"
    )
    evaluate.add_argument("--json", action="store_true", help="print JSON as the API does")
    _knowledge_args(evaluate)

    rules = commands.add_parser("rules", help="the rules as a readable table")
    _knowledge_args(rules)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document the app generates")
    openapi.add_argument("--output", type=Path, default=Path("openapi/openapi.json"))

    from service.cli.dev_token import add_parser as add_dev_token

    add_dev_token(commands)

    audit = commands.add_parser("audit", help="verify and read audit logs")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify", help="check every hash chain; report every problem; exit 1 on any"
    )
    verify.add_argument("files", nargs="+", type=Path, metavar="FILE")
    verify.add_argument("--json", action="store_true")
    summarize = audit_commands.add_parser("summarize", help="how often each rule fired, and the feedback")
    summarize.add_argument("files", nargs="+", type=Path, metavar="FILE")
    summarize.add_argument("--since", help="RFC 3339 time or date, inclusive")
    summarize.add_argument("--until", help="RFC 3339 time or date, exclusive")
    summarize.add_argument("--pack", help="only this pack id")
    summarize.add_argument("--rule", help="only this rule id")
    summarize.add_argument("--json", action="store_true")
    show = audit_commands.add_parser("show", help="one evaluation in words")
    show.add_argument("evaluation_id")
    show.add_argument("files", nargs="+", type=Path, metavar="FILE")
    show.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigurationError as error:
        print(f"guidance: {error.setting}: {error.message}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from service.cli.serve import serve

        return serve(args)
    if args.command == "check":
        from service.cli.check import check

        return check(args.dirs, strict=args.strict)
    if args.command == "evaluate":
        from service.cli.evaluate import evaluate

        return evaluate(args)
    if args.command == "rules":
        from service.cli.rules import rules

        return rules(args)
    if args.command == "dev-token":
        from service.cli.dev_token import dev_token

        return dev_token(args)
    if args.command == "openapi":
        from service.cli.openapi import write_openapi

        return write_openapi(args.output)
    from service.cli.audit import audit

    return audit(args)


if __name__ == "__main__":
    sys.exit(main())

"""``guidance evaluate FILE.json``: the prompts for a facts file, through the API's own path."""

from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import UTC, datetime

import msgspec

from service.cli.knowledge import packs_for
from service.evaluation.evaluator import Evaluator
from service.evaluation.prompts import Prompt
from service.guidance.answers import KnowledgeRef, knowledge_refs
from service.guidance.decoding import REQUIRED, RequestRejected, StrictDecoder
from service.guidance.requests import EvaluationRequest
from service.settings import settings_from_env


class EvaluationOutput(msgspec.Struct, kw_only=True):
    knowledge: list[KnowledgeRef]
    prompts: list[Prompt]


EVALUATION_REQUEST = StrictDecoder(EvaluationRequest)


def read_request(raw: bytes) -> EvaluationRequest:
    """A request body exactly as the API takes it, or a bare facts object, read as the
    body ``{"facts": …}`` would be. Either way through the API's own strict decoder, so a file
    is refused here exactly when the API would refuse it, in the same words."""
    try:
        return EVALUATION_REQUEST.decode(raw)
    except RequestRejected as rejected:
        if not _is_bare_facts(rejected):
            raise
    return EVALUATION_REQUEST.decode(b'{"facts":' + raw + b"}")


def _is_bare_facts(rejected: RequestRejected) -> bool:
    """A JSON object whose only faults as a body are a missing `facts` and members that are
    not body fields: the facts on their own."""
    if rejected.syntax:
        return False
    missing_facts = False
    for problem in rejected.problems:
        if problem.field == "facts" and problem.message == REQUIRED:
            missing_facts = True
        elif "." in problem.field or "[" in problem.field or not problem.message.startswith("unknown field"):
            return False
    return missing_facts


def evaluate(args: argparse.Namespace) -> int:
    packs = packs_for(args)
    if packs is None:
        return 2
    try:
        facts = read_request(args.file.read_bytes()).facts
    except OSError as error:
        print(f"{args.file}: {error.strerror}", file=sys.stderr)
        return 2
    except RequestRejected as rejected:
        for problem in rejected.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 2
    prompts = Evaluator(packs, settings_from_env().link_settings).evaluate(facts)
    knowledge = knowledge_refs(packs, datetime.now(UTC).date())
    if args.json:
        output = EvaluationOutput(knowledge=knowledge, prompts=prompts)
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(output)).decode() + "\n")
        return 0
    used = ", ".join(f"{k.pack} {k.version} ({k.digest[:19]}…)" for k in knowledge)
    print(f"{len(prompts)} prompt{'s' if len(prompts) != 1 else ''} from {used}")
    for prompt in prompts:
        print()
        where = f"learning point {prompt.learning_point} · {prompt.id}"
        print(f"[{prompt.indicator.upper()}] {prompt.kind} · {where}")
        for label, text in (("", prompt.summary), ("Why: ", prompt.reason)):
            print(textwrap.fill(label + text, width=96, initial_indent="  ", subsequent_indent="  "))
        print(f"  Source: {prompt.source.label}, learning point {prompt.source.learning_point}")
        for link in prompt.links or ():
            print(f"  Link: {link.label} <{link.url}>")
    return 0

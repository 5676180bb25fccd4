"""``guidance evaluate FILE.json``: the prompts for a facts file, through the API's own path."""

from __future__ import annotations

import argparse
import sys
import textwrap

import msgspec

from service.cli.knowledge import packs_for
from service.evaluation.evaluator import Evaluator
from service.evaluation.prompts import Prompt
from service.facts.vocabulary import Facts
from service.http.schemas import EvaluationRequest, KnowledgeRef
from service.settings import Settings


class EvaluationOutput(msgspec.Struct, kw_only=True):
    knowledge: list[KnowledgeRef]
    prompts: list[Prompt]


def read_facts(raw: bytes) -> Facts:
    """A facts object, or a whole request body (``{"facts": …}``) as sent to the API."""
    document = msgspec.json.decode(raw)
    if isinstance(document, dict) and "facts" in document:
        return msgspec.json.decode(raw, type=EvaluationRequest).facts
    return msgspec.json.decode(raw, type=Facts)


def evaluate(args: argparse.Namespace) -> int:
    packs = packs_for(args)
    if packs is None:
        return 2
    try:
        facts = read_facts(args.file.read_bytes())
    except OSError as error:
        print(f"{args.file}: {error.strerror}", file=sys.stderr)
        return 2
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 2
    prompts = Evaluator(packs, Settings.from_env().link_settings).evaluate(facts)
    knowledge = [KnowledgeRef(pack=p.id, version=p.version, digest=p.digest) for p in packs]
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

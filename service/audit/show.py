"""``guidance audit show``: one evaluation in words, with the feedback on it.

It reads the records as written and trusts them as they stand: ``guidance audit verify`` is
what says whether they are whole. The prompts' own words come from the knowledge installed
where it runs, and only when that knowledge has the digest the evaluation recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from service.audit.reading import Line, Reader
from service.audit.records import Because, CardFeedback, ChainStart, Evaluation, Feedback
from service.evaluation.explanations import COUNTED, render_records
from service.facts.cin_codes import describe_cin_code
from service.facts.paths import vocabulary

__all__ = ["PackTexts", "fact_words", "pack_texts", "show", "show_text"]

_RECORD_PATH = re.compile(r"^([a-z_]+)\[(\d+)\]\.([a-z_]+)$")


@dataclass(frozen=True, slots=True)
class PackTexts:
    """What a loaded pack can say about its rules and counts, used only when its digest matches."""

    digest: str
    summaries: dict[str, str]
    reasons: dict[str, str]
    counts: dict[str, str]


def pack_texts(packs: Iterable[Any]) -> dict[str, PackTexts]:
    """From loaded ``Pack`` objects, by pack id."""
    return {
        p.id: PackTexts(
            digest=p.digest,
            summaries={rule.id: rule.summary for rule in p.rules},
            reasons={rule.id: rule.reason for rule in p.rules},
            counts={count.name: " ".join(count.description.split()) for count in p.counts},
        )
        for p in packs
    }


def _value_words(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "not recorded"
    if isinstance(value, list):
        return ", ".join(_code_words(str(v)) for v in value) or "none"
    return str(value)


def _code_words(code: str) -> str:
    try:
        return f"{code} ({describe_cin_code(code)})"
    except KeyError:
        return code


def fact_words(path: str, counts: dict[str, str] | None = None) -> str:
    """``parents[1].care_leaver`` → ``parent 2: spent time in care as a child``."""
    vocab = vocabulary()
    if path in vocab.fields:
        return vocab.fields[path].words
    match = _RECORD_PATH.match(path)
    if match and match.group(1) in vocab.record_lists:
        records = vocab.record_lists[match.group(1)]
        item = records.item_fields.get(match.group(3))
        if item is not None:
            words = item.words  # lower-cased inside the sentence, as explanations do: "CAMHS" stays
            if len(words) > 1 and (words[1].islower() or words[1] == " "):
                words = words[0].lower() + words[1:]
            noun = "parent" if match.group(1) == "parents" else match.group(1)
            return f"{noun} {int(match.group(2)) + 1}: {words}"
    if counts and path in counts:
        return f"{path} ({counts[path].rstrip('.')})"
    return f"{path} (a count the knowledge pack derives from the facts)"


_COUNTED_IN_BRACKETS = re.compile(r"\s*\(\{counted\}\)")


def _reason(template: str, because: list[Because]) -> str:
    """The rule's sentence, its ``{records}`` filled from the facts on record (roles where known)
    and its ``{counted}`` pointing to them: the record keeps the facts, not the count's words."""
    template = _COUNTED_IN_BRACKETS.sub(" (see Because)", template)
    template = template.replace(COUNTED, "the facts under Because")
    if "{records}" not in template:
        return template
    witnesses = [(b.path, b.value) for b in because]
    parents: dict[int, dict[str, Any]] = {}
    for path, value in witnesses:
        match = _RECORD_PATH.match(path)
        if match and match.group(1) == "parents":
            record = parents.setdefault(int(match.group(2)), {})
            if match.group(3) == "role":
                record["role"] = value
    size = max(parents, default=-1) + 1
    known = {"parents": [parents.get(i, {}) for i in range(size)]}
    try:
        return template.replace("{records}", render_records(witnesses, known))
    except (KeyError, IndexError):
        return template


def show(
    evaluation_id: str, paths: Iterable[Path], knowledge: dict[str, PackTexts] | None = None
) -> dict[str, Any] | None:
    """One evaluation with its feedback, or None when no file holds it. Raises ``OSError``."""
    reader = Reader(list(paths))
    found: Line[Evaluation] | None = None
    copies = 0
    for line in reader.records(Evaluation):
        if line.record.evaluation_id == evaluation_id:
            copies += 1
            found = found or line
    if found is None:
        return None
    r = found.record
    process = None
    for start in reader.records(ChainStart):
        if start.record.chain == r.chain:
            process = msgspec.to_builtins(start.record.process)
            break
    given = [line for line in reader.records(Feedback) if line.record.evaluation_id == evaluation_id]
    given.sort(key=lambda line: line.record.ts)
    cards = {f.card for f in r.fired if f.card is not None}
    on_cards = [line for line in reader.records(CardFeedback) if line.record.card in cards] if cards else []
    on_cards.sort(key=lambda line: line.record.ts)
    knowledge = knowledge or {}
    matching = {
        p.id: knowledge[p.id] for p in r.packs if p.id in knowledge and knowledge[p.id].digest == p.digest
    }
    prompts = []
    shown = set()
    for f in r.fired:
        rule_id = f.rule
        shown.add(rule_id)
        texts = matching.get(rule_id.partition("/")[0])
        prompts.append(
            {
                "rule": rule_id,
                "learning_point": f.learning_point,
                "summary": texts.summaries.get(rule_id) if texts else None,
                "reason": _reason(texts.reasons[rule_id], f.because)
                if texts and rule_id in texts.reasons
                else None,
                "because": [
                    {
                        "path": b.path,
                        "value": b.value,
                        "words": fact_words(b.path, texts.counts if texts else None),
                        "value_words": _value_words(b.value),
                    }
                    for b in f.because
                ],
                "card": f.card,
                "feedback": [_feedback_view(line) for line in given if line.record.prompt_id == rule_id]
                + [_card_feedback_view(line, rule_id) for line in on_cards if line.record.card == f.card],
            }
        )
    return {
        "evaluation_id": evaluation_id,
        "ts": r.ts,
        "file": str(found.path),
        "line": found.number,
        "copies": copies,
        "chain": r.chain,
        "seq": r.seq,
        "process": process,
        "client": r.client,
        "request_id": r.request_id,
        "case_ref_hash": r.case_ref_hash,
        "duration_ms": r.duration_ms,
        "knowledge": [
            {"pack": p.id, "version": p.version, "digest": p.digest, "texts": p.id in matching}
            for p in r.packs
        ],
        "prompts": prompts,
        "other_feedback": [_feedback_view(line) for line in given if line.record.prompt_id not in shown],
    }


def _feedback_view(line: Line[Feedback]) -> dict[str, Any]:
    r = line.record
    return {
        "prompt_id": r.prompt_id,
        "outcome": r.outcome,
        "comment_given": r.comment_given,
        "ts": r.ts,
        "client": r.client,
        "file": str(line.path),
        "line": line.number,
    }


def _card_feedback_view(line: Line[CardFeedback], rule_id: str) -> dict[str, Any]:
    r = line.record
    return {
        "prompt_id": rule_id,
        "card": r.card,
        "outcome": r.outcome,
        "override_reason": r.override_reason,
        "comment_given": r.comment_given,
        "ts": r.ts,
        "client": r.client,
        "file": str(line.path),
        "line": line.number,
    }


def _when(ts: Any) -> str:
    text = str(ts or "?")
    return text.replace("T", " ").replace("Z", " UTC")


def show_text(view: dict[str, Any]) -> str:
    out = [f"Evaluation {view['evaluation_id']}"]
    out.append(f"  When:       {_when(view['ts'])}")
    for i, k in enumerate(view["knowledge"]):
        label = "Knowledge:" if i == 0 else ""
        out.append(f"  {label:<11} {k['pack']} version {k['version']} ({k['digest']})")
    if not view["knowledge"]:
        out.append("  Knowledge:  none recorded")
    out.append(f"  Caller:     {view['client']} (request {view['request_id']})")
    if view["case_ref_hash"]:
        out.append(
            f"  Case:       known by a keyed hash of its reference, {view['case_ref_hash']} "
            "(the reference itself is never recorded)"
        )
    else:
        out.append("  Case:       not identified (no case reference sent, or no audit key configured)")
    if view["duration_ms"] is not None:
        out.append(f"  Took:       {view['duration_ms']} ms")
    process = view["process"] or {}
    where = f"{view['file']} line {view['line']}, chain {view['chain']} seq {view['seq']}"
    if process:
        where += f", process {process.get('pid')} on {process.get('host')}"
    out.append(f"  Recorded:   {where}")
    if view["copies"] > 1:
        out.append(f"  Note:       the record appears {view['copies']} times in these files")
    out.append("")
    prompts = view["prompts"]
    if not prompts:
        out.append("No prompts were shown.")
    else:
        out.append(f"{len(prompts)} prompt{_s(len(prompts))} shown, in this order:")
    for n, p in enumerate(prompts, start=1):
        out.append(f"{n}. {p['rule']} (learning point {p['learning_point']})")
        if p["summary"]:
            out.append(f"   Prompt: {p['summary']}")
        if p["reason"]:
            out.append(f"   Why:    {p['reason']}")
        out.append("   Because:" if p["because"] else "   Because: (no facts recorded)")
        for b in p["because"]:
            out.append(f"     - {b['words']}: {b['value_words']}")
        if not p["feedback"]:
            out.append("   Feedback: none")
        for fb in p["feedback"]:
            out.append(f"   Feedback: {_feedback_words(fb)}")
    if prompts and not any(k["texts"] for k in view["knowledge"]):
        out.append("")
        out.append(
            "(The prompts' own words are not shown: the knowledge loaded here is not the version "
            "this evaluation used.)"
        )
    if view["other_feedback"]:
        out.append("")
        out.append("Feedback about prompts this evaluation did not show:")
        out.extend(f"  {fb['prompt_id']}: {_feedback_words(fb)}" for fb in view["other_feedback"])
    return "\n".join(out) + "\n"


def _feedback_words(fb: dict[str, Any]) -> str:
    words = f"{str(fb['outcome']).replace('_', ' ')} at {_when(fb['ts'])}"
    if fb.get("override_reason"):
        words += f" (override reason: {fb['override_reason']})"
    if fb["comment_given"]:
        words += ", with a comment (kept by the caller; never recorded here)"
    return words


def _s(n: int) -> str:
    return "" if n == 1 else "s"

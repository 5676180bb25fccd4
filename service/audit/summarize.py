"""``guidance audit summarize``: how often each learning point fired, and what practitioners did with it.

It reads the records as written and trusts them as they stand: ``guidance audit verify`` is
what says whether they are whole. Lines that are not audit records are counted and otherwise
left alone.

Feedback is matched to the prompt it is about (same evaluation, same rule); CDS Hooks feedback
to the prompt shown as its card (the evaluation's ``fired[].card``). When the same prompt of
the same evaluation gets feedback more than once, the latest counts, so repeated identical
feedback changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service.audit.reading import Reader
from service.audit.records import CardFeedback, Evaluation, Feedback

__all__ = ["OUTCOMES", "BoundError", "PackStats", "RuleStats", "parse_bound", "summarize", "summary_text"]

# The REST API's outcomes, then CDS Hooks' own (its "accepted" is the same as ours).
OUTCOMES = ("accepted", "not_applicable", "already_done", "disagree", "overridden")


class BoundError(ValueError):
    """A --since or --until value that is neither an RFC 3339 time nor a date."""


def parse_bound(text: str) -> str:
    """An RFC 3339 time (with ``Z`` or an offset) or a date (midnight UTC), as the records write times.

    Records write ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, so times in that one form compare as text.
    """
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError as error:
            raise BoundError(f"`{text}` is not a valid date: {error}") from None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", value):
            raise BoundError(
                f"`{text}` is not an RFC 3339 time (2026-01-31T09:30:00Z, or with an offset "
                "such as +01:00) or a date (2026-01-31)"
            )
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError as error:
            raise BoundError(f"`{text}` is not a valid time: {error}") from None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class _Feedback:
    ts: str
    outcome: str
    comment_given: bool
    matched: bool = False


@dataclass(slots=True)
class RuleStats:
    rule: str
    learning_point: int | None
    fired: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    comments: int = 0

    @property
    def answered(self) -> int:
        return sum(self.outcomes.values())

    def to_builtins(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "learning_point": self.learning_point,
            "fired": self.fired,
            "feedback": dict(self.outcomes),
            "no_feedback": self.fired - self.answered,
            "comments_given": self.comments,
        }


@dataclass(slots=True)
class PackStats:
    pack: str
    version: str | None
    digest: str | None
    evaluations: int = 0
    rules: dict[str, RuleStats] = field(default_factory=dict)

    def to_builtins(self) -> dict[str, Any]:
        rules = sorted(self.rules.values(), key=lambda r: (r.learning_point or 0, r.rule))
        return {
            "pack": self.pack,
            "version": self.version,
            "digest": self.digest,
            "evaluations": self.evaluations,
            "rules": [r.to_builtins() for r in rules],
        }


def _rule_matches(rule_id: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    return rule_id == wanted or ("/" not in wanted and rule_id.partition("/")[2] == wanted)


def summarize(
    paths: Iterable[Path],
    *,
    since: str | None = None,
    until: str | None = None,
    pack: str | None = None,
    rule: str | None = None,
) -> dict[str, Any]:
    """Per pack version, per rule: how often it fired and what practitioners did with it.

    ``since`` (inclusive) and ``until`` (exclusive) are RFC 3339 times or dates and select
    evaluations by when they were made; feedback counts with the evaluation it is about.
    Raises ``BoundError`` for a bad bound and ``OSError`` for an unreadable file.
    """
    files = list(paths)
    low = parse_bound(since) if since else None
    high = parse_bound(until) if until else None
    reader = Reader(files)

    feedback: dict[tuple[str, str], _Feedback] = {}
    repeated = 0
    for feedback_line in reader.records(Feedback):
        given_now = feedback_line.record
        prompt_key = (given_now.evaluation_id, given_now.prompt_id)
        entry = _Feedback(given_now.ts, given_now.outcome, given_now.comment_given)
        known = feedback.get(prompt_key)
        if known is None:
            feedback[prompt_key] = entry
            continue
        repeated += 1
        if given_now.ts >= known.ts:  # the latest counts; file order breaks ties
            feedback[prompt_key] = entry
    on_cards: dict[str, _Feedback] = {}
    for card_line in reader.records(CardFeedback):
        c = card_line.record
        entry = _Feedback(c.ts, c.outcome, c.comment_given)
        known = on_cards.get(c.card)
        if known is None:
            on_cards[c.card] = entry
            continue
        repeated += 1
        if c.ts >= known.ts:
            on_cards[c.card] = entry
    feedback_evaluations = {evaluation_id for evaluation_id, _ in feedback}
    # Evaluations that feedback is about: in the window?, and the rules they showed.
    about: dict[str, tuple[bool, set[str]]] = {}

    groups: dict[tuple[str, str | None, str | None], PackStats] = {}
    seen: set[str] = set()
    duplicates = 0
    evaluations = 0
    without_prompts = 0
    first_ts: str | None = None
    last_ts: str | None = None
    for line in reader.records(Evaluation, count_others=True):
        r = line.record
        evaluation_id = r.evaluation_id
        if evaluation_id in seen:
            duplicates += 1
            continue
        seen.add(evaluation_id)
        ts = r.ts
        in_window = (low is None or ts >= low) and (high is None or ts < high)
        fired = r.fired
        if evaluation_id in feedback_evaluations:
            about[evaluation_id] = (in_window, {f.rule for f in fired})
        for f in fired:
            card_given = on_cards.get(f.card) if f.card is not None else None
            if card_given is not None:
                card_given.matched = True  # found: counted below if in the window and selected
        if not in_window:
            continue
        packs: dict[str, tuple[str, str | None, str | None]] = {
            p.id: (p.id, p.version, p.digest) for p in r.packs
        }
        if pack is not None and pack not in packs:
            continue
        evaluations += 1
        first_ts = ts if first_ts is None or ts < first_ts else first_ts
        last_ts = ts if last_ts is None or ts > last_ts else last_ts
        for key in packs.values():
            if pack is None or key[0] == pack:
                group = groups.get(key) or groups.setdefault(key, PackStats(*key))
                group.evaluations += 1
        if not fired:
            without_prompts += 1
        for f in fired:
            rule_id = f.rule
            pack_id = rule_id.partition("/")[0]
            if (pack is not None and pack_id != pack) or not _rule_matches(rule_id, rule):
                continue
            key = packs.get(pack_id, (pack_id, None, None))
            group = groups.get(key) or groups.setdefault(key, PackStats(*key))
            stats = group.rules.get(rule_id)
            if stats is None:
                stats = group.rules[rule_id] = RuleStats(rule_id, f.learning_point)
            stats.fired += 1
            given = feedback.get((evaluation_id, rule_id))
            if given is None and f.card is not None:
                given = on_cards.get(f.card)
            if given is not None:
                given.matched = True
                if given.outcome in stats.outcomes:
                    stats.outcomes[given.outcome] += 1
                stats.comments += given.comment_given

    not_shown = 0
    not_found = 0
    for (evaluation_id, prompt_id), given in feedback.items():
        if given.matched:
            continue
        if (pack is not None and prompt_id.partition("/")[0] != pack) or not _rule_matches(prompt_id, rule):
            continue
        if evaluation_id in about:
            in_window, shown = about[evaluation_id]
            if in_window and prompt_id not in shown:
                not_shown += 1
        elif (low is None or given.ts >= low) and (high is None or given.ts < high):
            not_found += 1
    if pack is None and rule is None:  # a card names no pack or rule of its own
        not_found += sum(
            1
            for given in on_cards.values()
            if not given.matched and (low is None or given.ts >= low) and (high is None or given.ts < high)
        )

    return {
        "files": [str(p) for p in files],
        "since": low,
        "until": high,
        "pack": pack,
        "rule": rule,
        "evaluations": evaluations,
        "evaluations_without_prompts": without_prompts,
        "first_evaluation": first_ts,
        "last_evaluation": last_ts,
        "packs": [groups[key].to_builtins() for key in sorted(groups, key=lambda k: tuple(map(str, k)))],
        "feedback_unmatched": {"prompt_not_shown": not_shown, "evaluation_not_found": not_found},
        "feedback_repeated": repeated,
        "duplicate_evaluation_records": duplicates,
        "unreadable_lines": reader.unreadable,
    }


def summary_text(summary: dict[str, Any]) -> str:
    out: list[str] = []
    files = summary["files"]
    n = summary["evaluations"]
    head = f"Audit summary of {len(files)} file{'s' if len(files) != 1 else ''}: {n} evaluation{_s(n)}"
    if n:
        head += f", {summary['first_evaluation']} to {summary['last_evaluation']}"
        head += f"; {summary['evaluations_without_prompts']} showed no prompt"
    out.append(head)
    limits = []
    if summary["since"]:
        limits.append(f"since {summary['since']} (inclusive)")
    if summary["until"]:
        limits.append(f"until {summary['until']} (exclusive)")
    if summary["pack"]:
        limits.append(f"pack {summary['pack']}")
    if summary["rule"]:
        limits.append(f"rule {summary['rule']}")
    if limits:
        out.append("Only: " + "; ".join(limits))
    columns = ("LP", "fired", *OUTCOMES, "no feedback", "comments")
    for group in summary["packs"]:
        out.append("")
        out.append(
            f"{group['pack']} version {group['version'] or '?'} ({group['digest'] or 'digest unknown'}), "
            f"consulted in {group['evaluations']} evaluation{_s(group['evaluations'])}"
        )
        rules = group["rules"]
        if not rules:
            out.append("  no rule fired")
            continue
        names = [r["rule"].partition("/")[2] or r["rule"] for r in rules]
        width = max(len("rule"), *(len(name) for name in names))
        widths = [max(len(c.replace("_", " ")), 5) for c in columns]
        out.append(
            "  "
            + "rule".ljust(width)
            + "".join("  " + c.replace("_", " ").rjust(w) for c, w in zip(columns, widths, strict=True))
        )
        out.append("  " + "-" * (width + sum(w + 2 for w in widths)))
        for name, r in zip(names, rules, strict=True):
            values = (
                r["learning_point"] if r["learning_point"] is not None else "?",
                r["fired"],
                *(r["feedback"][o] for o in OUTCOMES),
                r["no_feedback"],
                r["comments_given"],
            )
            out.append(
                "  "
                + name.ljust(width)
                + "".join("  " + str(v).rjust(w) for v, w in zip(values, widths, strict=True))
            )
    unmatched = summary["feedback_unmatched"]
    notes = [
        (unmatched["prompt_not_shown"], "feedback about a prompt its evaluation did not show"),
        (unmatched["evaluation_not_found"], "feedback about an evaluation not in these files"),
        (summary["feedback_repeated"], "feedback records repeating earlier feedback (the latest counts)"),
        (summary["duplicate_evaluation_records"], "evaluation records seen more than once (counted once)"),
        (summary["unreadable_lines"], "lines that are not audit records (run `guidance audit verify`)"),
    ]
    if any(count for count, _ in notes):
        out.append("")
        out.extend(f"{count:>6}  {words}" for count, words in notes if count)
    return "\n".join(out) + "\n"


def _s(n: int) -> str:
    return "" if n == 1 else "s"

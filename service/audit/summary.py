"""Reading audit logs for people: how often each learning point fired, and one evaluation in words.

Both read the records as written and trust them as they stand: ``guidance audit verify``
is what says whether they are whole. Lines that are not audit records are counted and
otherwise left alone.

Feedback is matched to the prompt it is about (same evaluation, same rule). When the same
prompt of the same evaluation gets feedback more than once, the latest counts, so repeated
identical feedback changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from service.audit.verify import recover_glued
from service.evaluation.explanations import render_records
from service.facts.cin_codes import describe_cin_code
from service.facts.paths import vocabulary

OUTCOMES = ("accepted", "not_applicable", "already_done", "disagree")

_decode = msgspec.json.Decoder().decode
_RECORD_PATH = re.compile(r"^([a-z_]+)\[(\d+)\]\.([a-z_]+)$")


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
class Line:
    path: Path
    number: int
    record: dict[str, Any]


_EVENT_MARKERS = (
    b'"event":"evaluation"',
    b'"event":"feedback"',
    b'"event":"chain_start"',
    b'"event":"audit_resumed"',
)


@dataclass(slots=True)
class _Reader:
    paths: list[Path]
    unreadable: int = 0

    def records(self, event: str, *, count_others: bool = False) -> Iterator[Line]:
        """Every record of this event, in file order. Raises ``OSError`` if a file is unreadable.

        Lines are decoded only when they name the event, so a pass stays cheap. Lines that
        fail to decode are counted in ``unreadable``; with ``count_others``, so are lines
        naming no event at all. Empty lines are passed over. A whole record glued to the end
        of a torn line (logs written before failed writes were cut back) is read all the same.
        """
        marker = f'"event":"{event}"'.encode()
        for path in self.paths:
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    if marker not in raw:
                        if count_others and raw.strip() and not any(m in raw for m in _EVENT_MARKERS):
                            self.unreadable += 1
                        continue
                    try:
                        record = _decode(raw)
                    except (msgspec.DecodeError, UnicodeDecodeError):
                        self.unreadable += 1
                        glued = recover_glued(raw.rstrip(b"\n"))
                        if glued is None:
                            continue
                        record = glued[1]
                    if isinstance(record, dict) and record.get("event") == event:
                        yield Line(path, number, record)


# ---------------------------------------------------------------------------------------------
# summarize


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
    reader = _Reader(files)

    feedback: dict[tuple[str, str], _Feedback] = {}
    repeated = 0
    for line in reader.records("feedback"):
        r = line.record
        key = (str(r.get("evaluation_id")), str(r.get("prompt_id")))
        ts = str(r.get("ts", ""))
        entry = _Feedback(ts, str(r.get("outcome")), bool(r.get("comment_given")))
        known = feedback.get(key)
        if known is None:
            feedback[key] = entry
            continue
        repeated += 1
        if ts >= known.ts:  # the latest counts; file order breaks ties
            feedback[key] = entry
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
    for line in reader.records("evaluation", count_others=True):
        r = line.record
        evaluation_id = str(r.get("evaluation_id"))
        if evaluation_id in seen:
            duplicates += 1
            continue
        seen.add(evaluation_id)
        ts = str(r.get("ts", ""))
        in_window = (low is None or ts >= low) and (high is None or ts < high)
        fired = [f for f in r.get("fired") or [] if isinstance(f, dict)]
        if evaluation_id in feedback_evaluations:
            about[evaluation_id] = (in_window, {str(f.get("rule")) for f in fired})
        if not in_window:
            continue
        packs = {
            str(p.get("id")): (str(p.get("id")), p.get("version"), p.get("digest"))
            for p in r.get("packs") or []
            if isinstance(p, dict)
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
            rule_id = str(f.get("rule"))
            pack_id = rule_id.partition("/")[0]
            if (pack is not None and pack_id != pack) or not _rule_matches(rule_id, rule):
                continue
            key = packs.get(pack_id, (pack_id, None, None))
            group = groups.get(key) or groups.setdefault(key, PackStats(*key))
            stats = group.rules.get(rule_id)
            if stats is None:
                lp = f.get("learning_point")
                stats = group.rules[rule_id] = RuleStats(rule_id, lp if isinstance(lp, int) else None)
            stats.fired += 1
            given = feedback.get((evaluation_id, rule_id))
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


# ---------------------------------------------------------------------------------------------
# show


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


def _reason(template: str, because: list[dict[str, Any]]) -> str:
    """The rule's sentence, its ``{records}`` filled from the facts on record (roles where known)."""
    if "{records}" not in template:
        return template
    witnesses = [(str(b.get("path")), b.get("value")) for b in because]
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
    reader = _Reader(list(paths))
    found: Line | None = None
    copies = 0
    for line in reader.records("evaluation"):
        if line.record.get("evaluation_id") == evaluation_id:
            copies += 1
            found = found or line
    if found is None:
        return None
    r = found.record
    process = None
    for line in reader.records("chain_start"):
        if line.record.get("chain") == r.get("chain"):
            process = line.record.get("process")
            break
    given = [line for line in reader.records("feedback") if line.record.get("evaluation_id") == evaluation_id]
    given.sort(key=lambda line: str(line.record.get("ts", "")))
    knowledge = knowledge or {}
    packs = [p for p in r.get("packs") or [] if isinstance(p, dict)]
    matching = {
        str(p.get("id")): knowledge[str(p.get("id"))]
        for p in packs
        if str(p.get("id")) in knowledge and knowledge[str(p.get("id"))].digest == p.get("digest")
    }
    prompts = []
    shown = set()
    for f in r.get("fired") or []:
        rule_id = str(f.get("rule"))
        shown.add(rule_id)
        texts = matching.get(rule_id.partition("/")[0])
        because = [b for b in f.get("because") or [] if isinstance(b, dict)]
        prompts.append(
            {
                "rule": rule_id,
                "learning_point": f.get("learning_point"),
                "summary": texts.summaries.get(rule_id) if texts else None,
                "reason": _reason(texts.reasons[rule_id], because)
                if texts and rule_id in texts.reasons
                else None,
                "because": [
                    {
                        "path": b.get("path"),
                        "value": b.get("value"),
                        "words": fact_words(str(b.get("path")), texts.counts if texts else None),
                        "value_words": _value_words(b.get("value")),
                    }
                    for b in because
                ],
                "feedback": [
                    _feedback_view(line) for line in given if line.record.get("prompt_id") == rule_id
                ],
            }
        )
    return {
        "evaluation_id": evaluation_id,
        "ts": r.get("ts"),
        "file": str(found.path),
        "line": found.number,
        "copies": copies,
        "chain": r.get("chain"),
        "seq": r.get("seq"),
        "process": process,
        "client": r.get("client"),
        "request_id": r.get("request_id"),
        "case_ref_hash": r.get("case_ref_hash"),
        "duration_ms": r.get("duration_ms"),
        "knowledge": [
            {
                "pack": p.get("id"),
                "version": p.get("version"),
                "digest": p.get("digest"),
                "texts": str(p.get("id")) in matching,
            }
            for p in packs
        ],
        "prompts": prompts,
        "other_feedback": [
            _feedback_view(line) for line in given if line.record.get("prompt_id") not in shown
        ],
    }


def _feedback_view(line: Line) -> dict[str, Any]:
    r = line.record
    return {
        "prompt_id": r.get("prompt_id"),
        "outcome": r.get("outcome"),
        "comment_given": bool(r.get("comment_given")),
        "ts": r.get("ts"),
        "client": r.get("client"),
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
    if fb["comment_given"]:
        words += ", with a comment (kept by the caller; never recorded here)"
    return words

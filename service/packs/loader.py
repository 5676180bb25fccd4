"""Reading knowledge packs from disk: every problem named with its file, line and rule.

A pack is a folder holding ``pack.yaml`` (metadata, learning points, shared terms and counts),
``rules.yaml``, the source document's text, and ``scenarios.yaml`` (its tests).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from service.conditions import check as checks
from service.conditions import tree as cond
from service.conditions.parse import parse as parse_condition
from service.facts.paths import FactField, FieldKind, vocabulary
from service.facts.vocabulary import MAX_PARENTS
from service.packs.model import (
    ID_PATTERN,
    SUMMARY_MAX_CHARS,
    Count,
    Pack,
    PackSpec,
    Place,
    Rule,
    RulesSpec,
    ScenarioSpec,
    ScenariosSpec,
)
from service.yaml_documents import RepeatedKey, YamlDocument, YamlSyntaxError, error_place, error_text

PACK_FILE = "pack.yaml"
RULES_FILE = "rules.yaml"
SCENARIOS_FILE = "scenarios.yaml"
_ID = re.compile(ID_PATTERN)
_SETTING = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_HTTPS_URL = re.compile(r"^https://[^\s/?#@]+(/[^\s]*)?$")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_NUMBERED_POINT = re.compile(r"^\s*(\d+)\.\s+\S", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class PackProblem:
    file: Path
    message: str
    line: int | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        who = f" rule {self.rule}:" if self.rule else ""
        return f"{where}:{who} {self.message}"


class PackError(Exception):
    def __init__(self, problems: list[PackProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownPackError(PackError):
    """Packs asked for by id that no folder holds."""


class _YamlFile:
    """A pack's YAML file, read so that a problem can name its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.document = YamlDocument.read(path)
        except YamlSyntaxError as error:
            raise PackError([PackProblem(path, f"not valid YAML: {error.reason}", error.line)]) from None
        except RepeatedKey as error:
            raise PackError([PackProblem(path, f"{error}; each key may be given once", error.line)]) from None
        self.data = self.document.data

    def line(self, *parts: str | int) -> int | None:
        return self.document.line(*parts)

    def convert(self, spec_type: type, rule_ids: dict[int, str] | None = None) -> Any:
        try:
            return msgspec.convert(self.data, type=spec_type, strict=True)
        except msgspec.ValidationError as error:
            message = str(error)
            parts = error_place(message)
            rule = None
            if rule_ids is not None and len(parts) >= 2 and isinstance(parts[1], int):
                rule = rule_ids.get(parts[1])
            text = error_text(message)
            where = ".".join(str(p) for p in parts)
            raise PackError(
                [
                    PackProblem(
                        self.path,
                        f"{text} (at `{where}`)" if where else text,
                        self.line(*parts),
                        rule,
                    )
                ]
            ) from None


def normalise_quote_text(text: str) -> str:
    """Words only: link markup dropped and white space folded, so quotes compare word for word."""
    return " ".join(_MARKDOWN_LINK.sub(r"\1", text).split())


def pack_digest(directory: Path) -> str:
    """SHA-256 over every file of the pack, by relative path, with line endings made uniform."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return "sha256:" + digest.hexdigest()


def discover(roots: Iterable[Path]) -> list[Path]:
    """Pack folders: each root that is a pack, or each folder directly below it that is one."""
    found: list[Path] = []
    for root in roots:
        if (root / PACK_FILE).is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.iterdir() if (p / PACK_FILE).is_file()))
    return found


def load_packs(roots: Iterable[Path], only: Iterable[str] | None = None) -> list[Pack]:
    packs = [load_pack(directory) for directory in discover(roots)]
    problems: list[PackProblem] = []
    seen: dict[str, Path] = {}
    for pack in packs:
        if pack.id in seen:
            problems.append(
                PackProblem(
                    pack.directory / PACK_FILE,
                    f"pack id `{pack.id}` is also used by {seen[pack.id]}",
                )
            )
        seen[pack.id] = pack.directory
    if problems:
        raise PackError(problems)
    if only is not None:
        wanted = list(only)
        missing = [name for name in wanted if name not in seen]
        if missing:
            raise UnknownPackError(
                [
                    PackProblem(Path(name), f"no pack with the id `{name}`; found: {', '.join(sorted(seen))}")
                    for name in missing
                ]
            )
        packs = [p for p in packs if p.id in wanted]
    return sorted(packs, key=lambda p: p.id)


def load_pack(directory: Path) -> Pack:
    manifest_file = _YamlFile(directory / PACK_FILE)
    manifest: PackSpec = manifest_file.convert(PackSpec)
    problems: list[PackProblem] = []

    def problem(file: _YamlFile, message: str, *where: str | int, rule: str | None = None) -> None:
        problems.append(PackProblem(file.path, message, file.line(*where), rule))

    if not _ID.match(manifest.id):
        problem(manifest_file, "pack id must be lower-case letters, digits and hyphens", "id")
    if manifest.source_url is not None and not _HTTPS_URL.match(manifest.source_url):
        problem(manifest_file, "source_url must be an https:// address", "source_url")

    source_path = directory / manifest.source.file
    if not source_path.is_file():
        problem(
            manifest_file,
            f"source file `{manifest.source.file}` is not in the pack folder",
            "source",
            "file",
        )
        source_text = ""
    else:
        source_text = source_path.read_text(encoding="utf-8")
    source_words = normalise_quote_text(source_text)

    learning_points: dict[int, str] = {}
    for index, point in enumerate(manifest.learning_points):
        if point.number in learning_points:
            problem(
                manifest_file,
                f"learning point {point.number} is listed twice",
                "learning_points",
                index,
            )
        learning_points[point.number] = point.quote
        if source_text and normalise_quote_text(point.quote) not in source_words:
            problem(
                manifest_file,
                f"the quote of learning point {point.number} is not word for word in "
                f"{manifest.source.file}; copy it from there exactly",
                "learning_points",
                index,
                "quote",
            )
    for number in sorted({int(n) for n in _NUMBERED_POINT.findall(source_text)} - set(learning_points)):
        problem(
            manifest_file,
            f"the source has a learning point {number} that `learning_points` does not list; "
            "add it with its quote and give it a rule",
            "learning_points",
        )

    terms, counts, known = _shared_definitions(manifest, manifest_file, problem)

    rules_file = _YamlFile(directory / RULES_FILE)
    raw_rules = (rules_file.data or {}).get("rules") if isinstance(rules_file.data, dict) else None
    rule_ids = {
        i: r["id"]
        for i, r in enumerate(raw_rules or [])
        if isinstance(r, dict) and isinstance(r.get("id"), str)
    }
    rules_spec: RulesSpec = rules_file.convert(RulesSpec, rule_ids)

    rules: list[Rule] = []
    seen_ids: set[str] = set()
    for index, spec in enumerate(rules_spec.rules):

        def rule_problem(message: str, *where: str | int, rule_id: str = spec.id, i: int = index) -> None:
            problem(rules_file, message, "rules", i, *where, rule=rule_id)

        if not _ID.match(spec.id):
            rule_problem("id must be lower-case letters, digits and hyphens", "id")
        if spec.id in seen_ids:
            rule_problem("this id is used by another rule of the pack; give each rule its own id", "id")
        seen_ids.add(spec.id)
        if len(spec.summary) > SUMMARY_MAX_CHARS:
            rule_problem(
                f"summary is {len(spec.summary)} characters; keep it to {SUMMARY_MAX_CHARS} "
                "(a CDS Hooks card's summary is fewer than 140)",
                "summary",
            )
        if spec.learning_point not in learning_points:
            rule_problem(
                f"learning point {spec.learning_point} is not one of the pack's learning points",
                "learning_point",
            )
        quote = spec.quote if spec.quote is not None else learning_points.get(spec.learning_point, "")
        if spec.quote is not None and normalise_quote_text(spec.quote) not in normalise_quote_text(
            learning_points.get(spec.learning_point, "")
        ):
            rule_problem("quote is not word for word part of its learning point", "quote")
        for link_index, link in enumerate(spec.links):
            if (link.url is None) == (link.setting is None):
                rule_problem("a link has either `url` or `setting`", "links", link_index)
            elif link.setting is not None and not _SETTING.match(link.setting):
                rule_problem("a link setting is lower-case letters, digits and _", "links", link_index)
        try:
            condition = parse_condition(spec.when, terms, set(vocabulary().record_lists))
            _check_paths(condition, known)
        except cond.ConditionError as error:
            rule_problem(f"when: {error}", "when")
            continue
        rules.append(
            Rule(
                id=f"{manifest.id}/{spec.id}",
                local_id=spec.id,
                pack_id=manifest.id,
                learning_point=spec.learning_point,
                kind=spec.kind,
                indicator=spec.indicator,
                summary=spec.summary,
                detail=spec.detail,
                reason=spec.reason,
                condition=condition,
                quote=quote,
                links=tuple(spec.links),
                place=Place(rules_file.path, rules_file.line("rules", index)),
                no_records=spec.no_records,
            )
        )

    cited = {spec.learning_point for spec in rules_spec.rules}
    for number in sorted(set(learning_points) - cited):
        problem(
            manifest_file,
            f"learning point {number} is cited by no rule; every learning point needs at least one",
            "learning_points",
        )

    scenarios_path = directory / SCENARIOS_FILE
    scenarios: tuple[ScenarioSpec, ...] = ()
    if scenarios_path.is_file():
        scenarios = tuple(_YamlFile(scenarios_path).convert(ScenariosSpec).scenarios)

    pack = Pack(
        spec=manifest,
        rules=tuple(rules),
        counts=tuple(counts),
        digest=pack_digest(directory),
        directory=directory,
        source_text=source_text,
        scenarios=scenarios,
    )
    if problems:
        raise PackError(problems)
    return pack


def _shared_definitions(
    manifest: PackSpec, file: _YamlFile, problem: Any
) -> tuple[dict[str, cond.Condition], list[Count], dict[str, FactField]]:
    """The pack's named terms and counts, and every name a condition may use."""
    vocab = vocabulary()
    known: dict[str, FactField] = dict(vocab.fields)
    known.update({name: records.field for name, records in vocab.record_lists.items()})
    lists = set(vocab.record_lists)
    counts: list[Count] = []
    for name, spec in manifest.counts.items():
        if name in known or name in lists or "." in name:
            problem(file, f"count `{name}` has the name of a fact; choose another", "counts", name)
            continue
        parts: list[tuple[str | None, cond.Condition]] = []
        most = 0
        for index, entry in enumerate(spec.count):
            try:
                if isinstance(entry, dict) and len(entry) == 1 and str(next(iter(entry))).startswith("each "):
                    ((key, body),) = entry.items()
                    list_path = key[5:].strip()
                    if list_path not in lists:
                        raise cond.ConditionError(f"`{key}:` names no list of records")
                    for item in body if isinstance(body, list) else [body]:
                        condition = parse_condition(item, {}, lists, in_list=True)
                        _check_paths(condition, known, list_path)
                        parts.append((list_path, condition))
                        most += MAX_PARENTS
                else:
                    condition = parse_condition(entry, {}, lists)
                    _check_paths(condition, known)
                    parts.append((None, condition))
                    most += 1
            except cond.ConditionError as error:
                problem(file, f"count `{name}`: {error}", "counts", name, "count", index)
        place = Place(file.path, file.line("counts", name))
        counts.append(Count(name, spec.description, tuple(parts), place))
        known[name] = FactField(name, FieldKind.INT, spec.description, minimum=0, maximum=most)

    terms: dict[str, cond.Condition] = {}
    for name, body in manifest.terms.items():
        if name in known or name in lists:
            problem(
                file,
                f"term `{name}` has the name of a fact or count; choose another",
                "terms",
                name,
            )
            continue
        try:
            terms[name] = parse_condition(body, terms, lists)
            _check_paths(terms[name], known)
        except cond.ConditionError as error:
            problem(file, f"term `{name}`: {error}", "terms", name)
    return terms, counts, known


def _check_paths(
    condition: cond.Condition, known: dict[str, FactField], list_path: str | None = None
) -> None:
    lists = vocabulary().record_lists
    for scope, atom in cond.atoms(condition, list_path):
        if scope is None:
            field = known.get(atom.path)
            if field is None:
                raise cond.ConditionError(_unknown_path(atom.path, known))
        else:
            field = lists[scope].item_fields.get(atom.path)
            if field is None:
                raise cond.ConditionError(
                    f"`{atom.path}` is not a field of {scope}; it has: {', '.join(lists[scope].item_fields)}"
                )
        checks.check_atom(atom, field)


def _unknown_path(path: str, known: dict[str, FactField]) -> str:
    close = difflib.get_close_matches(path, list(known), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return f"`{path}` is not a fact in the vocabulary nor a count of the pack.{hint}"

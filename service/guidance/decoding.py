"""One strict decoder for every way in: the HTTP API and ``guidance evaluate`` read request
bodies through it, so both accept and refuse exactly the same documents, in the same words.

Strict means nothing is coerced: ``0`` is not ``false``, ``"3"`` and ``3.0`` are not ``3``.
A document is also refused for invalid UTF-8, a lone surrogate, a number out of range, an
unknown field, and a key repeated within one object (I-JSON, RFC 7493: a parser that keeps
the first value would read another case than one that keeps the last).

The fast path is one typed msgspec decode and jiter's check for repeated keys (msgspec keeps
the last of them without a word). Only a refused document takes the slow path, which reads the
whole document and names every offender it can find, each by its JSON path
(``facts.parents[1].role``), or by its byte offset when the body is not JSON at all.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Generic, TypeVar, get_type_hints

import jiter
import msgspec
import msgspec.inspect as mi
from msgspec import Struct

T = TypeVar("T", bound=Struct)

# The deepest a document may nest before the slow path stops reading it; the vocabulary itself
# needs four levels (body, facts, parents, a parent).
MAX_DEPTH = 32

_MSGSPEC_BYTE = re.compile(r"\(byte (\d+)\)")
_MSGSPEC_AT = re.compile(r" - at `\$([^`]*)`$")
_NAMED_FIELD = re.compile(r"^`([a-z_]+)`: (.*)$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(.*)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(.*)`$", re.DOTALL)
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_JITER_POSITION = re.compile(r" at line (\d+) column (\d+)$")


_PATTERN_WORDS: dict[str, str] = {}
_PATTERN_MESSAGE = re.compile(r"^Expected `str` matching regex '(.*)'$", re.DOTALL)


def name_pattern(pattern: str, words: str) -> str:
    """A pattern a request field must match, with the words a refusal uses instead of the regex."""
    _PATTERN_WORDS[pattern] = words
    return pattern


class Problem(Struct, kw_only=True, omit_defaults=True):
    """One reason a document was refused."""

    field: str  # JSON path from the body's root ("" for the body itself)
    message: str
    offset: int | None = None  # byte offset, for a document that is not JSON at all

    def __str__(self) -> str:
        if self.offset is not None:
            return f"byte {self.offset}: {self.message}"
        return f"`{self.field}`: {self.message}" if self.field else self.message


class RequestRejected(Exception):
    """The document cannot be accepted; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem], *, syntax: bool) -> None:
        super().__init__(str(problems[0]))
        self.problems = problems
        self.syntax = syntax  # not JSON (or not UTF-8): there are no fields to name


class StrictDecoder(Generic[T]):
    def __init__(self, type_: type[T]) -> None:
        self.type = type_
        self._decode = msgspec.json.Decoder(type_).decode

    def decode(self, raw: bytes) -> T:
        try:
            value = self._decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            raise self._diagnose(raw, error) from None
        # msgspec keeps the last of a repeated key without a word; jiter can tell.
        try:
            jiter.from_json(raw, catch_duplicate_keys=True)
        except ValueError:
            problems = _Walker().repeats(_parse_keeping_repeats(raw), "")
            raise RequestRejected(problems, syntax=False) from None
        return value

    def _diagnose(self, raw: bytes, error: Exception) -> RequestRejected:
        """Every problem of a document the fast path refused."""
        # msgspec stops at the first fault; a document that is wrong in its bytes or its syntax
        # further on is reported as such, for that is what must be mended first.
        invalid = _utf8_offset(raw)
        if invalid is not None:
            return _syntax(invalid, "not valid UTF-8")
        if not isinstance(error, msgspec.ValidationError):
            return _json_syntax(raw, error)
        try:
            document = _parse_keeping_repeats(raw)
        except _TooDeep:
            document = None
        except ValueError as not_json:  # the first fault msgspec met was a type; others follow
            return _jiter_syntax(raw, str(not_json))
        problems = [] if document is None else _Walker().check(document, self.type, "")
        if not problems:  # the walker names every fault msgspec finds; this is a safety net
            problems = [_from_msgspec(str(error))]
        return RequestRejected(problems, syntax=False)


def _struct_within(t: mi.Type) -> tuple[type[Struct] | None, bool]:
    """The struct a field holds, and whether in a list (``parents``), if it holds one."""
    is_list = False
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            others = [x for x in t.types if not isinstance(x, mi.NoneType)]
            if len(others) != 1:
                return None, False
            t = others[0]
        elif isinstance(t, mi.ListType) and not is_list:
            is_list = True
            t = t.item_type
        elif isinstance(t, mi.StructType):
            return t.cls, is_list
        else:
            return None, False


# --- the slow path ------------------------------------------------------------------------


class _Pairs(list):
    """A JSON object as its members in order, repeats kept."""


class _TooDeep(Exception):
    pass


def _parse_keeping_repeats(raw: bytes) -> Any:
    """The document with every member kept (repeated keys too), refusing silly depths first."""
    try:
        jiter.from_json(raw)
    except ValueError as error:
        if "recursion limit" in str(error):
            raise _TooDeep from None
        raise
    document = json.loads(raw, object_pairs_hook=_Pairs)
    if _depth(document) > MAX_DEPTH:
        raise _TooDeep
    return document


def _depth(value: Any) -> int:
    if isinstance(value, _Pairs):
        return 1 + max((_depth(v) for _, v in value), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


class _Walker:
    """The document checked against the type, field by field, every problem kept. Each value
    is converted by msgspec with the field's own annotation, so the walker refuses exactly what
    the fast path refuses, and says so in msgspec's words."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def check(self, document: Any, type_: type[Struct], path: str) -> list[Problem]:
        self._value(document, type_, path)
        return self.problems

    def repeats(self, document: Any, path: str) -> list[Problem]:
        if isinstance(document, _Pairs):
            seen: set[str] = set()
            for key, value in document:
                where = _join(path, key)
                if key in seen:
                    self.problems.append(Problem(field=where, message=REPEATED_KEY))
                seen.add(key)
                self.repeats(value, where)
        elif isinstance(document, list):
            for index, item in enumerate(document):
                self.repeats(item, f"{path}[{index}]")
        return self.problems

    def _value(self, value: Any, annotation: Any, path: str) -> None:
        info = mi.type_info(annotation)
        inner, is_list = _struct_within(info)
        if value is None or inner is None or (is_list and not isinstance(value, list)):
            self._leaf(value, annotation, path)
        elif not is_list:
            self._struct(value, inner, path)
        else:
            limit = _max_length(info)
            if limit is not None and len(value) > limit:
                self._leaf(value, annotation, path)  # msgspec's words for the length
                return
            for index, item in enumerate(value):
                self._struct(item, inner, f"{path}[{index}]")

    def _struct(self, value: Any, cls: type[Struct], path: str) -> None:
        if not isinstance(value, _Pairs):
            self._leaf(value, cls, path)
            return
        hints = _field_annotations(cls)
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        before = len(self.problems)
        seen: set[str] = set()
        for key, member in value:
            where = _join(path, key)
            if key in seen:
                self.problems.append(Problem(field=where, message=REPEATED_KEY))
                continue
            seen.add(key)
            if key not in hints:
                self.problems.append(Problem(field=where, message=UNKNOWN_FIELD.format(key=key)))
                continue
            self._value(member, hints[key], where)
        for field in info.fields:
            if field.required and field.encode_name not in seen:
                self.problems.append(Problem(field=_join(path, field.encode_name), message=REQUIRED))
        if len(self.problems) == before:  # every field is sound: now the checks across them
            self._leaf(value, cls, path)

    def _leaf(self, value: Any, annotation: Any, path: str) -> None:
        try:
            msgspec.convert(_plain(value), annotation, strict=True)
        except msgspec.ValidationError as error:
            self.problems.append(_from_msgspec(str(error), path))


LONE_SURROGATE = "a lone surrogate (\\u escape of half a character) is not text"
REPEATED_KEY = "this key is repeated in its object (I-JSON): send each key once"
UNKNOWN_FIELD = "unknown field `{key}`; check its spelling against the vocabulary"
REQUIRED = "this field is required"


@cache
def _field_annotations(cls: type[Struct]) -> dict[str, Any]:
    """Each field's annotation (constraints included), by the name it has in JSON."""
    hints = get_type_hints(cls, include_extras=True)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {field.encode_name: hints[field.name] for field in info.fields}


def _max_length(t: mi.Type) -> int | None:
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            t = next(x for x in t.types if not isinstance(x, mi.NoneType))
        elif isinstance(t, mi.ListType):
            return t.max_length
        else:
            return None


def _plain(value: Any) -> Any:
    """The parsed document as msgspec takes it (objects as dicts, the last of a repeat wins:
    repeats are reported on their own)."""
    if isinstance(value, _Pairs):
        return {key: _plain(member) for key, member in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _from_msgspec(message: str, base: str = "") -> Problem:
    """A msgspec message as a problem: its ``- at `$…``` turned into our path, and a check
    that names its field (```age_months`: …``) placed on that field."""
    at = _MSGSPEC_AT.search(message)
    path = base
    if at:
        inner = at.group(1).lstrip(".")
        path = _join(base, inner) if inner and not inner.startswith("[") else base + inner
        message = message[: at.start()]
    named = _NAMED_FIELD.match(message)
    if named:
        path = _join(path, named.group(1))
        message = named.group(2)
    unknown = _UNKNOWN.match(message)
    if unknown:
        key = unknown.group(1)
        return Problem(field=_join(path, key), message=UNKNOWN_FIELD.format(key=key))
    missing = _MISSING.match(message)
    if missing:
        return Problem(field=_join(path, missing.group(1)), message=REQUIRED)
    pattern = _PATTERN_MESSAGE.match(message)
    if pattern:
        # msgspec quotes the regex as Python writes it in a repr (backslashes doubled).
        regex = pattern.group(1).replace("\\\\", "\\")
        if regex in _PATTERN_WORDS:
            message = f"expected {_PATTERN_WORDS[regex]}"
    return Problem(field=path, message=message)


def _syntax(offset: int, message: str) -> RequestRejected:
    return RequestRejected([Problem(field="", message=message, offset=offset)], syntax=True)


def _utf8_offset(raw: bytes) -> int | None:
    """Where the bytes stop being UTF-8, if they do."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    return None


def _jiter_syntax(raw: bytes, message: str) -> RequestRejected:
    lone = _LONE_SURROGATE.search(raw)
    if lone:
        return _syntax(lone.start(), LONE_SURROGATE)
    at = _JITER_POSITION.search(message)
    offset = 0
    if at:
        line, column = int(at.group(1)), int(at.group(2))
        lines = raw.decode("utf-8").split("\n")
        offset = sum(len(text.encode()) + 1 for text in lines[: line - 1])
        offset += len(lines[line - 1][: max(column - 1, 0)].encode()) if line <= len(lines) else 0
        message = message[: at.start()]
    return _syntax(offset, f"not valid JSON: {message}")


def _json_syntax(raw: bytes, error: Exception) -> RequestRejected:
    text = str(error)
    if not raw.strip():
        return _syntax(0, "the request body is empty; send a JSON object")
    lone = _LONE_SURROGATE.search(raw)
    if lone:
        return _syntax(lone.start(), LONE_SURROGATE)
    found = _MSGSPEC_BYTE.search(text)
    offset = int(found.group(1)) if found else 0
    message = _MSGSPEC_BYTE.sub("", text).replace("JSON is malformed: ", "").strip()
    if message == "Input data was truncated":
        message = "the document ends too soon"
        offset = len(raw)
    return _syntax(offset, f"not valid JSON: {message}")

"""YAML files that people write (knowledge packs, the issuers file), read so that any problem
found in them can name its line.

The node tree is kept beside the data, so a place (``["rules", 3, "when"]``) finds its line; a
key given twice in one mapping is refused, since PyYAML would keep the last silently and a
setting further down nobody noticed would win; and msgspec's error messages give up the place
they point at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RepeatedKey", "YamlDocument", "YamlSyntaxError", "error_place", "error_text"]

_MSGSPEC_PLACE = re.compile(r" - at `\$(.*)`$")
_PLACE_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")

Place = list[str | int]


class YamlSyntaxError(Exception):
    """The text is not YAML: ``reason`` says why, ``line`` where when known."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class RepeatedKey(Exception):
    """A mapping gives ``key`` twice; ``line`` is the second."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"key `{key}` is given twice")
        self.key = key
        self.line = line


# libyaml's loader where PyYAML was built with it (its wheels are): the same documents, the
# same marks, several times quicker than the pure-Python one, which is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    path: Path
    node: yaml.Node | None
    data: Any

    @classmethod
    def read(cls, path: Path) -> YamlDocument:
        """Raises ``OSError``, ``UnicodeDecodeError``, :class:`YamlSyntaxError` or :class:`RepeatedKey`."""
        text = path.read_text(encoding="utf-8")
        try:
            node = yaml.compose(text, Loader=_LOADER)
            data = yaml.load(text, Loader=_LOADER)  # a safe loader, either way
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            reason = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise YamlSyntaxError(reason, mark.line + 1 if mark else None) from None
        _refuse_repeated_keys(node)
        return cls(path, node, data)

    def line(self, *place: str | int) -> int | None:
        """The line of the deepest part of ``place`` the document has (None for an empty file)."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for part in place:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if k.value == part]
                if not match:
                    break
                key, node = match[0]
                line = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _refuse_repeated_keys(node: yaml.Node | None) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key, value in node.value:
            if key.value in seen:
                raise RepeatedKey(str(key.value), key.start_mark.line + 1)
            seen.add(key.value)
            _refuse_repeated_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_repeated_keys(item)


def error_place(message: str) -> Place:
    """The place a msgspec validation message points at (``- at `$.rules[3].when```)."""
    match = _MSGSPEC_PLACE.search(message)
    if not match:
        return []
    return [key if key else int(index) for key, index in _PLACE_PART.findall(match.group(1))]


def error_text(message: str) -> str:
    """A msgspec validation message without the place it points at."""
    return _MSGSPEC_PLACE.sub("", message)

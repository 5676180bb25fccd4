"""The docs' tables of facts hold every item they claim to: the integrators' guide lists every
fact the service accepts, the operators' guide every `guidance` command and every setting."""

from __future__ import annotations

import argparse
import re

from service.cli.main import build_parser
from service.facts.paths import vocabulary
from tests.conftest import REPO

DOCS = REPO / "docs"


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_the_integrators_guide_lists_every_fact_path() -> None:
    readme = (DOCS / "integrating.md").read_text()
    vocab = vocabulary()
    paths = list(vocab.fields)
    for name, records in vocab.record_lists.items():
        paths.append(f"{name}[]")
        paths.extend(f"{name}[].{field}" for field in records.item_fields)
    missing = [path for path in paths if f"| `{path}` |" not in readme]
    assert missing == []


def _commands(parser: argparse.ArgumentParser, prefix: str = "guidance") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                subcommands = _commands(sub, f"{prefix} {name}")
                found.extend(subcommands or [f"{prefix} {name}"])
    return found


def test_the_operators_guide_lists_every_command() -> None:
    rows = table_rows((DOCS / "operating.md").read_text())
    commands = _commands(build_parser())
    assert len(commands) >= 8
    assert [c for c in commands if not any(row.startswith(f"| `{c}") for row in rows)] == []


def test_the_operators_guide_lists_every_setting() -> None:
    rows = "\n".join(table_rows((DOCS / "operating.md").read_text()))
    source = (REPO / "service" / "settings.py").read_text()
    names = set(re.findall(r'"((?:GUIDANCE_[A-Z_]*[A-Z])|HOST|PORT|WORKERS)"', source))
    assert {"HOST", "GUIDANCE_AUDIT_FILE", "GUIDANCE_AUTH"} <= names
    assert sorted(name for name in names if f"`{name}" not in rows) == []

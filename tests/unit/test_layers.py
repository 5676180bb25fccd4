"""Dependencies inside the service run one way, from the bottom layer up:

settings, logs, yaml_documents, ids ← facts ← conditions ← packs ← engine ← evaluation
← audit | checking ← guidance ← auth | cds_hooks ← observability ← startup ← http ← app ← cli

A module may import its own package and any package below its own; nothing imports upwards or
sideways, and nothing in the service imports ``service.testing`` (what tests and the benchmark
use to hold the service to account)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SERVICE = REPO / "service"
LAYERS = [
    {"settings", "logs", "yaml_documents", "ids"},
    {"facts"},
    {"conditions"},
    {"packs"},
    {"engine"},
    {"evaluation"},
    {"audit", "checking"},
    {"guidance"},
    {"auth", "cds_hooks"},
    {"observability"},
    {"startup"},
    {"http"},
    {"app"},
    {"cli"},
]
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def package_of(module: str) -> str | None:
    """``service.engine.compiler`` → ``engine``; ``service`` itself (its version) → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name == "service" or name.startswith("service.")]


def test_every_service_package_has_a_layer() -> None:
    packages = {p.stem if p.is_file() else p.name for p in SERVICE.iterdir() if not p.name.startswith("__")}
    assert packages - {"testing"} <= set(LAYER), "give each package of service/ its place in LAYERS"


def test_imports_run_one_way() -> None:
    wrong = []
    for path in sorted(SERVICE.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        own = package_of(module)
        if own in (None, "__init__", "testing"):
            continue
        for imported in imports(path):
            other = package_of(imported)
            if other is None or other == own:
                continue
            if other == "testing" or LAYER[other] >= LAYER[own]:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []

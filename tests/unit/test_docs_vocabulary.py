"""The integrators' guide's vocabulary table names every fact the service accepts."""

from __future__ import annotations

from service.facts.paths import vocabulary
from tests.conftest import REPO


def test_the_integrators_guide_lists_every_fact_path() -> None:
    readme = (REPO / "docs" / "integrating.md").read_text()
    vocab = vocabulary()
    paths = list(vocab.fields)
    for name, records in vocab.record_lists.items():
        paths.append(f"{name}[]")
        paths.extend(f"{name}[].{field}" for field in records.item_fields)
    missing = [path for path in paths if f"| `{path}` |" not in readme]
    assert missing == []

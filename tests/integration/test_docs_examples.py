"""The README's worked examples are what the service answers: each request in a `curl … -d '…'`
block is sent to the real app, and the JSON block after it must match the answer, except where
the README shortens a text with "…" (the answer must then start with what comes before it) and
the evaluation id, which is new each time."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import REPO

README = (REPO / "README.md").read_text()
_EXAMPLE = re.compile(
    r"```sh\ncurl -s -X POST http://127\.0\.0\.1:8000(?P<path>/\S+) .*?-d '(?P<body>.*?)'\n```\n"
    r".*?```json\n(?P<answer>.*?)```",
    re.DOTALL,
)
EXAMPLES = [(m["path"], json.loads(m["body"]), json.loads(m["answer"])) for m in _EXAMPLE.finditer(README)]


def mismatches(shown: Any, answered: Any, at: str = "") -> list[str]:
    if isinstance(shown, str) and "…" in shown:
        head = shown.partition("…")[0]
        return [] if isinstance(answered, str) and answered.startswith(head) else [at]
    if isinstance(shown, dict) and isinstance(answered, dict):
        if set(shown) != set(answered):
            return [f"{at} keys {sorted(set(shown) ^ set(answered))}"]
        return [
            problem
            for key in shown
            if key != "evaluation_id"
            for problem in mismatches(shown[key], answered[key], f"{at}.{key}")
        ]
    if isinstance(shown, list) and isinstance(answered, list):
        if len(shown) != len(answered):
            return [f"{at} has {len(answered)} items, the README shows {len(shown)}"]
        return [
            p
            for i, (s, a) in enumerate(zip(shown, answered, strict=True))
            for p in mismatches(s, a, f"{at}[{i}]")
        ]
    return [] if shown == answered else [at]


def test_the_readme_has_its_examples() -> None:
    assert [path for path, _, _ in EXAMPLES] == ["/v1/evaluate", "/v1/evaluate"]


@pytest.mark.parametrize(("path", "body", "shown"), EXAMPLES, ids=["prompts", "a-mistake"])
def test_a_readme_example_is_what_the_service_answers(
    client: TestClient, path: str, body: Any, shown: Any
) -> None:
    answered = client.post(path, json=body).json()
    assert mismatches(shown, answered) == [], json.dumps(answered, indent=2)

"""The strict decoder under fuzzing: whatever bytes arrive, a document is either accepted or
refused with problems that name a field or a byte; nothing else ever escapes (no 500)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.guidance.decoding import RequestRejected, StrictDecoder
from service.guidance.requests import EvaluationRequest, FeedbackRequest

DECODERS = (StrictDecoder(EvaluationRequest), StrictDecoder(FeedbackRequest))
FIELD_NAMES = ["facts", "case_ref", "child", "unborn", "age_months", "parents", "role", "care_leaver",
               "assessment_factors", "evaluation_id", "prompt_id", "outcome", "comment"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_everywhere(raw: bytes) -> None:
    for decoder in DECODERS:
        try:
            decoder.decode(raw)
        except RequestRejected as rejected:
            assert rejected.problems
            for problem in rejected.problems:
                assert problem.message
                assert (problem.offset is not None) == rejected.syntax
                if problem.offset is not None:
                    assert 0 <= problem.offset <= len(raw)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes(raw: bytes) -> None:
    decode_everywhere(raw)


@FUZZ
@given(json_values, st.data())
def test_json_documents_and_their_mangled_bytes(document: object, data: st.DataObject) -> None:
    raw = json.dumps(document).encode()
    decode_everywhere(raw)
    if raw:
        at = data.draw(st.integers(0, len(raw) - 1))
        decode_everywhere(raw[:at] + data.draw(st.binary(min_size=1, max_size=3)) + raw[at + 1 :])

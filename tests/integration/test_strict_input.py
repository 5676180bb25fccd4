"""Strict input at the boundary: nothing coerced, every refusal a 400 naming the field (or the
byte), the same words from the API and from `guidance evaluate`, and never a 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.cli.main import main as guidance_main
from tests.conftest import SEMANTICS_PACK, prompt_ids
from tests.server import running_server

JSON = {"Content-Type": "application/json"}
SCHOOLING = (
    "attended_special_school",
    "additional_help_at_school",
    "childhood_medication",
    "childhood_camhs_contact",
)


def post(client: TestClient, body: bytes, path: str = "/v1/evaluate", **headers: str) -> Any:
    return client.post(path, content=body, headers={**JSON, **headers})


def refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


# --- nothing is coerced -----------------------------------------------------------------------

WRONG_FOR_A_FLAG = [0, 1, "0", "1", "true", "false", "null", "yes", 0.0, 1.0, [], {}]
WRONG_FOR_AN_AGE = [3.0, "3", True, "3 months", [3], 3.5]


@pytest.mark.parametrize("value", WRONG_FOR_A_FLAG, ids=repr)
def test_a_flag_of_the_wrong_type_is_refused_naming_it(client: TestClient, value: Any) -> None:
    problem = refused(client.post("/v1/evaluate", json={"facts": {"child": {"unborn": value}}}))
    assert problem["field"] == "facts.child.unborn"
    assert [e["field"] for e in problem["errors"]] == ["facts.child.unborn"]


@pytest.mark.parametrize("value", WRONG_FOR_AN_AGE, ids=repr)
def test_an_age_of_the_wrong_type_is_refused_naming_it(client: TestClient, value: Any) -> None:
    problem = refused(client.post("/v1/evaluate", json={"facts": {"child": {"age_months": value}}}))
    assert problem["field"] == "facts.child.age_months"


@pytest.mark.parametrize("value", [0, "0", "false"], ids=repr)
def test_schooling_answers_sent_as_numbers_or_text_are_refused_not_read_as_no(
    client: TestClient, make_app: Any, value: Any
) -> None:
    # Read as "no", these would silently drop a prompt that asks about what is not known.
    parent = {"role": "mother", **dict.fromkeys(SCHOOLING, value)}
    problem = refused(
        client.post("/v1/evaluate", json={"facts": {"child": {"unborn": True}, "parents": [parent]}})
    )
    assert sorted(e["field"] for e in problem["errors"]) == sorted(f"facts.parents[0].{f}" for f in SCHOOLING)
    unknown = {"role": "mother", **dict.fromkeys(SCHOOLING)}
    with TestClient(make_app(knowledge_dirs=(SEMANTICS_PACK,))) as semantics:
        answer = semantics.post(
            "/v1/evaluate", json={"facts": {"child": {"unborn": True}, "parents": [unknown]}}
        )
    assert "semantics-test/ask-open-schooling" in prompt_ids(answer.json())


def test_every_offender_is_listed_with_its_path(client: TestClient) -> None:
    body = {
        "facts": {
            "child": {"unborn": "yes", "age_months": -1},
            "parents": [{"role": "mother"}, {"role": "uncle", "carer_leaver": True}],
            "assessment_factors": ["4B", "99Z"],
        },
        "case_reference": "x",
    }
    problem = refused(client.post("/v1/evaluate", json=body))
    assert [e["field"] for e in problem["errors"]] == [
        "facts.child.unborn",
        "facts.child.age_months",
        "facts.parents[1].role",
        "facts.parents[1].carer_leaver",
        "facts.assessment_factors[1]",
        "case_reference",
    ]
    assert problem["field"] == "facts.child.unborn"
    assert problem["detail"].startswith("`facts.child.unborn`: ")


# --- documents that are not what they seem ----------------------------------------------------


def test_invalid_utf8_is_a_400_with_its_byte_offset(client: TestClient) -> None:
    body = b'{"facts": {}, "case_ref": "ab\xff\xfe"}'
    problem = refused(post(client, body))
    assert problem["type"].endswith("/invalid-json")
    assert problem["offset"] == body.index(b"\xff")
    assert problem["errors"] == [{"field": "", "message": "not valid UTF-8", "offset": body.index(b"\xff")}]


@pytest.mark.parametrize("escape", [rb"\ud800", rb"\udc00", rb"x\ud83d"])
def test_a_lone_surrogate_is_a_400(client: TestClient, escape: bytes) -> None:
    body = b'{"facts": {}, "case_ref": "' + escape + b'"}'
    problem = refused(post(client, body))
    assert "lone surrogate" in problem["detail"]
    assert problem["offset"] == body.index(b"\\u")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"facts": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"facts":{"child":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"}}",
    ],
    ids=["top level", "facts", "objects in child"],
)
def test_nesting_ten_thousand_deep_is_a_400(client: TestClient, body: bytes) -> None:
    problem = refused(post(client, body))
    assert problem["field"] in ("", "facts", "facts.child.a")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"facts": {"child": {"unborn": true, "unborn": false}}}', "facts.child.unborn"),
        (b'{"facts": {"child": {"unborn": null, "unborn": true}}}', "facts.child.unborn"),
        (b'{"facts": {"child": {"unbor\\u006e": false, "unborn": true}}}', "facts.child.unborn"),
        (b'{"facts": {}, "facts": {"child": {"unborn": true}}}', "facts"),
        (
            b'{"facts": {"parents": [{"role": "mother"}, {"role": "father", "role": "carer"}]}}',
            "facts.parents[1].role",
        ),
    ],
)
def test_a_key_repeated_in_one_object_is_a_400(client: TestClient, body: bytes, field: str) -> None:
    problem = refused(post(client, body))
    assert problem["field"] == field
    assert "repeated" in problem["detail"]


def test_the_same_key_in_different_parents_is_not_a_repeat(client: TestClient) -> None:
    body = (
        b'{"facts": {"parents": [{"role": "mother", "care_leaver": null},'
        b' {"role": "father", "care_leaver": null}]}}'
    )
    assert post(client, body).status_code == 200


@pytest.mark.parametrize(
    "number", [b"1e400", b"-1e400", b"99999999999999999999999999999", b"217", b"-1", b"NaN", b"Infinity"]
)
def test_numbers_out_of_range_are_a_400(client: TestClient, number: bytes) -> None:
    problem = refused(post(client, b'{"facts": {"child": {"age_months": ' + number + b"}}}"))
    assert problem["field"] in ("facts.child.age_months", "")


def test_an_unborn_child_with_an_age_is_contradictory(client: TestClient) -> None:
    problem = refused(
        client.post("/v1/evaluate", json={"facts": {"child": {"unborn": True, "age_months": 3}}})
    )
    assert problem["field"] == "facts.child.age_months"
    assert (
        client.post(
            "/v1/evaluate", json={"facts": {"child": {"unborn": True, "age_months": None}}}
        ).status_code
        == 200
    )
    assert (
        client.post("/v1/evaluate", json={"facts": {"child": {"unborn": False, "age_months": 3}}}).status_code
        == 200
    )


@pytest.mark.parametrize("case_ref", ["", "line\nbreak", "tab\there", "nul\x00", "x" * 129])
def test_a_case_reference_must_be_printable_and_short(client: TestClient, case_ref: str) -> None:
    problem = refused(client.post("/v1/evaluate", json={"facts": {}, "case_ref": case_ref}))
    assert problem["field"] == "case_ref"


def test_an_evaluation_id_with_a_trailing_newline_is_refused(client: TestClient) -> None:
    good = client.post(
        "/v1/evaluate", json={"facts": {"child": {"unborn": True}, "parents": [{"care_leaver": True}]}}
    )
    feedback = {
        "evaluation_id": good.json()["evaluation_id"] + "\n",
        "prompt_id": good.json()["prompts"][0]["id"],
        "outcome": "accepted",
    }
    problem = refused(client.post("/v1/feedback", json=feedback))
    assert problem["field"] == "evaluation_id"
    feedback["evaluation_id"] = feedback["evaluation_id"].strip()
    assert client.post("/v1/feedback", json=feedback).status_code == 202


# --- only JSON, declared as JSON --------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "json",
    ],
)
@pytest.mark.parametrize("path", ["/v1/evaluate", "/v1/feedback"])
def test_a_body_not_declared_as_json_is_a_415(
    client: TestClient, path: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, content=b'{"facts": {}}', headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["type"].endswith("/unsupported-media-type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/vnd.example+json",
    ],
)
def test_json_and_its_plus_json_types_are_read(client: TestClient, content_type: str) -> None:
    assert (
        client.post(
            "/v1/evaluate", content=b'{"facts": {}}', headers={"Content-Type": content_type}
        ).status_code
        == 200
    )


# --- the API and the command agree ------------------------------------------------------------

DOCUMENTS = [
    b'{"facts": {"child": {"unborn": 0}}}',
    b'{"facts": {"child": {"unbron": true}, "parents": [{"role": "uncle"}]}, "x": 1}',
    b'{"facts": {"child": {"unborn": true, "unborn": false}}}',
    b'{"facts": {"child": {"unborn": true, "age_months": 2}}}',
    b'{"facts": {"assessment_factors": ["21", "4B"]}}',
    b'{"facts": {}, "case_ref": "ab\xff"}',
    b'{"facts": {}, "case_ref": "\\ud800"}',
    b'{"facts": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"facts": {}} trailing',
    b'{"facts": {"child": {"unborn": true}}}',
]


@pytest.mark.parametrize("body", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_guidance_evaluate_accepts_and_refuses_as_the_api_does_in_the_same_words(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    response = post(client, body)
    file = tmp_path / "request.json"
    file.write_bytes(body)
    status = guidance_main(["evaluate", str(file), "--json"])
    output = capsys.readouterr()
    if response.status_code == 200:
        assert status == 0, output.err
        assert [p["id"] for p in json.loads(output.out)["prompts"]] == prompt_ids(response.json())
        return
    assert status == 2
    expected = []
    for error in refused(response)["errors"]:
        where = (
            f"byte {error['offset']}: "
            if "offset" in error
            else (f"`{error['field']}`: " if error["field"] else "")
        )
        expected.append(f"{file}: {where}{error['message']}")
    assert output.err.splitlines() == expected


def test_a_flood_of_bad_bodies_writes_no_error_lines_and_the_service_answers_on(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr"
    bad = [
        b'{"facts": {}, "case_ref": "\xff"}',
        b"[" * 10_000 + b"]" * 10_000,
        b'{"facts": {"child": {"unborn": true, "unborn": 1}}}',
        b'{"facts": {"child": {"unborn": "false"}}}',
        b'{"facts": {}, "case_ref": "\\udc00"}',
    ]
    env = {"GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log")}
    with (
        running_server(stderr=stderr, env=env) as base_url,
        httpx.Client(base_url=base_url, headers=JSON) as http,
    ):
        started = stderr.read_bytes().count(b"\n")
        statuses = {http.post("/v1/evaluate", content=body).status_code for _ in range(60) for body in bad}
        assert http.post("/v1/evaluate", json={"facts": {"child": {"unborn": True}}}).status_code == 200
        assert stderr.read_bytes().count(b"\n") == started
    assert statuses == {400}

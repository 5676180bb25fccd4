"""The audit trail under faults, as a running server shows them over HTTP: a device that cannot
be written, a file that fills under two workers, the free-space floor, and a file deleted,
rotated or truncated while the service runs.

Two tests mount a small tmpfs of their own, which needs root; without it they fail, saying so,
rather than skip.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from service.audit.verify import verify_files
from service.facts.examples import HARRY_PRE_BIRTH
from service.settings import MIB, Settings
from service.testing.synthetic import random_facts
from tests.audit_file import audit_records
from tests.conftest import REPO
from tests.server import running_server

RETRY_AFTER = str(Settings().audit_retry_after)


def evaluate(base_url: str, body: dict[str, Any] | None = None) -> httpx.Response:
    # A new connection each time, so that with two workers either may answer.
    return httpx.post(f"{base_url}/v1/evaluate", json=body or {"facts": HARRY_PRE_BIRTH}, timeout=30)


def ready(base_url: str) -> httpx.Response:
    return httpx.get(f"{base_url}/ready", timeout=30)


def wait_for_chain_starts(path: Path, count: int, timeout: float = 30.0) -> None:
    """Until every worker has opened its chain: a server counts as started once one answers."""
    deadline = time.monotonic() + timeout
    while True:
        whole_lines = path.read_bytes().split(b"\n")[:-1] if path.exists() else []
        if sum(b'"event":"chain_start"' in line for line in whole_lines) >= count:
            return
        assert time.monotonic() < deadline, f"fewer than {count} workers opened their chain in {timeout} s"
        time.sleep(0.05)


def guidance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_refused_for_the_audit(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/audit-unavailable")
    assert response.headers["Retry-After"] == RETRY_AFTER
    assert "prompts" not in response.json()


def assert_not_ready(response: httpx.Response, reason: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["type"].rsplit("/", 1)[1], problem["reason"]) == ("not-ready", reason)
    return problem


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A file system of ``size`` bytes of its own at ``path``, to fill."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(
            f"this test fills a tmpfs of its own and could not mount one (it needs root): "
            f"{mounted.stderr.strip() or mounted.returncode}"
        )
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


# ---------------------------------------------------------------------------------------------
# readiness tells the truth


def test_an_audit_device_that_cannot_be_written_makes_the_service_not_ready() -> None:
    with running_server(env={"GUIDANCE_AUDIT_FILE": "/dev/full"}, wait_for="/health") as base_url:
        problem = assert_not_ready(ready(base_url), "audit-write-failed")
        assert "/dev/full" in problem["detail"] and "No space left on device" in problem["detail"]
        assert_refused_for_the_audit(evaluate(base_url))
        feedback = {
            "evaluation_id": "97e194cf-0da3-49a7-9366-0e968382bfbf",
            "prompt_id": "harry-2019/lp5-apparent-ability",
            "outcome": "accepted",
        }
        assert_refused_for_the_audit(httpx.post(f"{base_url}/v1/feedback", json=feedback, timeout=30))
        assert_not_ready(ready(base_url), "audit-write-failed")  # and stays so
        assert httpx.get(f"{base_url}/health", timeout=30).status_code == 200


def test_below_the_free_space_floor_nothing_is_written_until_space_comes_back(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "4m") as disk:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (3 * MIB))  # leaves about 1 MiB free, below a 2 MiB floor
        audit = disk / "audit.log"
        env = {"GUIDANCE_AUDIT_FILE": str(audit), "GUIDANCE_AUDIT_MIN_FREE": str(2 * MIB)}
        with running_server(env=env, wait_for="/health") as base_url:
            problem = assert_not_ready(ready(base_url), "audit-free-space-low")
            assert str(audit) in problem["detail"] and "GUIDANCE_AUDIT_MIN_FREE" in problem["detail"]
            assert_refused_for_the_audit(evaluate(base_url))
            assert audit.read_bytes() == b""  # refused before writing: not even the chain_start
            filler.unlink()
            assert ready(base_url).status_code == 200
            answered = evaluate(base_url)
            assert answered.status_code == 200, answered.text
        written = audit_records(audit)
    assert [(r["event"], r["seq"]) for r in written] == [
        ("chain_start", 0),
        ("audit_resumed", 1),
        ("evaluation", 2),
    ]
    resumed = written[1]
    assert (resumed["refused"], resumed["reason"]) == (1, "audit-free-space-low")
    assert resumed["unavailable_since"] <= written[0]["ts"]
    assert written[2]["evaluation_id"] == answered.json()["evaluation_id"]


# ---------------------------------------------------------------------------------------------
# a filling disk, two workers: no answer without its whole record

FILL_CLIENTS = 8
FILL_REQUESTS = 60  # per client: far more than the file can hold


def _limit_file_size(limit: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("fill", ["file size limit", "small tmpfs"])
def test_two_workers_on_a_filling_disk_answer_only_what_they_recorded_whole(
    tmp_path: Path, fill: str
) -> None:
    rng = random.Random(8)
    bodies = [{"facts": random_facts(rng)} for _ in range(40)]
    with ExitStack() as stack:
        if fill == "file size limit":  # writes past it come up short, then fail with EFBIG
            folder, limit = tmp_path, _limit_file_size(300_000 + 123)
        else:  # writes past its end come up short, then fail with ENOSPC
            folder, limit = stack.enter_context(tmpfs(tmp_path / "disk", "256k")), None
        audit = folder / "audit.log"
        env = {"GUIDANCE_AUDIT_FILE": str(audit), "GUIDANCE_AUDIT_MIN_FREE": "0"}
        base_url = stack.enter_context(
            running_server(workers=2, env=env, stderr=tmp_path / "stderr", preexec_fn=limit)
        )
        wait_for_chain_starts(audit, 2)

        def client_run(index: int) -> list[tuple[int, str | None]]:
            answers = []
            with httpx.Client(base_url=base_url, timeout=30) as http:
                for n in range(FILL_REQUESTS):
                    response = http.post("/v1/evaluate", json=bodies[(index * 7 + n) % len(bodies)])
                    if response.status_code == 200:
                        answers.append((200, response.json()["evaluation_id"]))
                    else:
                        assert_refused_for_the_audit(response)
                        answers.append((response.status_code, None))
            return answers

        with ThreadPoolExecutor(FILL_CLIENTS) as pool:
            answers = [a for run in pool.map(client_run, range(FILL_CLIENTS)) for a in run]
        data = audit.read_bytes()
        result = verify_files([audit])

    statuses = Counter(status for status, _ in answers)
    assert statuses[200] > 20 and statuses[503] > 20, statuses  # it filled, with answers on both sides
    assert data.endswith(b"\n")
    written = [msgspec.json.decode(line) for line in data.splitlines()]  # every line a whole record
    assert len({r["chain"] for r in written if r["event"] == "chain_start"}) == 2  # both workers wrote
    recorded = [r["evaluation_id"] for r in written if r["event"] == "evaluation"]
    assert sorted(recorded) == sorted(i for status, i in answers if status == 200)
    assert result.intact, result.problems[:3]


# ---------------------------------------------------------------------------------------------
# a file that moves


@pytest.mark.parametrize("style", ["deleted", "create", "copytruncate"])
def test_an_audit_file_deleted_or_rotated_mid_run_is_reopened_and_its_chain_followed(
    tmp_path: Path, style: str
) -> None:
    audit, old = tmp_path / "audit.log", tmp_path / "audit.log.1"
    with running_server(env={"GUIDANCE_AUDIT_FILE": str(audit)}) as base_url:
        for _ in range(3):
            assert evaluate(base_url).status_code == 200
        head = audit_records(audit)[-1]
        if style == "deleted":
            audit.unlink()
        elif style == "create":  # logrotate's default: rename, then create an empty file
            audit.rename(old)
            audit.touch(mode=0o640)
        else:  # logrotate's copytruncate: copy, then truncate in place
            shutil.copyfile(audit, old)
            os.truncate(audit, 0)
        after = evaluate(base_url)
        assert after.status_code == 200
    start, record = audit_records(audit)
    assert (start["event"], start["seq"]) == ("chain_start", 0)
    assert start["follows"] == {"chain": head["chain"], "seq": head["seq"], "hash": head["hash"]}
    assert (record["event"], record["chain"], record["seq"]) == ("evaluation", start["chain"], 1)
    assert record["evaluation_id"] == after.json()["evaluation_id"]
    if style == "deleted":
        alone = guidance("audit", "verify", str(audit))
        assert alone.returncode == 0, alone.stdout
        assert (
            f"follows chain {head['chain']} from its seq {head['seq']} (not in these files)" in alone.stdout
        )
        return
    text = guidance("audit", "verify", str(old), str(audit))
    assert text.returncode == 0, text.stdout
    assert f"continued by chain {start['chain']}" in text.stdout
    report = msgspec.json.decode(guidance("audit", "verify", "--json", str(old), str(audit)).stdout)
    chains = {c["chain"]: c for c in report["chains"]}
    assert chains[head["chain"]]["followed_by"] == [start["chain"]]
    assert chains[start["chain"]]["follows"]["in_files"] is True


def test_two_workers_each_continue_their_chain_in_a_rotated_file(tmp_path: Path) -> None:
    audit, old = tmp_path / "audit.log", tmp_path / "audit.log.1"
    with running_server(workers=2, env={"GUIDANCE_AUDIT_FILE": str(audit)}) as base_url:
        wait_for_chain_starts(audit, 2)
        before = [evaluate(base_url).json()["evaluation_id"] for _ in range(10)]
        audit.rename(old)
        audit.touch(mode=0o640)
        after = [evaluate(base_url).json()["evaluation_id"] for _ in range(30)]
    old_records, new_records = audit_records(old), audit_records(audit)
    assert sorted(r["evaluation_id"] for r in old_records if r["event"] == "evaluation") == sorted(before)
    assert sorted(r["evaluation_id"] for r in new_records if r["event"] == "evaluation") == sorted(after)
    heads = {r["chain"]: r for r in old_records}  # the last record of each old chain
    starts = [r for r in new_records if r["event"] == "chain_start"]
    assert starts and all(s["follows"]["chain"] in heads for s in starts)
    for start in starts:
        head = heads[start["follows"]["chain"]]
        assert start["follows"] == {"chain": head["chain"], "seq": head["seq"], "hash": head["hash"]}
    assert verify_files([old, audit]).intact


def test_ready_reopens_a_deleted_file_and_says_when_its_folder_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    audit = folder / "audit.log"
    with running_server(env={"GUIDANCE_AUDIT_FILE": str(audit)}) as base_url:
        assert evaluate(base_url).status_code == 200
        head = audit_records(audit)[-1]
        audit.unlink()
        assert ready(base_url).status_code == 200  # noticed, reopened, the new chain started
        (start,) = audit_records(audit)
        assert start["follows"] == {"chain": head["chain"], "seq": head["seq"], "hash": head["hash"]}
        shutil.rmtree(folder)
        problem = assert_not_ready(ready(base_url), "audit-file-missing")
        assert str(audit) in problem["detail"]
        assert_refused_for_the_audit(evaluate(base_url))
        folder.mkdir()
        assert ready(base_url).status_code == 200
        answered = evaluate(base_url)
        assert answered.status_code == 200
    second_start, resumed, record = audit_records(audit)
    assert second_start["follows"] == {"chain": start["chain"], "seq": 0, "hash": start["hash"]}
    assert (resumed["event"], resumed["refused"], resumed["reason"]) == (
        "audit_resumed",
        1,
        "audit-file-missing",
    )
    assert record["evaluation_id"] == answered.json()["evaluation_id"]


# ---------------------------------------------------------------------------------------------
# standard output redirected to a file


def test_two_workers_share_standard_output_redirected_to_a_file_without_tearing_it(tmp_path: Path) -> None:
    out = tmp_path / "audit.log"
    rng = random.Random(3)
    bodies = [{"facts": random_facts(rng)} for _ in range(40)]

    def client_run(index: int) -> list[str]:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            return [
                http.post("/v1/evaluate", json=bodies[(index + n) % len(bodies)]).json()["evaluation_id"]
                for n in range(100)
            ]

    with running_server(workers=2, stdout=out) as base_url, ThreadPoolExecutor(8) as pool:
        wait_for_chain_starts(out, 2)
        answered = [i for run in pool.map(client_run, range(8)) for i in run]
    written = audit_records(out)
    assert sorted(r["evaluation_id"] for r in written if r["event"] == "evaluation") == sorted(answered)
    assert len({r["chain"] for r in written}) == 2
    assert verify_files([out]).intact


def test_standard_output_redirected_to_a_file_that_is_deleted_makes_the_service_not_ready(
    tmp_path: Path,
) -> None:
    out = tmp_path / "audit.log"
    with running_server(stdout=out) as base_url:
        assert evaluate(base_url).status_code == 200
        out.unlink()
        problem = assert_not_ready(ready(base_url), "audit-file-missing")
        assert "standard output" in problem["detail"]
        assert_refused_for_the_audit(evaluate(base_url))

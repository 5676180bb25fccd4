"""Ids from the pooled random bytes: well formed, never repeated, not shared with a fork."""

from __future__ import annotations

import subprocess
import sys
import uuid

from service.ids import random_hex, random_uuid4
from tests.conftest import REPO


def test_uuids_are_version_4_in_their_usual_form_and_never_repeat() -> None:
    made = [random_uuid4() for _ in range(3_000)]  # several refills of the pool
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(made)) == len(made)
    assert len(random_hex()) == 32


# Run in a process of its own: forking this one (which may hold the peers' threads) is unsafe.
_FORK = """
import os
from service.ids import random_hex

random_hex()  # the pool is filled
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.write(write, random_hex().encode())
    os._exit(0)
os.close(write)
os.waitpid(child, 0)
print(os.read(read, 64).decode(), random_hex())
"""


def test_a_forked_process_does_not_hand_out_what_its_parent_will() -> None:
    done = subprocess.run([sys.executable, "-c", _FORK], cwd=REPO, capture_output=True, text=True, check=True)
    in_child, in_parent = done.stdout.split()
    assert in_child != in_parent

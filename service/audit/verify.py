"""Checking audit logs: every chain whole, every record as it was written, every problem named.

Files are read in the order given, as one stream, so a log rotated into several files
verifies when its parts are named oldest first. Lines of several chains (one per process)
interleave freely; each chain is followed by its ``chain`` field. Verification never stops at
the first problem: every line is read, and every problem is reported with its file and
1-based line number, and its chain:

- ``torn``: the line is the start of a record cut short (a write that failed, a process that
  died while writing). When a whole record follows the fragment on the same line (logs written
  before the service cut failed writes back), that record is recovered and checked as usual.
- ``unparseable``: the line is not an audit record at all: text added, or an empty line.
- ``edited``: the record is not as it was written: its content no longer matches its hash, or
  its bytes are not the canonical form the service writes, or it breaks a rule every record
  keeps (a ``chain_start`` at seq 0, and only there).
- ``prev-mismatch``: ``prev`` is not the hash of the record before it in its chain: that record
  was edited and given a new hash, or this one was put in its place.
- ``deleted``: records are missing from a chain (``seq`` jumps) and are not found anywhere later
  in the files given; or a chain begins without its ``chain_start``.
- ``reordered``: records missing at one place in a chain turn up later in the files.
- ``duplicated``: an exact copy of a record already seen.
- ``inserted``: a different record claims a seq its chain already has; the one the chain does
  not continue from (the next record's ``prev`` does not point to it) is the inserted one.
- ``lost``: a ``chain_start`` whose ``follows`` names a head (chain, seq, hash) further on than
  the files given hold for that chain: records written to the old file after the copy and
  before the truncation of ``copytruncate``, or removed from the end of an earlier file.

What the files alone cannot show: records removed from the **end** of a chain that no later
chain follows (or a whole chain removed), and a tail rewritten by someone who recomputed every
hash after their edit. Both become visible when the chain heads (last seq and hash, which this
module reports) are noted somewhere the writer of the log cannot change, and compared later.

The work is split along its seams: :mod:`service.audit.examine` checks each line on its own,
:mod:`service.audit.chains` follows the chains through the records, and
:mod:`service.audit.report` holds what is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from service.audit.chains import Chains
from service.audit.examine import examine
from service.audit.report import (
    DELETED,
    DUPLICATED,
    EDITED,
    INSERTED,
    KINDS,
    LOST,
    PREV_MISMATCH,
    REORDERED,
    TORN,
    UNPARSEABLE,
    ChainHead,
    FileReport,
    Problem,
    Verification,
)

__all__ = [
    "DELETED",
    "DUPLICATED",
    "EDITED",
    "INSERTED",
    "KINDS",
    "LOST",
    "PREV_MISMATCH",
    "REORDERED",
    "TORN",
    "UNPARSEABLE",
    "ChainHead",
    "FileReport",
    "Problem",
    "Verification",
    "verify_files",
]


def verify_files(paths: Iterable[Path]) -> Verification:
    """Check every chain in ``paths`` (read in order, as one stream). Raises ``OSError`` if unreadable."""
    chains = Chains()
    for path in paths:
        report = chains.open_file(path)
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                report.lines = number
                line = examine(raw)
                seq = line.envelope.seq if line.envelope is not None else None
                for kind, message in line.problems:
                    chains.problem(path, number, kind, message, line.chain, seq)
                if line.envelope is not None:
                    report.records += 1
                    chains.follow(line, path, number)
    return chains.finish()

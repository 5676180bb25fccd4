"""The folder prometheus_client shares between worker processes (its multiprocess mode).

Set up by ``guidance serve`` in the parent, before any worker starts: prometheus_client reads
``PROMETHEUS_MULTIPROC_DIR`` once, when it is first imported, so this module never imports it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from service.settings import ConfigurationError

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir(environ: dict[str, str] | os._Environ[str], workers: int) -> Path | None:
    """Make the multiprocess folder ready and name it in ``environ``; return it when it is a
    temporary one of ours, to remove at exit.

    An operator's folder (``PROMETHEUS_MULTIPROC_DIR``) must exist; its ``*.db`` files, left by
    an earlier run, are removed, or its counts would carry over. Without one, several workers
    get a new temporary folder (under ``TMPDIR``) and a single worker none: it keeps its
    values in memory.
    """
    given = environ.get(VARIABLE, "")
    if given != given.strip():  # prometheus_client would use it as written, spaces and all
        raise ConfigurationError(VARIABLE, f"{VARIABLE}: {given!r} has white space at an end")
    if not given and workers == 1:
        return None
    if not given:
        folder = Path(tempfile.mkdtemp(prefix="guidance-metrics-"))
        environ[VARIABLE] = str(folder)
        return folder
    folder = Path(given)
    if not folder.exists():
        raise ConfigurationError(
            VARIABLE, f"{VARIABLE}: no such folder {folder}; create it (empty, writable)"
        )
    if not folder.is_dir():
        raise ConfigurationError(VARIABLE, f"{VARIABLE}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigurationError(VARIABLE, f"{VARIABLE}: the service's user cannot write in {folder}")
    try:
        for leftover in folder.glob("*.db"):
            leftover.unlink()
    except OSError as error:
        raise ConfigurationError(VARIABLE, f"{VARIABLE}: cannot clean {folder}: {error.strerror}") from None
    return None


def remove_metrics_dir(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)

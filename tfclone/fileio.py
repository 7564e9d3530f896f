"""Writing files so that a reader never sees half of one: a temporary file beside the target, renamed onto
it when complete (os.replace is atomic on POSIX), removed if anything fails. The one home of the pattern:
audio, configs, shards, reports and weights all write through it."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = "") -> Iterator[str]:
    """Yields a temporary path beside `path` (its folder is created); on a clean exit the file there is
    renamed onto `path`, on an error it is removed and nothing is left at `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def atomic_write_text(path: str, text: str) -> None:
    """Writes `text` (UTF-8) to `path` through a temporary file renamed into place (nothing half-written)."""
    atomic_write_bytes(path, text.encode("utf-8"))

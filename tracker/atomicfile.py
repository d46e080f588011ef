"""Files that appear whole or not at all: written beside their final path, then renamed.

A report killed half-way, or a disk that fills up, must never leave a broken file where a
person or a mail will pick it up, nor replace a good one. Each output is written to a hidden
temporary file in the same folder (a rename is atomic only within one file system), flushed
to disk, and renamed over the final path once complete. On an error the temporary file is
removed and whatever stood at the final path stays as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """The temporary name: hidden, and not ending in the final suffix, so no glob for
    ``*.pdf`` or ``*.png`` ever picks a half-written file."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename."""
    final = Path(path)
    temporary = partial_path(final)
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with replacing(path) as temporary:
        temporary.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", newline: str | None = None) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text, encoding=encoding, newline=newline)

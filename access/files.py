"""Files only the service account may read: attachments, evidence, e-mail in the outbox, delivered
workbooks. Written whole or not at all (a `.part` file renamed into place), mode 600 in a folder
of mode 700."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, owner-only, atomically (a reader never sees a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    part = path.with_name(f".{path.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(part, path)

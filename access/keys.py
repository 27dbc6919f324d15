"""The product's two keys, both kept outside the databases and the repository.

- the session key signs the web session cookies: $IPDASH_SECRET_KEY, else generated once into
  $IPDASH_SECRET_FILE (default ~/.config/ipdash/secret_key);
- the audit key chains the audit log's entries (a keyed hash, so that someone who can write the
  operational database but does not hold the key cannot recompute the chain after an edit):
  $IPDASH_AUDIT_KEY, else generated once into $IPDASH_AUDIT_KEY_FILE (default: the session key's
  file with ".audit" added, e.g. ~/.config/ipdash/secret_key.audit).

Generated files are created with mode 600. Several hosts share one service only if they share both
keys (set them in the environment from the same secret store).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core import settings


class KeyFileError(RuntimeError):
    """A key file exists but cannot be read, or holds no key."""


def secret_file() -> Path:
    return settings.current().secret_file


def audit_key_file() -> Path:
    return settings.current().audit_key_path


_READ: dict[Path, str] = {}  # keys once read, per file (a key file never changes while in use)


def _generated(path: Path, *, create: bool) -> str | None:
    """The key in `path`, generating it first (mode 600) when it does not exist and `create`."""
    if path in _READ:
        return _READ[path]
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: read theirs
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"the key file {path} cannot be read ({exc.strerror})") from exc
    if not text:
        raise KeyFileError(f"the key file {path} is empty")
    _READ[path] = text
    return text


def session_key() -> str:
    """The key that signs session cookies (generated on first use)."""
    given = settings.current().secret_key
    return given.get_secret_value() if given else str(_generated(secret_file(), create=True))


def audit_key(*, create: bool = True) -> bytes | None:
    """The key of the audit chain; None when there is none and `create` is False (a verifier on a
    machine without the key)."""
    given = settings.current().audit_key
    if given:
        return given.get_secret_value().encode("utf-8")
    text = _generated(audit_key_file(), create=create)
    return text.encode("utf-8") if text is not None else None

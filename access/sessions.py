"""Server-side web sessions: signing out (or an administrator's reset) ends a session at once.

The session cookie holds a random id; the operational store keeps only its SHA-256, the user and
the expiry, so a copy of the cookie stops working the moment the session ends, and a copy of the
table lets no one sign in. Sessions last `IPDASH_SESSION_HOURS` (default 12) from sign-in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from access.opstore import OpStore
from access.users import User, user_of_row
from core import settings
from queries.statements import op_sql

DEFAULT_HOURS = 12


def lifetime() -> dt.timedelta:
    """IPDASH_SESSION_HOURS as a duration (core/settings.py)."""
    return dt.timedelta(hours=settings.current().session_hours)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds")


def start(ops: OpStore, user: User, *, address: str | None) -> str:
    """A new session of `user`; returns the id the cookie carries."""
    session_id = secrets.token_urlsafe(32)
    now = _now()
    with ops.write() as con:
        con.execute(op_sql("sessions.purge"), (_iso(now - dt.timedelta(days=1)), _iso(now - dt.timedelta(days=1))))
        con.execute(
            op_sql("sessions.insert"),
            (_hash(session_id), user.user_id, _iso(now), _iso(now + lifetime()), (address or "")[:64]),
        )
    return session_id


def live_user(ops: OpStore, user_id: int, session_id: str) -> User | None:
    """The user of a session that has neither ended nor expired, else None."""
    rows = ops.read(op_sql("sessions.live_user"), (_hash(session_id), user_id, _iso(_now())))
    return user_of_row(rows[0]) if rows else None


def end(ops: OpStore, session_id: str) -> None:
    with ops.write() as con:
        con.execute(op_sql("sessions.end"), (_iso(_now()), _hash(session_id)))

"""Users, roles and their scope (SPEC §1); passwords kept only as Argon2id hashes.

Each non-national role is bound to an office whose subtree is its scope. `session_version` is
bumped when a user is disabled or their password is reset, which ends every existing session.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from access import audit
from access.opstore import OpStore
from queries.statements import op_sql

ROLES = {
    # role: (label, the office level its scope must have, or None for national roles)
    "national_leader": ("国家局领导 National leadership", None),
    "national_admin": ("国家局管理员 National administrator", None),
    "provincial": ("省级机构 Provincial office", "provincial"),
    "prefecture": ("地市级机构 Prefecture office", "prefecture"),
    "inspector": ("评查人员 Inspector", None),
}
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")
MIN_PASSWORD = 10
# Argon2id at the first configuration of the OWASP Password Storage Cheat Sheet (19 MiB, 2 passes,
# 1 lane): about 40 ms of one core here, against 300 ms of CPU for argon2-cffi's default (64 MiB,
# 3 passes, 4 lanes), which on a 2-core server made 50 users signing in at once slow every page.
# Hashes made with other parameters still verify and are re-hashed at the next good login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class UserError(ValueError):
    """A user-management request that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: str
    scope_code: str | None
    disabled: bool
    session_version: int

    @property
    def national(self) -> bool:
        return self.role in ("national_leader", "national_admin")

    @property
    def admin(self) -> bool:
        return self.role == "national_admin"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def user_of_row(row) -> User:
    """A User from a row of the users table."""
    return User(
        row["user_id"], row["username"], row["role"], row["scope_code"], bool(row["disabled"]), row["session_version"]
    )


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")


def check_new_user(*, username: str, role: str, scope_code: str | None, scope_level: str | None) -> None:
    """Raise UserError when a new user's name, role or scope cannot be used; the command line asks
    this before it asks for the password. `scope_level`: the level of `scope_code` in the office
    roster (None: not in it)."""
    if not USERNAME.match(username):
        raise UserError("a username has 2–40 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise UserError(f"unknown role '{role}'; use one of {', '.join(ROLES)}")
    needs = ROLES[role][1]
    if needs:
        if not scope_code:
            raise UserError(f"role {role} needs --scope with a {needs} office code")
        if scope_level is None:
            raise UserError(f"office {scope_code} is not in the office roster")
        if scope_level != needs:
            raise UserError(f"office {scope_code} is {scope_level}, but role {role} needs a {needs} office")
    elif role != "inspector" and scope_code:
        raise UserError(f"role {role} is national and takes no --scope")


def add_user(
    ops: OpStore,
    *,
    username: str,
    role: str,
    password: str,
    scope_code: str | None = None,
    scope_level: str | None = None,
    actor: str = "cli",
) -> User:
    """Create a user. `scope_level` is the level of `scope_code` in the office roster (None: unknown)."""
    check_new_user(username=username, role=role, scope_code=scope_code, scope_level=scope_level)
    check_password_strength(password)
    digest = _hasher.hash(password)
    with ops.write() as con:
        if con.execute(op_sql("users.exists"), (username,)).fetchone():
            raise UserError(f"user {username} already exists")
        con.execute(
            op_sql("users.insert"),
            (username, role, scope_code, digest, _now(), _now()),
        )
    audit.record(ops, actor=actor, action="user.add", target=username, detail={"role": role, "scope": scope_code})
    user = get_user(ops, username)
    if user is None:  # only if someone deleted the row in between
        raise UserError(f"user {username!r} vanished right after it was added")
    return user


def get_user(ops: OpStore, username: str) -> User | None:
    rows = ops.read(op_sql("users.by_name"), (username,))
    return user_of_row(rows[0]) if rows else None


def get_user_by_id(ops: OpStore, user_id: int) -> User | None:
    rows = ops.read(op_sql("users.by_id"), (user_id,))
    return user_of_row(rows[0]) if rows else None


def list_users(ops: OpStore) -> list[User]:
    return [user_of_row(r) for r in ops.read(op_sql("users.all"))]


def authenticate(ops: OpStore, username: str, password: str) -> User | None:
    """The user when the password is right and the account active; None otherwise."""
    rows = ops.read(op_sql("users.by_name"), (username,))
    if not rows:
        _hasher.hash(password)  # same cost whether or not the account exists
        return None
    row = rows[0]
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    user = user_of_row(row)
    if user.disabled:
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        with ops.write() as con:  # same password, current parameters; the session stays valid
            con.execute(
                op_sql("users.rehash"),
                (_hasher.hash(password), username, row["password_hash"]),
            )
    return user


def set_disabled(ops: OpStore, username: str, disabled: bool = True, *, actor: str = "cli") -> None:
    with ops.write() as con:
        done = con.execute(
            op_sql("users.set_disabled"),
            (int(disabled), _now(), username),
        ).rowcount
    if not done:
        raise UserError(f"no user {username}")
    audit.record(ops, actor=actor, action="user.disable" if disabled else "user.enable", target=username)


def set_scope(
    ops: OpStore,
    username: str,
    scope_code: str,
    scope_level: str | None,
    *,
    role: str | None = None,
    actor: str = "cli",
) -> User:
    """Move a provincial or prefecture user to another office — of their role's level, or of the
    level of a new `role` (a province's user moved to one of its prefectures). Their sessions end;
    what they read and receive follows the new scope at once."""
    user = get_user(ops, username)
    if user is None:
        raise UserError(f"no user {username}")
    role = role or user.role
    if role not in ROLES or not ROLES[role][1] or not ROLES[user.role][1]:
        raise UserError("only a provincial or prefecture user's office scope can be changed, to one of those roles")
    check_new_user(username=username, role=role, scope_code=scope_code, scope_level=scope_level)
    with ops.write() as con:
        con.execute(op_sql("users.set_scope"), (role, scope_code, _now(), username))
        audit.append(
            con,
            actor=actor,
            action="user.set_scope",
            target=username,
            detail={"from": [user.role, user.scope_code], "to": [role, scope_code]},
        )
    return get_user(ops, username) or user


def reset_password(ops: OpStore, username: str, password: str, *, actor: str = "cli") -> None:
    check_password_strength(password)
    digest = _hasher.hash(password)
    with ops.write() as con:
        done = con.execute(
            op_sql("users.reset_password"),
            (digest, _now(), username),
        ).rowcount
    if not done:
        raise UserError(f"no user {username}")
    audit.record(ops, actor=actor, action="user.reset_password", target=username)

"""The `ipdash users` and `ipdash audit` commands (user management and the audit log)."""

from __future__ import annotations

import argparse
import sys

from ipdash.commands import EXIT_MISMATCH, EXIT_OK, BadInput, emit, office_level
from queries.statements import duck_sql


def _read_password(args: argparse.Namespace) -> str:
    """From a prompt (typed twice) on a terminal, else the first line of stdin; never an argument."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("密码 Password: ")
        if getpass.getpass("再次输入 Repeat: ") != first:
            raise BadInput("the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\n")
    if not line:
        raise BadInput("no password on stdin")
    return line


def _inspector_exists(db: str, inspector_id: str) -> bool:
    import contextlib

    from queries.store import Store, scalar

    with contextlib.closing(Store(db).reader()) as con:
        return bool(scalar(con, duck_sql("inspection.inspector_exists"), {"i": inspector_id}))


def cmd_users(args: argparse.Namespace) -> int:
    from access.opstore import OpStore, default_path
    from access.users import UserError, add_user, list_users, reset_password, set_disabled

    ops = OpStore(default_path(args.db))
    try:
        if args.action == "add":
            if args.role == "inspector" and args.scope and not _inspector_exists(args.db, args.scope):
                raise BadInput(f"inspector {args.scope} is not in the inspector roster (ipdash ingest inspectors)")
            level = None if args.role == "inspector" else office_level(args.db, args.scope)
            user = add_user(
                ops,
                username=args.name,
                role=args.role,
                password=_read_password(args),
                scope_code=args.scope,
                scope_level=level,
            )
            emit(
                args,
                {"username": user.username, "role": user.role, "scope": user.scope_code},
                f"已创建用户 created {user.username} ({user.role}{', ' + user.scope_code if user.scope_code else ''})",
            )
        elif args.action == "list":
            users = list_users(ops)
            payload = {
                "users": [
                    {"username": u.username, "role": u.role, "scope": u.scope_code, "disabled": u.disabled}
                    for u in users
                ]
            }
            emit(
                args,
                payload,
                "\n".join(
                    f"{u.username:20s} {u.role:16s} {u.scope_code or '-':8s} {'disabled' if u.disabled else 'active'}"
                    for u in users
                ),
            )
        elif args.action in ("disable", "enable"):
            set_disabled(ops, args.name, args.action == "disable")
            emit(args, {"username": args.name, "disabled": args.action == "disable"}, f"{args.name}: {args.action}d")
        elif args.action == "reset-password":
            reset_password(ops, args.name, _read_password(args))
            emit(args, {"username": args.name}, f"{args.name}: password reset; existing sessions ended")
    except UserError as exc:
        raise BadInput(str(exc)) from exc
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from access.audit import verify
    from access.opstore import OpStore, default_path

    verdict = verify(OpStore(default_path(args.db)))
    payload = {
        "ok": verdict.ok,
        "entries": verdict.entries,
        "first_broken": verdict.first_broken,
        "problem": verdict.problem,
    }
    text = (
        f"审计日志完整 audit log intact: {verdict.entries} entries"
        if verdict.ok
        else f"审计日志被篡改 audit log BROKEN at entry {verdict.first_broken}: {verdict.problem}"
    )
    emit(args, payload, text)
    return EXIT_OK if verdict.ok else EXIT_MISMATCH

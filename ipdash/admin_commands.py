"""The `ipdash users` and `ipdash audit` commands (user management and the audit log)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ipdash.commands import EXIT_MISMATCH, EXIT_OK, BadInput, cli_actor, emit, office_level
from ipdash.validate import output_file
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
    from access.users import UserError, add_user, check_new_user, list_users, reset_password, set_disabled, set_scope

    ops = OpStore(default_path(args.db))
    try:
        if args.action == "add":
            if args.role == "inspector" and args.scope and not _inspector_exists(args.db, args.scope):
                raise BadInput(f"inspector {args.scope} is not in the inspector roster (ipdash ingest inspectors)")
            level = None if args.role == "inspector" else office_level(args.db, args.scope)
            check_new_user(username=args.name, role=args.role, scope_code=args.scope, scope_level=level)
            user = add_user(
                ops,
                username=args.name,
                role=args.role,
                password=_read_password(args),
                scope_code=args.scope,
                scope_level=level,
                actor=cli_actor(args),
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
            set_disabled(ops, args.name, args.action == "disable", actor=cli_actor(args))
            emit(args, {"username": args.name, "disabled": args.action == "disable"}, f"{args.name}: {args.action}d")
        elif args.action == "set-scope":
            user = set_scope(
                ops, args.name, args.scope, office_level(args.db, args.scope), role=args.role, actor=cli_actor(args)
            )
            emit(
                args, {"username": user.username, "scope": user.scope_code}, f"{user.username}: scope {user.scope_code}"
            )
        elif args.action == "reset-password":
            reset_password(ops, args.name, _read_password(args), actor=cli_actor(args))
            emit(args, {"username": args.name}, f"{args.name}: password reset; existing sessions ended")
    except UserError as exc:
        raise BadInput(str(exc)) from exc
    return EXIT_OK


def _read_anchor(path: str) -> dict:
    try:
        got = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"--anchor {path}: cannot be read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"--anchor {path}: not JSON (line {exc.lineno}: {exc.msg}); give a file of `ipdash audit anchor`"
        ) from exc
    if not isinstance(got, dict):
        raise BadInput(f"--anchor {path}: not an audit anchor; give a file of `ipdash audit anchor`")
    return got


def cmd_audit(args: argparse.Namespace) -> int:
    from access import audit
    from access.opstore import OpStore, default_path

    if args.action == "anchor" and args.out:
        output_file(args.out, "--out")
    ops = OpStore(default_path(args.db))
    if args.action == "anchor":
        head = audit.anchor(ops)
        text = json.dumps(head, ensure_ascii=False, indent=1)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        emit(
            args,
            head,
            f"审计链锚点 audit anchor: entry {head['seq']}, {head['hash']}" + (f" → {args.out}" if args.out else ""),
        )
        return EXIT_OK
    anchor = _read_anchor(args.anchor) if args.anchor else None
    verdict = audit.verify(ops, anchor=anchor, accept_unkeyed=args.accept_unkeyed)
    payload = {
        "ok": verdict.ok,
        "entries": verdict.entries,
        "first_broken": verdict.first_broken,
        "problem": verdict.problem,
        "unkeyed_entries": verdict.unkeyed,
        "anchor_checked": verdict.anchor_checked,
    }
    notes = []
    if verdict.unkeyed:
        notes.append(f"{verdict.unkeyed} entries from before keying carry the plain hash chain")
    if verdict.anchor_checked:
        notes.append("the anchor matches")
    text = (
        f"审计日志完整 audit log intact: {verdict.entries} entries" + "".join(f"; {n}" for n in notes)
        if verdict.ok
        else f"审计日志被篡改 audit log BROKEN at entry {verdict.first_broken}: {verdict.problem}"
    )
    emit(args, payload, text)
    return EXIT_OK if verdict.ok else EXIT_MISMATCH

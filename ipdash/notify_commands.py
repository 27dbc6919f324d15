"""`ipdash subscribe add|list|remove` and `ipdash notify run` (issue 21)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from ipdash.commands import EXIT_MISMATCH, EXIT_OK, BadInput, cli_actor, emit


def _context(args: argparse.Namespace):
    from access.opstore import OpStore, default_path
    from queries.store import Store

    ops = OpStore(default_path(args.db))
    return ops, Store(args.db, ops=ops)


def _line(s: dict) -> str:
    what = s["params"].get("report") or s["params"].get("rule") or ""
    return (
        f"{s['sub_id']}  {s['username']}  {s['kind']}{' ' + what if what else ''}  "
        f"{s['schedule'] or 'every run'}  {s['channel']}{' ' + s['email'] if s['email'] else ''}"
    )


def cmd_subscribe(args: argparse.Namespace) -> int:
    from notify import subscriptions as subs

    ops, _ = _context(args)
    try:
        if args.action == "add":
            got = subs.add(
                ops,
                username=args.user,
                kind=args.kind,
                schedule=args.schedule,
                channel=args.channel,
                email=args.email,
                actor=cli_actor(args),
                report=args.report,
                rule=args.rule,
                threshold=args.threshold,
                near_days=args.near_days,
                lang=args.lang,
            )
            emit(args, got, f"已订阅 subscribed: {_line(got)}")
        elif args.action == "list":
            got_all = subs.listed(ops, username=args.user)
            emit(args, {"subscriptions": got_all}, "\n".join(_line(s) for s in got_all) or "没有订阅 no subscriptions")
        else:
            got = subs.remove(ops, args.sub_id, actor=cli_actor(args))
            emit(args, got, f"已退订 removed: {args.sub_id}")
    except subs.SubscriptionError as exc:
        raise BadInput(str(exc)) from exc
    return EXIT_OK


def cmd_notify(args: argparse.Namespace) -> int:
    from metrics.config import default_config
    from notify.run import run

    ops, store = _context(args)
    at = args.as_of
    if at is not None and at.tzinfo is None:
        from notify.subscriptions import BEIJING

        at = at.replace(tzinfo=BEIJING)  # a time without a zone is Beijing time
    summary = run(ops, store, default_config(), at=at, dry_run=args.dry_run)
    got = summary.as_dict()
    lines = [
        f"{'将投递 due' if args.dry_run else '已领取 claimed'}: {len(got['claimed'])}",
        f"已发送 sent: {len(got['sent'])} · 跳过 skipped: {len(got['skipped'])} · 待重试 to retry: {len(got['retry'])} "
        f"· 失败 failed: {len(got['failed'])} · 预警变化 alert changes: {len(got['alerts'])}",
        *(f"  skipped {s['sub_id']} ({s['user']}): {s.get('error') or s.get('reason')}" for s in got["skipped"]),
        *(f"  retry {s['sub_id']} ({s['user']}): {s['error']}" for s in got["retry"]),
    ]
    emit(args, got, "\n".join(lines))
    for f in got["failed"]:
        print(
            f"ipdash notify: delivery to {f['user']} failed for good ({f['sub_id']}, {f['slot']}): {f['error']}",
            file=sys.stderr,
        )
    return EXIT_MISMATCH if got["failed"] else EXIT_OK


def when(text: str) -> dt.datetime:
    """An argparse type: a date and time (YYYY-MM-DDTHH:MM, Beijing time unless a zone is given)."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time (YYYY-MM-DDTHH:MM, such as 2026-12-07T08:00)"
        ) from None


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("subscribe", parents=[common], help="digests, scheduled workbooks and alerts: add, list, remove")
    ssub = p.add_subparsers(dest="action", required=True)
    q = ssub.add_parser("add", parents=[common], help="subscribe a user")
    q.add_argument("user", help="the recipient (a user name); everything is computed as this user")
    q.add_argument("--kind", required=True, choices=["digest", "workbook", "alert"])
    q.add_argument("--schedule", help="days and a Beijing time: 'daily 08:00', 'weekdays 18:30', 'mon,thu 07:45'")
    q.add_argument("--channel", default="app", choices=["email", "app", "both"])
    q.add_argument("--email", help="the address, for channel email or both")
    q.add_argument(
        "--report", choices=["annual", "monitor"], help="a workbook: the annual one or the monitoring extract"
    )
    q.add_argument("--rule", choices=["overdue_share", "notice_overdue"], help="an alert's rule")
    q.add_argument("--threshold", type=float, help="overdue_share: the share that raises the alert (default 0.05)")
    q.add_argument("--near-days", type=int, dest="near_days", help="a digest: days before a deadline (default 7)")
    q.add_argument("--lang", choices=["zh", "en"], default="zh")
    q = ssub.add_parser("list", parents=[common], help="active subscriptions")
    q.add_argument("--user", help="only this user's")
    q = ssub.add_parser("remove", parents=[common], help="end a subscription")
    q.add_argument("sub_id")
    p.set_defaults(func=cmd_subscribe)

    p = sub.add_parser("notify", parents=[common], help="deliver the digests, workbooks and alerts that are due")
    nsub = p.add_subparsers(dest="action", required=True)
    q = nsub.add_parser("run", parents=[common], help="claim and deliver everything due (for cron or a systemd timer)")
    q.add_argument("--as-of", type=when, dest="as_of", help="run as at this time (default now), e.g. 2026-12-07T08:00")
    q.add_argument("--dry-run", action="store_true", help="say what is due; claim, send and record nothing")
    p.set_defaults(func=cmd_notify)

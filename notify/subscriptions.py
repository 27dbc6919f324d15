"""Subscriptions (issue 21): what a user asked to receive, and when.

Three kinds, each needing a permission of the policy that the recipient must hold when it is
delivered (never the subscriber's or the creator's: a delivery is computed as its recipient):

| kind | what | needs |
|---|---|---|
| digest | open cases of the recipient's scope overdue or near their deadline, by subordinate office and handler; rectification notices new since the last digest and past due; overdue supervised cases | monitor (notices: rectification, supervised cases: supervision) |
| workbook | the annual assessment workbook (`report = "annual"`) or the monitoring extract (`"monitor"`) | report / monitor |
| alert | `overdue_share`: any office of the scope whose overdue share of open cases (T5) passes the threshold; `notice_overdue`: a rectification notice past its due date. Fires once per change of state | monitor / rectification |

A schedule is days and a time in Beijing time: "daily 08:00", "weekdays 18:30", "mon 08:00",
"mon,thu 07:45". Alerts have none: they are judged at every run. Each user manages their own
subscriptions; the national administrator anyone's (`subscriptions.manage`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from access import audit, policy
from access.opstore import OpStore
from access.users import User, get_user
from queries.statements import op_sql

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
KINDS = ("digest", "workbook", "alert")
CHANNELS = ("email", "app", "both")
REPORTS = ("annual", "monitor")
RULES = ("overdue_share", "notice_overdue")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NEEDS = {  # what the recipient must be allowed, by kind and its variant
    ("digest", None): "monitor",
    ("workbook", "annual"): "report",
    ("workbook", "monitor"): "monitor",
    ("alert", "overdue_share"): "monitor",
    ("alert", "notice_overdue"): "rectification",
}
DEFAULT_NEAR_DAYS = 7
DEFAULT_THRESHOLD = 0.05


class SubscriptionError(ValueError):
    """The subscription cannot be made as asked; the message names the argument and what is accepted."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def parse_schedule(text: str) -> CronTrigger:
    """The trigger of a schedule text ("daily 08:00", "weekdays 18:30", "mon,thu 07:45"), Beijing time."""
    got = re.fullmatch(r"\s*([a-z,]+)\s+(\d{1,2}):(\d{2})\s*", (text or "").lower())
    if not got:
        raise SubscriptionError(
            f"schedule '{text}': give days and a time, such as 'daily 08:00', 'weekdays 18:30' or 'mon,thu 07:45'"
        )
    days, hour, minute = got.group(1), int(got.group(2)), int(got.group(3))
    if hour > 23 or minute > 59:
        raise SubscriptionError(f"schedule '{text}': the time must lie between 00:00 and 23:59")
    if days == "daily":
        dow = "*"
    elif days == "weekdays":
        dow = "mon-fri"
    else:
        listed = days.split(",")
        wrong = [d for d in listed if d not in DAYS]
        if wrong:
            raise SubscriptionError(
                f"schedule '{text}': unknown day {', '.join(wrong)}; use daily, weekdays or {', '.join(DAYS)}"
            )
        dow = ",".join(listed)
    return CronTrigger(day_of_week=dow, hour=hour, minute=minute, timezone=BEIJING)


def last_slot(schedule: str, *, after: dt.datetime, at: dt.datetime) -> dt.datetime | None:
    """The latest scheduled time at or before `at` and after `after` (None when there is none): only
    the latest is delivered, so a scheduler that was down does not flood a mailbox on its return."""
    trigger = parse_schedule(schedule)
    start = max(after, at - dt.timedelta(days=8))
    found = None
    t = trigger.get_next_fire_time(None, start)
    while t is not None and t <= at:
        if t > after:
            found = t
        t = trigger.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return found


def needs(kind: str, params: dict) -> str:
    """The permission the recipient of a subscription must hold."""
    variant = params.get("report") if kind == "workbook" else params.get("rule") if kind == "alert" else None
    return NEEDS[(kind, variant)]


def _params(
    kind: str, *, report: str | None, rule: str | None, threshold: float | None, near_days: int | None, lang: str | None
) -> dict:
    lang = lang or "zh"
    if lang not in ("zh", "en"):
        raise SubscriptionError(f"--lang {lang}: use zh or en")
    if kind == "digest":
        days = DEFAULT_NEAR_DAYS if near_days is None else near_days
        if not 0 <= days <= 60:
            raise SubscriptionError("--near-days: from 0 to 60 days before the deadline")
        return {"near_days": days, "lang": lang}
    if kind == "workbook":
        if report not in REPORTS:
            raise SubscriptionError(f"--report: use {' or '.join(REPORTS)} for a scheduled workbook")
        return {"report": report, "lang": lang}
    if rule not in RULES:
        raise SubscriptionError(f"--rule: use {' or '.join(RULES)} for an alert")
    out: dict[str, Any] = {"rule": rule, "lang": lang}
    if rule == "overdue_share":
        value = DEFAULT_THRESHOLD if threshold is None else threshold
        if not 0 < value < 1:
            raise SubscriptionError("--threshold: a share between 0 and 1, such as 0.05 for 5%")
        out["threshold"] = value
    return out


def add(
    ops: OpStore,
    *,
    username: str,
    kind: str,
    schedule: str | None,
    channel: str,
    email: str | None,
    actor: str,
    by: User | None = None,
    report: str | None = None,
    rule: str | None = None,
    threshold: float | None = None,
    near_days: int | None = None,
    lang: str | None = None,
) -> dict:
    """Subscribe `username`; the record. `by`: the signed-in user making it (from the web), who may
    only subscribe themself unless the policy grants `subscriptions.manage`; None: the command line."""
    if kind not in KINDS:
        raise SubscriptionError(f"--kind {kind}: use {', '.join(KINDS)}")
    if channel not in CHANNELS:
        raise SubscriptionError(f"--channel {channel}: use {', '.join(CHANNELS)}")
    _may_manage(ops, by, username, what=f"subscribe {username}")
    recipient = get_user(ops, username)
    if recipient is None:
        raise SubscriptionError(f"no user {username}")
    params = _params(kind, report=report, rule=rule, threshold=threshold, near_days=near_days, lang=lang)
    permission = needs(kind, params)
    if not policy.allowed(actor=recipient, action=permission, resource=None):
        raise SubscriptionError(
            f"{username} may not receive this: it needs the permission '{permission}' ({policy.PERMISSIONS[permission]})"
        )
    if kind == "alert":
        if schedule:
            raise SubscriptionError("--schedule: an alert has none; it is judged at every run and fires on a change")
        schedule = None
    else:
        if not schedule:
            raise SubscriptionError("--schedule: required for a digest or a workbook, e.g. 'mon 08:00'")
        parse_schedule(schedule)
    email = (email or "").strip() or None
    wants_mail = channel in ("email", "both")
    if wants_mail and (email is None or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        raise SubscriptionError(f"--email {email or ''}: an e-mail address is needed for channel {channel}")
    sub_id = uuid.uuid4().hex[:12]
    now = _now()
    with ops.write() as con:
        con.execute(
            op_sql("notify.insert_subscription"),
            (sub_id, username, kind, json.dumps(params, sort_keys=True), schedule, channel, email, now, actor),
        )
        audit.append(
            con,
            actor=actor,
            action="subscription.add",
            target=sub_id,
            detail={"user": username, "kind": kind, "params": params, "schedule": schedule, "channel": channel},
        )
    return one(ops, sub_id)


def _may_manage(ops: OpStore, by: User | None, username: str, *, what: str) -> None:
    if by is None:
        return  # the command line: its boundary is the service account
    if by.username == username and policy.require(ops, actor=by, action="subscriptions", what=what):
        return
    if not policy.require(ops, actor=by, action="subscriptions.manage", what=what):
        raise PermissionError(f"you may not {what}")


def one(ops: OpStore, sub_id: str) -> dict:
    found = ops.read(op_sql("notify.subscription"), (sub_id,))
    if not found:
        raise SubscriptionError(f"no subscription {sub_id}")
    return _shape(found[0])


def _shape(row: Any) -> dict:
    got = dict(row)
    got["params"] = json.loads(got["params"])
    return got


def listed(ops: OpStore, *, username: str | None = None) -> list[dict]:
    """Active subscriptions, of `username` or everyone's."""
    got = [_shape(r) for r in ops.read(op_sql("notify.active_subscriptions"))]
    return [s for s in got if username is None or s["username"] == username]


def remove(ops: OpStore, sub_id: str, *, actor: str, by: User | None = None) -> dict:
    """End a subscription (kept on record with who ended it and when)."""
    sub = one(ops, sub_id)
    _may_manage(ops, by, sub["username"], what=f"remove subscription {sub_id}")
    with ops.write() as con:
        if not con.execute(op_sql("notify.remove_subscription"), (_now(), actor, sub_id)).rowcount:
            raise SubscriptionError(f"subscription {sub_id} was already removed")
        audit.append(con, actor=actor, action="subscription.remove", target=sub_id, detail={"user": sub["username"]})
    return one(ops, sub_id)

"""The run that delivers what is due (issue 21): `ipdash notify run`, or `ipdash serve`'s scheduler.

1. **Claim.** For each scheduled subscription, the latest scheduled time at or before the run's
   time (and after the subscription was made) is its slot; the slot is claimed by inserting the
   delivery row, whose primary key (subscription, slot) lets only one of several schedulers — on
   any worker or host — claim it. For each alert, what it watches is judged now and compared with
   the states on record, in one transaction of the operational store: each change of state is
   recorded and one delivery made of the changes, so an alert fires once per change, not per run.
2. **Deliver.** Each claimable delivery (pending, or due for a retry, and not leased by a living
   worker) is leased, its content computed as the recipient (`notify.compose`), and sent: by
   e-mail through the configured SMTP server (STARTTLS and credentials from the environment), or
   written as an .eml file to the outbox when no server is configured; and to the recipient's
   in-app list. A failed send is retried with backoff (5, 10, 20 minutes) and after the last
   attempt reported: on the run's output, in the audit log and in the recipient's in-app list.
   Every delivery, sent, skipped or failed, is audited.

A crash between sending and recording can repeat one delivery when its lease runs out (at least
once, never lost); nothing else does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import smtplib
import socket
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from access import audit
from access.files import write_private
from access.opstore import OpStore
from access.users import get_user
from core import settings
from metrics.config import Config
from notify import compose
from notify.subscriptions import BEIJING, last_slot, listed
from queries.statements import op_sql
from queries.store import Store

MAX_ATTEMPTS = 4
BACKOFF = dt.timedelta(minutes=5)
LEASE = dt.timedelta(minutes=10)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Mailer:
    """Where e-mail goes: an SMTP server (`host`), or the `outbox` folder as .eml files."""

    outbox: Path
    host: str | None = None
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    sender: str = "ipdash@localhost"

    @classmethod
    def from_env(cls, outbox: Path) -> Mailer:
        """The settings IPDASH_SMTP_HOST, _PORT, _STARTTLS, _USER, _PASSWORD, IPDASH_MAIL_FROM and
        IPDASH_OUTBOX (core/settings.py, docs/settings.md)."""
        got = settings.current()
        starttls = got.smtp_starttls if got.smtp_starttls is not None else got.smtp_host is not None
        return cls(
            outbox=got.outbox or outbox,
            host=got.smtp_host,
            port=got.smtp_port or (587 if starttls else 25),
            starttls=starttls,
            user=got.smtp_user,
            password=got.smtp_password.get_secret_value() if got.smtp_password else None,
            sender=got.mail_from,
        )

    def send(self, message: EmailMessage, name: str) -> str:
        """Send `message` (or write it to the outbox as `name`.eml); how it went."""
        message["From"] = self.sender
        if self.host is None:
            target = self.outbox / f"{name}.eml"
            write_private(target, message.as_bytes())
            return f"outbox {target}"
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)
        return f"smtp {self.host}:{self.port}"


@dataclass
class Summary:
    claimed: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    retry: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("claimed", "sent", "skipped", "retry", "failed", "alerts")}


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run(
    ops: OpStore,
    store: Store,
    config: Config,
    *,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    mailer: Mailer | None = None,
    worker: str | None = None,
) -> Summary:
    """Claim and deliver everything due at `at` (default now); with `dry_run`, only say what is due."""
    at = (at or dt.datetime.now(dt.UTC)).astimezone(BEIJING)
    mailer = mailer or Mailer.from_env(store.path.parent / "outbox")
    worker = worker or worker_id()
    summary = Summary()
    for sub in listed(ops):
        if sub["kind"] == "alert":
            _judge_alert(ops, store, config, sub, at, dry_run, summary)
            continue
        made = dt.datetime.fromisoformat(sub["created_at"])
        slot = last_slot(sub["schedule"], after=made, at=at)
        if slot is None:
            continue
        item = {"sub_id": sub["sub_id"], "slot": slot.isoformat(), "user": sub["username"], "kind": sub["kind"]}
        if dry_run:
            if not ops.read(op_sql("notify.delivery"), (sub["sub_id"], slot.isoformat())):
                summary.claimed.append(item)
            continue
        with ops.write() as con:
            now = _iso(at)
            got = con.execute(op_sql("notify.claim_slot"), (sub["sub_id"], slot.isoformat(), sub["username"], now, now))
            if got.rowcount:
                summary.claimed.append(item)
    if not dry_run:
        _deliver_all(ops, store, config, at, mailer, worker, summary)
    return summary


def _judge_alert(
    ops: OpStore, store: Store, config: Config, sub: dict, at: dt.datetime, dry_run: bool, summary: Summary
) -> None:
    try:
        items = compose.alert_items(ops, store, config, sub["username"], sub["params"], at=at)
    except compose.Nothing as exc:
        summary.skipped.append({"sub_id": sub["sub_id"], "user": sub["username"], "reason": str(exc)})
        return
    slot = f"alert {_iso(at)}"

    def changes(known: dict[str, str]) -> tuple[list[str], list[str]]:
        """Items whose state changed (into "over", or back from it) and items first seen "ok" (not news)."""
        changed = [k for k, v in items.items() if known.get(k, "ok") != v["state"]]
        return changed, [k for k in items if k not in known and items[k]["state"] == "ok"]

    if dry_run:
        changed, _ = changes({r["item"]: r["state"] for r in ops.read(op_sql("notify.alert_states"), (sub["sub_id"],))})
        summary.alerts += [{"sub_id": sub["sub_id"], "item": k, "state": items[k]["state"]} for k in changed]
        return
    with ops.write() as con:
        known = {r["item"]: r["state"] for r in con.execute(op_sql("notify.alert_states"), (sub["sub_id"],))}
        changed, fresh = changes(known)
        summary.alerts += [{"sub_id": sub["sub_id"], "item": k, "state": items[k]["state"]} for k in changed]
        now = _iso(at)
        for k in changed + fresh:
            if k in known:
                con.execute(op_sql("notify.update_alert_state"), (items[k]["state"], now, sub["sub_id"], k))
            else:
                con.execute(op_sql("notify.insert_alert_state"), (sub["sub_id"], k, items[k]["state"], now))
        if not changed:
            return
        w = compose.WORDS[sub["params"].get("lang", "zh")]
        over = sum(1 for k in changed if items[k]["state"] == "over")
        subject = f"[ipdash] {w['alert_subject'].format(over=over, back=len(changed) - over)}"
        body = "\n".join(items[k]["text"] for k in changed) + "\n"
        con.execute(op_sql("notify.claim_slot"), (sub["sub_id"], slot, sub["username"], now, now))
        con.execute(op_sql("notify.alert_content"), (subject, body, now, sub["sub_id"], slot))
        summary.claimed.append({"sub_id": sub["sub_id"], "slot": slot, "user": sub["username"], "kind": "alert"})


def _deliver_all(
    ops: OpStore, store: Store, config: Config, at: dt.datetime, mailer: Mailer, worker: str, summary: Summary
) -> None:
    now = _iso(at)
    subs = {s["sub_id"]: s for s in listed(ops)}
    for row in ops.read(op_sql("notify.workable"), (now, now)):
        sub_id, slot = row["sub_id"], row["slot"]
        with ops.write() as con:
            taken = con.execute(
                op_sql("notify.take_delivery"), (worker, _iso(at + LEASE), now, sub_id, slot, now, now)
            ).rowcount
        if not taken:
            continue  # another worker has it
        sub = subs.get(sub_id)
        if sub is None:  # removed since the slot was claimed
            _finish(ops, worker, sub_id, slot, "skipped", 0, None, "the subscription was removed", at, None, summary)
            continue
        _deliver(ops, store, config, sub, slot, at, mailer, worker, summary)


def _deliver(
    ops: OpStore,
    store: Store,
    config: Config,
    sub: dict,
    slot: str,
    at: dt.datetime,
    mailer: Mailer,
    worker: str,
    summary: Summary,
) -> None:
    row = dict(ops.read(op_sql("notify.delivery"), (sub["sub_id"], slot))[0])
    attempts = int(row["attempts"]) + 1
    folder = store.path.parent / "deliveries"
    try:
        if row["subject"] is None:
            content = _compose(ops, store, config, sub, slot, at)
            attachment = None
            if content.attachment is not None:
                name = f"{sub['sub_id']}-{hashlib.sha256(slot.encode()).hexdigest()[:10]}-{content.attachment[0]}"
                write_private(folder / name, content.attachment[1])
                attachment = name
            with ops.write() as con:
                con.execute(
                    op_sql("notify.save_content"),
                    (content.subject, content.body, attachment, _iso(at), sub["sub_id"], slot, worker),
                )
            row.update(subject=content.subject, body=content.body, attachment=attachment)
    except compose.Nothing as exc:
        _finish(ops, worker, sub["sub_id"], slot, "skipped", attempts, None, str(exc), at, sub, summary)
        return
    except Exception as exc:  # a figure that could not be computed now: retried like a failed send
        _retry_or_fail(ops, worker, sub, slot, attempts, f"{type(exc).__name__}: {exc}"[:300], at, summary)
        return
    recipient = get_user(ops, sub["username"])
    if recipient is None or recipient.disabled:  # disabled between the claim and now: nothing goes out
        _finish(ops, worker, sub["sub_id"], slot, "skipped", attempts, None, "the user is disabled", at, sub, summary)
        return
    via = []
    if sub["channel"] in ("email", "both"):
        message = EmailMessage()
        message["To"] = sub["email"]
        message["Subject"] = row["subject"]
        message["Message-ID"] = f"<{sub['sub_id']}.{hashlib.sha256(slot.encode()).hexdigest()[:16]}@ipdash>"
        message.set_content(row["body"])
        if row["attachment"]:
            data = (folder / row["attachment"]).read_bytes()
            shown = row["attachment"].split("-", 2)[2]
            maintype, subtype = XLSX.split("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=shown)
        name = f"{sub['sub_id']}-{hashlib.sha256(slot.encode()).hexdigest()[:10]}"
        try:
            via.append(mailer.send(message, name))
        except (OSError, smtplib.SMTPException) as exc:
            _retry_or_fail(ops, worker, sub, slot, attempts, f"{type(exc).__name__}: {exc}"[:300], at, summary)
            return
    if sub["channel"] in ("app", "both"):
        via.append("app")
    _finish(ops, worker, sub["sub_id"], slot, "sent", attempts, None, None, at, sub, summary, via=via, row=row)


def _retry_or_fail(
    ops: OpStore, worker: str, sub: dict, slot: str, attempts: int, error: str, at: dt.datetime, summary: Summary
) -> None:
    """A failed attempt: retried after 5, 10, 20 minutes; after MAX_ATTEMPTS, failed and reported."""
    if attempts >= MAX_ATTEMPTS:
        _finish(ops, worker, sub["sub_id"], slot, "failed", attempts, None, error, at, sub, summary)
    else:
        retry_at = at + BACKOFF * 2 ** (attempts - 1)
        _finish(ops, worker, sub["sub_id"], slot, "retry", attempts, retry_at, error, at, sub, summary)


def _compose(ops: OpStore, store: Store, config: Config, sub: dict, slot: str, at: dt.datetime) -> compose.Content:
    if sub["kind"] == "digest":
        previous = [
            r["slot"]
            for r in ops.read(op_sql("notify.deliveries_of"), (sub["username"],))
            if r["sub_id"] == sub["sub_id"] and r["state"] == "sent" and r["slot"] < slot
        ]
        since = _iso(dt.datetime.fromisoformat(max(previous))) if previous else None
        return compose.digest(ops, store, config, sub["username"], sub["params"], at=at, since=since)
    return compose.workbook(ops, store, config, sub["username"], sub["params"], at=at)


def _finish(
    ops: OpStore,
    worker: str,
    sub_id: str,
    slot: str,
    state: str,
    attempts: int,
    retry_at: dt.datetime | None,
    error: str | None,
    at: dt.datetime,
    sub: dict | None,
    summary: Summary,
    *,
    via: list[str] | None = None,
    row: dict | None = None,
) -> None:
    now = _iso(at)
    user = sub["username"] if sub else None
    with ops.write() as con:
        con.execute(
            op_sql("notify.finish"),
            (state, attempts, _iso(retry_at) if retry_at else None, error, now, sub_id, slot, worker),
        )
        if state == "sent" and "app" in (via or []) and row is not None and user:
            con.execute(
                op_sql("notify.insert_notification"),
                (uuid.uuid4().hex[:16], user, now, row["subject"], row["body"]),
            )
        if state == "failed" and user:  # reported to the recipient, in the app, whatever the channel
            con.execute(
                op_sql("notify.insert_notification"),
                (
                    uuid.uuid4().hex[:16],
                    user,
                    now,
                    "[ipdash] 邮件未能送达 · An e-mail could not be delivered",
                    f"{slot}: {error}",
                ),
            )
        if state != "retry":
            audit.append(
                con,
                actor="notify",
                action=f"delivery.{state}",
                target=sub_id,
                detail={"slot": slot, "user": user, "via": via, "error": error, "attempts": attempts},
            )
    item = {"sub_id": sub_id, "slot": slot, "user": user, "error": error, "via": via}
    {"sent": summary.sent, "skipped": summary.skipped, "retry": summary.retry, "failed": summary.failed}[state].append(
        item
    )


def notifications(ops: OpStore, username: str) -> list[dict]:
    """The user's in-app notifications, newest first."""
    return [dict(r) for r in ops.read(op_sql("notify.notifications_of"), (username,))]


def mark_read(ops: OpStore, username: str, at: dt.datetime | None = None) -> None:
    with ops.write() as con:
        con.execute(op_sql("notify.mark_read"), (_iso(at or dt.datetime.now(dt.UTC)), username))


def deliveries(ops: OpStore, username: str | None = None) -> list[dict]:
    rows = (
        ops.read(op_sql("notify.all_deliveries"))
        if username is None
        else ops.read(op_sql("notify.deliveries_of"), (username,))
    )
    return [dict(r) for r in rows]

"""Rectification notices (整改): what follows a published inspection (issue 18, SPEC §4.3).

When a plan's results are published, every office with an unqualified archive or an archive that
lost points gets one notice, in the same transaction as the publication: each such archive, its
grade and total, the veto items found, and every checklist item with the points it lost. The
notice is due a configurable number of working days after the publication (the official
working-day calendar of `metrics.calendar`; plan key `[rectification] due_working_days`).

The workflow is a small state machine, `TRANSITIONS`: open → responded (text and attachments, by a
user of the office or of an office above it) → returned (with a reason) or accepted (by the
national administrator, or the province for the offices below it). A returned notice is answered
again. Each step is one transaction of the operational store with its audit entry; it applies
only to the state the actor saw (`version`), so two reviewers acting at once never both succeed.

Who may act is the permission policy's decision (`access.policy`, actions `rectification.respond`
and `rectification.review`): web callers pass the signed-in user and the office as a resource. The
command line passes no user: its boundary is the service account (docs/access.md, threat model).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access import audit, policy
from access.files import write_private
from access.opstore import RECTIFICATIONS, OpStore, bump
from access.users import User
from ingest.contract import default_contract
from metrics.calendar import acceptance_due
from queries.statements import duck_sql, op_sql

DEFAULT_DUE_WORKING_DAYS = 20
STATUSES = ("open", "responded", "returned", "accepted")
# action -> (states it applies to, state it leads to, the policy action that allows it)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "respond": (frozenset({"open", "returned"}), "responded", "rectification.respond"),
    "return": (frozenset({"responded"}), "returned", "rectification.review"),
    "accept": (frozenset({"responded"}), "accepted", "rectification.review"),
}
AWAITING_OFFICE = frozenset({"open", "returned"})  # overdue once the due date passes
MIN_TEXT = 5
MAX_ATTACHMENT_BYTES = 10 << 20
MAX_ATTACHMENTS = 5
# Accepted attachment types, recognised by their first bytes (never by the name a user gave).
ATTACHMENT_TYPES = {
    b"%PDF-": ("pdf", "application/pdf"),
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
    b"PK\x03\x04": ("zip-office", "application/vnd.openxmlformats-officedocument"),
}


class RectificationError(ValueError):
    """The step cannot be taken as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def due_date(published: dt.date, working_days: int) -> tuple[dt.date, bool]:
    """The `working_days`-th working day after `published` (the day itself not counted), and
    whether any of those days was counted Monday–Friday because the official calendar does not
    cover its year (the notice then says so, SPEC §3.1)."""
    table = acceptance_due(published, published, working_days)
    return table.due["due_date"][0], bool(table.fallback_years)


def findings(appraisals: list[dict]) -> dict[str, list[dict]]:
    """Office -> its archives that were unqualified or lost points, from one draw's appraisals
    (rows of the operational store: scores, veto and notes as JSON text), each lost item with the
    inspector's note on it."""
    contract = default_contract()
    out: dict[str, list[dict]] = {}
    for a in sorted(appraisals, key=lambda r: (r["office_code"], r["case_no"])):
        checklist = contract.checklist_of(a.get("checklist_version"))  # the one it was scored under
        scores = json.loads(a["scores"])
        notes = json.loads(a["notes"]) if a.get("notes") else {}
        defects = json.loads(a["defects"]) if a.get("defects") else {}
        lost = [
            {
                "item": item.id,
                "zh": item.zh,
                "en": item.en,
                "max": item.max,
                "score": float(scores[item.id]),
                "lost": round(item.max - float(scores[item.id]), 2),
                "note": notes.get(item.id),  # the inspector's note on the deduction, when given
                **({"defects": defects[item.id]} if item.id in defects else {}),  # items scored by deduction
            }
            for item in checklist.items
            if item.id in scores and float(scores[item.id]) < item.max
        ]
        veto = json.loads(a["veto"]) or []
        if a["grade"] != checklist.grades[-1].id and not lost and not veto:
            continue
        out.setdefault(a["office_code"], []).append(
            {
                "case_no": a["case_no"],
                "grade": a["grade"],
                "grade_name": {lang: g.name(lang) for lang in ("zh", "en") if (g := checklist.grade(a["grade"]))},
                "checklist": checklist.version,
                "total": float(a["total"]),
                "veto": veto,
                "lost": lost,
                "inspector_id": a["inspector_id"],
            }
        )
    return out


def open_notices(con: Any, *, plan: dict, draw_id: str, published_at: str, actor: str) -> list[str]:
    """Write the notices of a publication on `con` (the publication's own transaction); their ids."""
    days = int(plan.get("rectification", {}).get("due_working_days", DEFAULT_DUE_WORKING_DAYS))
    day, weekdays_only = due_date(dt.date.fromisoformat(published_at[:10]), days)
    due = day.isoformat()
    rows = [dict(r) for r in con.execute(op_sql("appraisals.of_draw"), (draw_id,)).fetchall()]
    made = []
    for office, archives in findings(rows).items():
        notice_id = f"R-{plan['plan_id']}-{office}"
        insert_notice(
            con,
            notice_id=notice_id,
            plan_id=plan["plan_id"],
            draw_id=draw_id,
            office=office,
            findings=archives,
            due=(due, weekdays_only),
            at=published_at,
            actor=actor,
        )
        made.append(notice_id)
    return made


def insert_notice(
    con: Any,
    *,
    notice_id: str,
    plan_id: str,
    draw_id: str,
    office: str,
    findings: list[dict],
    due: tuple[str, bool],
    at: str,
    actor: str,
) -> None:
    """Open one notice on `con` (the transaction of what opened it), with its first step and its
    audit entry. `due`: the due date and whether it was counted Monday–Friday."""
    con.execute(
        op_sql("rectifications.insert"),
        (notice_id, plan_id, draw_id, office, json.dumps(findings, ensure_ascii=False), due[0], at, at, int(due[1])),
    )
    con.execute(op_sql("rectifications.insert_event"), (notice_id, 1, at, actor, "open", None, "[]"))
    bump(con, RECTIFICATIONS)
    audit.append(
        con,
        actor=actor,
        action="rectification.open",
        target=notice_id,
        detail={"plan_id": plan_id, "office": office, "archives": len(findings), "due_date": due[0]},
    )


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


def _kind(data: bytes) -> tuple[str, str] | None:
    return next((kind for magic, kind in ATTACHMENT_TYPES.items() if data.startswith(magic)), None)


def store_attachments(folder: Path, files: list[Attachment]) -> list[dict]:
    """Check and keep attachments (owner-only files named by their SHA-256); their records."""
    if len(files) > MAX_ATTACHMENTS:
        raise RectificationError(f"at most {MAX_ATTACHMENTS} attachments to one response")
    kept = []
    for f in files:
        name = re.sub(r"[^\w.\-（）()\u4e00-\u9fff]+", "_", Path(f.name).name)[:120] or "attachment"
        if not f.data:
            raise RectificationError(f"attachment {name} is empty")
        if len(f.data) > MAX_ATTACHMENT_BYTES:
            raise RectificationError(
                f"attachment {name} is {len(f.data) >> 20} MB, more than the {MAX_ATTACHMENT_BYTES >> 20} MB accepted"
            )
        kind = _kind(f.data)
        if kind is None:
            raise RectificationError(
                f"attachment {name}: only PDF, PNG, JPEG or Office (.docx, .xlsx) files are accepted"
            )
        digest = hashlib.sha256(f.data).hexdigest()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (folder / digest).exists():
            write_private(folder / digest, f.data)
        kept.append({"name": name, "sha256": digest, "bytes": len(f.data), "type": kind[1]})
    return kept


def notice(ops: OpStore, notice_id: str) -> dict:
    """One notice with its findings and steps (RectificationError when there is none)."""
    found = ops.read(op_sql("rectifications.one"), (notice_id,))
    if not found:
        raise RectificationError(f"no notice {notice_id}")
    return _shape(found[0], ops.read(op_sql("rectifications.events"), (notice_id,)))


def _shape(row: Any, events: list[Any] | None = None) -> dict:
    got = dict(row)
    got["findings"] = json.loads(got["findings"])
    # Derived once here for every list, page, command and workbook that shows them.
    got["points_lost"] = round(sum(item["lost"] for a in got["findings"] for item in a["lost"]), 2)
    got["unqualified"] = sum(1 for a in got["findings"] if a["grade"] == "unqualified")
    # A notice opened by a return visit (inspection/visits.py) rather than by a publication.
    got["kind"] = "visit" if any("visit" in a for a in got["findings"]) else "inspection"
    if events is not None:
        got["events"] = [{**dict(e), "attachments": json.loads(e["attachments"])} for e in events]
    return got


def overdue(n: dict, as_of: dt.date) -> bool:
    """Past its due date and still waiting for the office (open or returned)."""
    return n["status"] in AWAITING_OFFICE and as_of > dt.date.fromisoformat(n["due_date"])


def list_notices(
    ops: OpStore,
    *,
    offices: set[str] | None = None,
    plan_id: str | None = None,
    status: str | None = None,
    as_of: dt.date | None = None,
) -> list[dict]:
    """Notices (without their steps), limited to `offices` (None: all) and the filters; each with
    `overdue` at `as_of` (default today). `status` may also be 'overdue'."""
    if status is not None and status not in (*STATUSES, "overdue"):
        raise RectificationError(f"status '{status}': use one of {', '.join((*STATUSES, 'overdue'))}")
    as_of = as_of or dt.date.today()
    out = []
    ops.note(RECTIFICATIONS)
    for row in ops.read(op_sql("rectifications.all")):
        n = _shape(row)
        n["overdue"] = overdue(n, as_of)
        if offices is not None and n["office_code"] not in offices:
            continue
        if plan_id is not None and n["plan_id"] != plan_id:
            continue
        if status == "overdue" and not n["overdue"]:
            continue
        if status not in (None, "overdue") and n["status"] != status:
            continue
        out.append(n)
    return out


def act(
    ops: OpStore,
    notice_id: str,
    action: str,
    *,
    actor: str,
    user: User | None = None,
    office: policy.Office | None = None,
    text: str | None = None,
    attachments: list[Attachment] | None = None,
    attachment_dir: Path | None = None,
) -> dict:
    """Take one step of the workflow on notice `notice_id`; the notice as it now stands.

    `user` and `office` (the notice's office as a policy resource): a step from the web, which the
    policy must allow (a refusal is audited and raised as PermissionError). Without `user` the step
    is the command line's (`actor` names the operator). `text`: the response, or the reason of a
    return (at least MIN_TEXT characters); `attachments` go with a response."""
    if action not in TRANSITIONS:
        raise RectificationError(f"unknown step '{action}'; use one of {', '.join(TRANSITIONS)}")
    sources, target, permission = TRANSITIONS[action]
    current = notice(ops, notice_id)
    if user is not None:
        if office is None or office.code != current["office_code"]:
            raise RectificationError(f"notice {notice_id} is not about office {office.code if office else '?'}")
        if not policy.require(ops, actor=user, action=permission, resource=office, what=f"{action} {notice_id}"):
            raise PermissionError(f"you may not {action} notice {notice_id}")
    if current["status"] not in sources:
        raise RectificationError(
            f"notice {notice_id} is {current['status']}; '{action}' applies to a notice that is {' or '.join(sorted(sources))}"
        )
    body = (text or "").strip()
    if action in ("respond", "return") and len(body) < MIN_TEXT:
        what = "the response" if action == "respond" else "the reason for returning it"
        raise RectificationError(f"write {what} (at least {MIN_TEXT} characters)")
    if attachments and action != "respond":
        raise RectificationError("attachments go with a response")
    kept = store_attachments(attachment_dir or Path("attachments"), attachments or [])
    now = _now()
    with ops.write() as con:
        moved = con.execute(
            op_sql("rectifications.move"), (target, now, notice_id, current["status"], current["version"])
        ).rowcount
        if not moved:
            raise RectificationError(f"notice {notice_id} changed meanwhile; look at it again")
        seq = con.execute(op_sql("rectifications.next_seq"), (notice_id,)).fetchone()["seq"]
        con.execute(
            op_sql("rectifications.insert_event"),
            (notice_id, seq, now, actor, action, body or None, json.dumps(kept, ensure_ascii=False)),
        )
        bump(con, RECTIFICATIONS)
        audit.append(
            con,
            actor=actor,
            action=f"rectification.{action}",
            target=notice_id,
            detail={"from": current["status"], "to": target, "text": body[:500] or None, "attachments": kept},
        )
    return notice(ops, notice_id)


def for_report(ops: OpStore, con: Any, *, year: int, scope: str, as_of: dt.date) -> list[dict]:
    """The notices of `year`'s plans for the offices of `scope`'s subtree (read on the analytic
    connection `con`), judged overdue at `as_of`: the workbook's rectification sheet."""
    from queries.store import rows

    below = {c for (c,) in rows(con, duck_sql("offices.subtree"), {"s": scope})}
    plans = [*ops.read(op_sql("plans.all")), *ops.read(op_sql("visits.plans"))]  # return visits open notices too
    years = {r["plan_id"]: json.loads(r["spec"]).get("year") for r in plans}
    got = [n for n in list_notices(ops, offices=below, as_of=as_of) if years.get(n["plan_id"]) == year]
    if got:
        names = dict(rows(con, duck_sql("offices.names"), {"c": sorted({n["office_code"] for n in got})}))
        for n in got:
            n["office_name"] = names.get(n["office_code"], n["office_code"])
    return got

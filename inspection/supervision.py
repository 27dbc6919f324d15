"""Supervised cases (督办): the level above marks an important case and watches it (issue 18).

A national administrator, or a province for the offices below it (the policy's
`supervision.manage`), marks an open case as supervised with a due date and a note; the
supervising office concludes the supervision once the case is closed. The status of a supervised
case is derived at an as-of date from the case itself, never typed in:

| status | when |
|---|---|
| closed_in_time | the case was closed by the as-of date, on or before the supervision's due date |
| closed_late | closed by the as-of date, after the due date |
| overdue | still open, and the as-of date is past the due date or past the case's legal deadline |
| open | still open, within both |

Marking and concluding are one transaction of the operational store each, with their audit entry.
`closed_supervised` counts the supervised cases closed in a year, an item of the published
assessment tables (issue 19).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import polars as pl

from access import audit, policy
from access.opstore import SUPERVISIONS, OpStore, bump
from access.users import User
from metrics.config import Config
from metrics.monitor import open_cases
from queries.loader import national_office
from queries.statements import duck_sql, op_sql
from queries.store import Store, rows

STATUSES = ("open", "overdue", "closed_in_time", "closed_late")
MIN_NOTE = 5


class SupervisionError(ValueError):
    """The supervision cannot be recorded as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _case(store: Store, office_code: str, case_no: str) -> dict:
    with contextlib.closing(store.reader(operational=False)) as con:
        got = rows(con, duck_sql("cases.closing_of"), {"office": office_code, "case_no": case_no})
    if not got:
        raise SupervisionError(f"no case {case_no} of office {office_code}")
    office, number, accepted, closed = got[0]
    return {"office_code": office, "case_no": number, "accepted_date": accepted, "closed_date": closed}


def _check(ops: OpStore, user: User | None, office: policy.Office | None, code: str, what: str) -> None:
    if user is None:
        return  # the command line: its boundary is the service account
    if office is None or office.code != code:
        raise SupervisionError(f"the case is not of office {office.code if office else '?'}")
    if not policy.require(ops, actor=user, action="supervision.manage", resource=office, what=what):
        raise PermissionError(f"you may not {what}")


def supervise(
    ops: OpStore,
    store: Store,
    *,
    office_code: str,
    case_no: str,
    due_date: dt.date,
    note: str,
    supervisor: str | None,
    actor: str,
    user: User | None = None,
    office: policy.Office | None = None,
    today: dt.date | None = None,
) -> dict:
    """Mark an open case as supervised by office `supervisor` (None: the national office) until
    `due_date`; the record."""
    _check(ops, user, office, office_code, f"supervise {office_code}/{case_no}")
    case = _case(store, office_code, case_no)
    today = today or dt.date.today()
    if case["closed_date"] is not None and case["closed_date"] <= today:
        raise SupervisionError(f"case {case_no} was closed on {case['closed_date']}; only an open case is supervised")
    if due_date < today:
        raise SupervisionError(f"the due date {due_date} has passed; give a date from {today} on")
    note = (note or "").strip()
    if len(note) < MIN_NOTE:
        raise SupervisionError(f"say why the case is supervised (at least {MIN_NOTE} characters)")
    national = _national(store)
    supervisor = supervisor or national or ""
    level = "national" if supervisor == national else "provincial"
    with ops.write() as con:
        if con.execute(op_sql("supervisions.one"), (office_code, case_no)).fetchone():
            raise SupervisionError(f"case {case_no} of office {office_code} is already supervised")
        con.execute(
            op_sql("supervisions.insert"),
            (office_code, case_no, supervisor, level, due_date.isoformat(), note, _now(), actor),
        )
        bump(con, SUPERVISIONS)
        audit.append(
            con,
            actor=actor,
            action="supervision.add",
            target=f"{office_code}/{case_no}",
            detail={"supervisor": supervisor, "due_date": due_date.isoformat(), "note": note[:500]},
        )
    return dict(ops.read(op_sql("supervisions.one"), (office_code, case_no))[0])


def conclude(
    ops: OpStore,
    store: Store,
    *,
    office_code: str,
    case_no: str,
    conclusion: str,
    actor: str,
    user: User | None = None,
    office: policy.Office | None = None,
) -> dict:
    """The supervising office concludes the supervision of a closed case; the record."""
    _check(ops, user, office, office_code, f"conclude the supervision of {office_code}/{case_no}")
    case = _case(store, office_code, case_no)
    if case["closed_date"] is None:
        raise SupervisionError(f"case {case_no} is still open; conclude its supervision once it is closed")
    conclusion = (conclusion or "").strip()
    if len(conclusion) < MIN_NOTE:
        raise SupervisionError(f"write the conclusion (at least {MIN_NOTE} characters)")
    with ops.write() as con:
        done = con.execute(op_sql("supervisions.conclude"), (_now(), actor, conclusion, office_code, case_no)).rowcount
        if not done:
            raise SupervisionError(f"case {case_no} of office {office_code} is not under a standing supervision")
        bump(con, SUPERVISIONS)
        audit.append(
            con,
            actor=actor,
            action="supervision.conclude",
            target=f"{office_code}/{case_no}",
            detail={"conclusion": conclusion[:500], "closed_date": case["closed_date"].isoformat()},
        )
    return dict(ops.read(op_sql("supervisions.one"), (office_code, case_no))[0])


def _national(store: Store) -> str | None:
    with contextlib.closing(store.reader(operational=False)) as con:
        return national_office(con)


def status_of(record: dict, *, closed: dt.date | None, deadline: dt.date | None, as_of: dt.date) -> str:
    """The status of a supervised case at `as_of` (the table in the module's docstring)."""
    due = dt.date.fromisoformat(record["due_date"])
    if closed is not None and closed <= as_of:
        return "closed_in_time" if closed <= due else "closed_late"
    if as_of > due or (deadline is not None and as_of > deadline):
        return "overdue"
    return "open"


def supervised(
    ops: OpStore,
    store: Store,
    config: Config,
    *,
    offices: set[str] | None = None,
    as_of: dt.date | None = None,
    status: str | None = None,
) -> list[dict]:
    """Supervised cases of `offices` (None: all) with their closing date, legal deadline (while
    open) and status at `as_of` (default today), optionally only those of `status`."""
    if status is not None and status not in STATUSES:
        raise SupervisionError(f"status '{status}': use one of {', '.join(STATUSES)}")
    as_of = as_of or dt.date.today()
    ops.note(SUPERVISIONS)
    records = [dict(r) for r in ops.read(op_sql("supervisions.all"))]
    records = [r for r in records if offices is None or r["office_code"] in offices]
    if not records:
        return []
    wanted = pl.DataFrame(
        [(r["office_code"], r["case_no"]) for r in records], schema=["office_code", "case_no"], orient="row"
    )
    # The thread's reused connection (opening one costs milliseconds); the closing dates of the
    # supervised cases in one scan, their deadlines from the nation's open cases of the result cache.
    con = store.thread_reader()
    got = rows(
        con,
        duck_sql("cases.closing_of_many"),
        {
            "offices": sorted(set(wanted["office_code"])),
            "keys": [f"{r['office_code']}|{r['case_no']}" for r in records],
        },
    )
    closing = {(o, c): closed for o, c, closed in got}
    nation = national_office(con)
    deadlines: dict[tuple[str, str], Any] = {}
    if nation:
        open_now = open_cases(con, config, scope=nation, as_of=as_of)
        if open_now.height:
            mine = open_now.select("office_code", "case_no", "deadline").join(wanted, on=["office_code", "case_no"])
            deadlines = {(o, c): d for o, c, d in mine.iter_rows()}
    out = []
    for r in records:
        key = (r["office_code"], r["case_no"])
        closed = closing.get(key)
        r["closed_date"] = closed.isoformat() if closed is not None else None
        r["deadline"] = deadlines[key].isoformat() if deadlines.get(key) else None
        r["status"] = status_of(r, closed=closed, deadline=deadlines.get(key), as_of=as_of)
        if status is None or r["status"] == status:
            out.append(r)
    return out


def closed_supervised(ops: OpStore, store: Store, config: Config, *, year: int, offices: set[str] | None) -> int:
    """Supervised cases of `offices` closed in `year` (an item of the assessment tables)."""
    got = supervised(ops, store, config, offices=offices, as_of=dt.date(year, 12, 31))
    return sum(1 for r in got if r["closed_date"] and r["closed_date"].startswith(f"{year}-"))

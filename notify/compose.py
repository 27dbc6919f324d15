"""What a delivery says, computed as its recipient (issue 21): the recipient's own user record, its
role's permissions and its scope *now* — never the subscriber's or whoever made the subscription.
A disabled or deleted user gets nothing; a user whose scope shrank gets the new scope.

Each function returns a `Content` or raises `Nothing` with the reason (recorded on the delivery).
The digest's case lines have a fixed shape, `  - case | office code name | status | deadline | days`,
that a reader (or a test) can parse row by row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from access import policy
from access.opstore import OpStore
from access.users import User, get_user
from inspection.rectification import list_notices
from inspection.supervision import supervised
from metrics.config import Config
from metrics.monitor import open_cases
from notify.subscriptions import needs
from operations.annual import annual_workbook
from queries.loader import national_office
from queries.statements import duck_sql
from queries.store import Store, rows
from reports.data import ReportError
from reports.sheet import COUNT, single_sheet

STATUS_WORDS = {  # an open case's status, as the monitoring extract says it
    "zh": {"overdue": "已超期", "warning": "临近期限", "ok": "期限内", "no_limit": "无法定期限"},
    "en": {
        "overdue": "overdue",
        "warning": "near its deadline",
        "ok": "within its limit",
        "no_limit": "no legal limit",
    },
}
COLUMNS = {  # the monitoring extract's columns
    "zh": ["案号", "办案机构代码", "办案机构", "状态", "期限", "剩余天数"],
    "en": ["Case", "Office code", "Office", "Status", "Deadline", "Days left"],
}
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "digest": "逾期与临近期限案件",
        "as_of": "截至",
        "scope": "范围",
        "none": "没有逾期或临近期限的案件。",
        "office": "下级机构",
        "handler": "承办人",
        "no_handler": "未登记承办人",
        "overdue": "已超期",
        "near": "临近期限",
        "days_over": "超期 {n} 天",
        "days_left": "剩余 {n} 天",
        "new_notices": "新发整改通知",
        "late_notices": "逾期未整改的通知",
        "late_supervised": "逾期的督办案件",
        "due": "整改期限",
        "workbook_annual": "年度考核报告",
        "workbook_monitor": "在办案件监控表",
        "attached": "附件：{name}",
        "alert_share": "超期率预警：{name}（{code}）在办案件超期率 {share:.1%}，超过 {threshold:.0%}（{k}/{n} 件）",
        "alert_share_back": "超期率恢复：{name}（{code}）在办案件超期率降至 {share:.1%}",
        "alert_notice": "整改通知逾期：{notice}（{name}），整改期限 {due}",
        "alert_subject": "预警：{over} 项达到预警，{back} 项恢复",
    },
    "en": {
        "digest": "Overdue and near-deadline cases",
        "as_of": "as of",
        "scope": "scope",
        "none": "No case is overdue or near its deadline.",
        "office": "Office below",
        "handler": "Handler",
        "no_handler": "no handler recorded",
        "overdue": "overdue",
        "near": "near deadline",
        "days_over": "{n} days overdue",
        "days_left": "{n} days left",
        "new_notices": "New rectification notices",
        "late_notices": "Rectification notices past their due date",
        "late_supervised": "Supervised cases overdue",
        "due": "due",
        "workbook_annual": "Annual assessment workbook",
        "workbook_monitor": "Open-case monitoring extract",
        "attached": "Attached: {name}",
        "alert_share": "Overdue alert: {name} ({code}) has {share:.1%} of its open cases overdue, over {threshold:.0%} "
        "({k} of {n})",
        "alert_share_back": "Overdue share back below the threshold: {name} ({code}), now {share:.1%}",
        "alert_notice": "Rectification notice past due: {notice} ({name}), due {due}",
        "alert_subject": "Alert: {over} raised, {back} back to normal",
    },
}


class Nothing(Exception):
    """There is nothing to deliver to this recipient; the message says why (kept on the delivery)."""


@dataclass(frozen=True)
class Recipient:
    user: User
    code: str  # the office whose subtree the recipient reads (the national office for national users)
    name: str
    subtree: frozenset[str]
    names: dict[str, str]
    parent: dict[str, str | None]


@dataclass(frozen=True)
class Content:
    subject: str
    body: str
    attachment: tuple[str, bytes] | None = None


def recipient(ops: OpStore, store: Store, username: str, permission: str) -> Recipient:
    """The recipient as they are now, allowed `permission` (Nothing otherwise, audited as a refusal)."""
    user = get_user(ops, username)
    if user is None or user.disabled:
        raise Nothing(f"user {username} is disabled or no longer exists")
    if not policy.require(ops, actor=user, action=permission, what=f"delivery needing {permission}"):
        raise Nothing(f"user {username} may no longer receive this (it needs '{permission}')")
    if user.role == "inspector":
        raise Nothing(f"user {username} reads assigned archives only")
    with contextlib.closing(store.reader()) as con:
        nation = national_office(con)
        code = nation if user.national else user.scope_code
        if code is None:
            raise Nothing(f"user {username} has no office scope")
        paths = rows(con, duck_sql("offices.paths"))
        below = frozenset(c for (c,) in rows(con, duck_sql("offices.subtree"), {"s": code}))
    names = {c: n for c, n, *_ in paths}
    parent = {c: p for c, _, _, p, *_ in paths}
    if code not in names:
        raise Nothing(f"user {username}'s office {code} is not in the office tree")
    return Recipient(user, code, names[code], below, names, parent)


def chain(code: str, parent: dict[str, str | None]) -> list[str]:
    """`code` and its ancestors, the national office first."""
    out: list[str] = []
    at: str | None = code
    while at is not None and at in parent and at not in out:
        out += [at]
        at = parent[at]
    return out[::-1]


def _below(r: Recipient, office: str) -> str:
    """The office directly below the recipient's own that `office` lies under (or the own office)."""
    path = chain(office, r.parent)
    at = path.index(r.code)
    return path[at + 1] if at + 1 < len(path) else r.code


def digest(
    ops: OpStore, store: Store, config: Config, username: str, params: dict, *, at: dt.datetime, since: str | None
) -> Content:
    """Open cases overdue or within `near_days` of their deadline, by subordinate office and handler;
    notices new since `since` (the previous digest) and past due; supervised cases overdue."""
    w = WORDS[params.get("lang", "zh")]
    r = recipient(ops, store, username, needs("digest", params))
    day = at.date()
    with contextlib.closing(store.reader()) as con:
        cases = open_cases(con, config, scope=r.code, as_of=day)
        handlers = {
            (o, c): "、".join(h or [])
            for o, c, h in rows(con, duck_sql("cases.open_handlers"), {"s": r.code, "d": day})
        }
    near = int(params.get("near_days", 7))
    cases = cases.filter(
        (pl.col("status") == "overdue") | ((pl.col("status") != "no_limit") & (pl.col("days_left") <= near))
    )
    lines = [f"{w['digest']} · {w['as_of']} {day.isoformat()} · {w['scope']} {r.name}", ""]
    groups: dict[str, dict[str, list[str]]] = {}
    for c in cases.iter_rows(named=True):
        late = c["status"] == "overdue"
        days = w["days_over"].format(n=-c["days_left"]) if late else w["days_left"].format(n=c["days_left"])
        line = (
            f"  - {c['case_no']} | {c['office_code']} {r.names.get(c['office_code'], '')} | "
            f"{w['overdue'] if late else w['near']} | {c['deadline']} | {days}"
        )
        who = handlers.get((c["office_code"], c["case_no"])) or w["no_handler"]
        groups.setdefault(_below(r, c["office_code"]), {}).setdefault(who, []).extend([line])
    for office in sorted(groups):
        count = sum(len(v) for v in groups[office].values())
        lines += [f"== {w['office']}：{r.names.get(office, office)} ({office}) · {count} =="]
        for who in sorted(groups[office]):
            lines += [f" {w['handler']}：{who}"]
            lines += groups[office][who]
        lines += [""]
    if not groups:
        lines += [w["none"], ""]
    extra = 0
    if policy.allowed(actor=r.user, action="rectification"):
        notices = list_notices(ops, offices=set(r.subtree), as_of=day)
        new = [n for n in notices if since is None or n["created_at"] > since]
        late = [n for n in notices if n["overdue"]]
        for title, chosen in ((w["new_notices"], new), (w["late_notices"], late)):
            if chosen:
                extra += len(chosen)
                lines += [f"== {title} · {len(chosen)} =="]
                lines += [
                    f"  * {n['notice_id']} | {n['office_code']} {r.names.get(n['office_code'], '')} | {w['due']} {n['due_date']}"
                    for n in chosen
                ]
                lines += [""]
    if policy.allowed(actor=r.user, action="supervision"):
        late_cases = supervised(ops, store, config, offices=set(r.subtree), as_of=day, status="overdue")
        if late_cases:
            extra += len(late_cases)
            lines += [f"== {w['late_supervised']} · {len(late_cases)} =="]
            lines += [
                f"  * {s['case_no']} | {s['office_code']} {r.names.get(s['office_code'], '')} | {s['due_date']}"
                for s in late_cases
            ]
    if not groups and not extra:
        raise Nothing("nothing overdue or near its deadline, no notice and no supervised case to report")
    subject = f"[ipdash] {w['digest']} · {r.name} · {day.isoformat()} · {cases.height}"
    return Content(subject, "\n".join(lines).rstrip() + "\n")


def workbook(ops: OpStore, store: Store, config: Config, username: str, params: dict, *, at: dt.datetime) -> Content:
    """The annual workbook of the last complete year, or the monitoring extract, of the recipient's scope."""
    lang = params.get("lang", "zh")
    w = WORDS[lang]
    r = recipient(ops, store, username, needs("workbook", params))
    day = at.date()
    buf = io.BytesIO()
    if params["report"] == "annual":
        year = day.year - 1
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.xlsx"
            try:
                annual_workbook(
                    store,
                    config,
                    out,
                    year=year,
                    scope=None if r.user.national else r.code,
                    lang=lang,
                    notices_as_of=day,
                )
            except ReportError as exc:
                raise Nothing(str(exc)) from exc
            buf.write(out.read_bytes())
        name, title = f"ipdash-{r.code}-{year}.xlsx", f"{w['workbook_annual']} {year}"
    else:
        with contextlib.closing(store.reader()) as con:
            cases = open_cases(con, config, scope=r.code, as_of=day)
        sheet = single_sheet(
            w["workbook_monitor"],
            [*((c, None) for c in COLUMNS[lang][:5]), (COLUMNS[lang][5], COUNT)],
            [
                [
                    c["case_no"],
                    c["office_code"],
                    r.names.get(c["office_code"], ""),
                    STATUS_WORDS[lang].get(c["status"], c["status"]),
                    c["deadline"],
                    c["days_left"],
                ]
                for c in cases.iter_rows(named=True)
            ],
            table="OpenCases",
        )
        buf.write(sheet)
        name, title = f"ipdash-monitor-{r.code}-{day.isoformat()}.xlsx", w["workbook_monitor"]
    subject = f"[ipdash] {title} · {r.name} · {day.isoformat()}"
    return Content(subject, f"{title} · {r.name}\n{w['attached'].format(name=name)}\n", (name, buf.getvalue()))


def alert_items(
    ops: OpStore, store: Store, config: Config, username: str, params: dict, *, at: dt.datetime
) -> dict[str, dict]:
    """What the alert watches, each with its state now: {item: {"state": "over"|"ok", "text": ...}}.
    `overdue_share`: every office of the scope with open cases under a time limit, "over" when its
    overdue share (T5) passes the threshold; `notice_overdue`: every notice of the scope, "over" once
    past its due date while still awaiting the office."""
    w = WORDS[params.get("lang", "zh")]
    r = recipient(ops, store, username, needs("alert", params))
    day = at.date()
    out: dict[str, dict] = {}
    if params["rule"] == "overdue_share":
        threshold = float(params["threshold"])
        with contextlib.closing(store.reader()) as con:
            cases = open_cases(con, config, scope=r.code, as_of=day).filter(pl.col("status") != "no_limit")
        shares = cases.group_by("office_code").agg(
            pl.len().alias("n"), (pl.col("status") == "overdue").sum().alias("k")
        )
        for code, n, k in shares.sort("office_code").iter_rows():
            share = k / n
            over = share > threshold
            name = r.names.get(code, code)
            text = (w["alert_share"] if over else w["alert_share_back"]).format(
                name=name, code=code, share=share, threshold=threshold, k=k, n=n
            )
            out[code] = {"state": "over" if over else "ok", "text": text}
        return out
    for n in list_notices(ops, offices=set(r.subtree), as_of=day):
        text = w["alert_notice"].format(
            notice=n["notice_id"], name=r.names.get(n["office_code"], ""), due=n["due_date"]
        )
        out[n["notice_id"]] = {"state": "over" if n["overdue"] else "ok", "text": text}
    return out

"""The demo's inspection plans: one drawn and waiting for its inspectors, and one published a year
earlier with its rectification notices in every state; and supervised cases in every state, so
that every inspection and follow-up page shows real content on first start (issue 18).
Synthetic, seeded, created once."""

from __future__ import annotations

import hashlib

from queries.statements import duck_sql

PUBLISHED = "demo-published-"


DEMO_SEED = "20250110"  # the demo plan's seed, so that its draw can be verified by hand


def demo_plan(store, ops) -> str | None:
    """A locked and drawn demo plan of Zhejiang's latest complete year (created once); the inspector
    id of its first assignment, which the demo inspector login is bound to."""
    import contextlib

    from inspection.plans import create_plan, list_plans, lock_plan, run_draw
    from inspection.results import standing_draw
    from queries.store import scalar

    plans = [p for p in list_plans(ops) if p["plan_id"].startswith("demo-") and not p["plan_id"].startswith(PUBLISHED)]
    if not plans:
        with contextlib.closing(store.reader()) as con:
            year = scalar(con, duck_sql("cases.last_closed_year"))
        if year is None:
            return None
        plan_id = f"demo-{int(year)}-330000"
        create_plan(
            ops,
            store,
            f'plan_id = "{plan_id}"\nyear = {int(year)}\nscope = "330000"\n'
            f'title = "{int(year)}年度浙江省专利行政执法案卷抽查（演示）"\n'
            "[rule]\nratio = 0.02\nmin_per_stratum = 1\nmax_per_stratum = 3\n"
            "[inspectors]\nper_office = 2\nworkload_cap = 12\n",
            actor="demo",
        )
        lock_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor="demo")
        run_draw(ops, store, plan_id, seed=DEMO_SEED, actor="demo")
        plans = [p for p in list_plans(ops) if p["plan_id"] == plan_id]
    try:
        manifest = standing_draw(ops, plans[0]["plan_id"])["manifest"]
    except ValueError:
        return None
    return manifest["assignments"][0]["inspector_id"] if manifest["assignments"] else None


PUBLISHED_SEED = "20240110"
# Points lost per checklist item for each of ten appraisal patterns, chosen by an archive's key:
# five with full marks, three excellent or qualified with deductions, two unqualified.
PATTERNS = [
    {},
    {},
    {},
    {},
    {},
    {"documents": 3, "procedure": 2},
    {"evidence": 6, "law": 5, "facts": 4},
    {"acceptance": 2, "documents": 4},
    {"evidence": 10, "facts": 8, "law": 8, "documents": 5},
    {"evidence": 12, "facts": 10, "procedure": 6, "documents": 6},
]


# What the demo inspectors wrote about each item's deduction (a few recurring problems each).
NOTES = {
    "acceptance": ["立案审批表缺少负责人签字", "受理通知书未载明受理日期"],
    "evidence": ["现场勘验笔录无当事人签名", "证据未编目，来源不明", "未核实专利权有效性"],
    "facts": ["侵权比对意见过于简单", "认定事实的证据不充分"],
    "law": ["适用法律条款错误", "处理决定未引用具体条款"],
    "procedure": ["超过法定期限未办理延长审批", "未告知当事人陈述申辩权利"],
    "documents": ["送达回证缺失", "卷内文书未按顺序装订", "卷内目录与文书不符"],
}


def demo_published_plan(store, ops) -> None:
    """Zhejiang's inspection of the year before the demo plan's: drawn, every sampled archive
    appraised, published, and its rectification notices moved to every state (once)."""
    import contextlib
    import os
    import tempfile

    from ingest.contract import default_contract
    from ingest.run import ingest
    from inspection.plans import create_plan, list_plans, lock_plan, run_draw
    from inspection.rectification import act, list_notices
    from inspection.results import publish
    from queries.store import scalar

    if any(p["plan_id"].startswith(PUBLISHED) for p in list_plans(ops)):
        return
    with contextlib.closing(store.reader()) as con:
        last = scalar(con, duck_sql("cases.last_closed_year"))
    if last is None:
        return
    year = int(last) - 1
    plan_id = f"{PUBLISHED}{year}-330000"
    create_plan(
        ops,
        store,
        f'plan_id = "{plan_id}"\nyear = {year}\nscope = "330000"\n'
        f'title = "{year}年度浙江省专利行政执法案卷抽查（演示，已公开）"\n'
        "[rule]\nratio = 0.01\nmin_per_stratum = 1\nmax_per_stratum = 2\n"
        "[inspectors]\nper_office = 1\nworkload_cap = 20\n",
        actor="demo",
    )
    lock_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor="demo")
    manifest = run_draw(ops, store, plan_id, seed=PUBLISHED_SEED, actor="demo")
    inspector = {a["office_code"]: a["inspector_id"] for a in manifest["assignments"]}
    items = default_contract().checklist.items
    header = ["draw_id", "office_code", "case_no", "inspector_id", *(i.id for i in items), "inspected_at"]
    lines = [",".join([*header, *(f"{i.zh}扣分说明" for i in items)])]
    for s in manifest["sample"]:
        pick = int(hashlib.sha256(s["key"].encode()).hexdigest()[:8], 16)
        lost = PATTERNS[pick % len(PATTERNS)]
        scores = [f"{i.max - lost.get(i.id, 0):g}" for i in items]
        notes = [NOTES[i.id][(pick // len(PATTERNS)) % len(NOTES[i.id])] if lost.get(i.id) else "" for i in items]
        case_no = '"' + s["case_no"].replace('"', '""') + '"'
        lines.append(
            ",".join(
                [
                    manifest["draw_id"],
                    s["office_code"],
                    case_no,
                    inspector[s["office_code"]],
                    *scores,
                    f"{year + 1}-03-15",
                    *notes,
                ]
            )
        )
    fd, name = tempfile.mkstemp(suffix=".csv", dir=store.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        ingest(store, "appraisals", [name], progress=False, actor="demo")
    finally:
        os.unlink(name)
    publish(ops, store, plan_id, actor="demo")
    folder = store.path.parent / "attachments"
    steps = [
        [("respond", "已补齐送达回证并重新归档，附整改报告。")],
        [("respond", "已组织办案人员学习证据规则。"), ("return", "整改报告未说明具体案卷的补正情况，请补充。")],
        [("respond", "已重新制作行政决定书并送达当事人。"), ("accept", "")],
    ]
    for notice, plan in zip(list_notices(ops, plan_id=plan_id), steps):
        for step, text in plan:
            act(ops, notice["notice_id"], step, actor="demo", text=text or None, attachment_dir=folder)


def demo_supervisions(store, ops) -> None:
    """Four supervised cases of Zhejiang's offices (created once): two still open, supervised now —
    one without a legal time limit, one with it (overdue once that passes) — and two closed, one
    within and one after its supervision's due date."""
    import contextlib
    import datetime as dt

    from inspection.supervision import supervise, supervised
    from metrics.config import default_config
    from queries.store import rows

    if supervised(ops, store, default_config()):
        return
    with contextlib.closing(store.reader()) as con:
        cases = rows(con, duck_sql("cases.latest_in_subtree"), {"s": "330000"})  # offices below the province
    today = dt.date.today()
    # One open case without a legal time limit (still "open" whatever the date) and one with it.
    still_open = [
        *[c for c in cases if c[3] is None and c[4] == "other_dispute"][:1],
        *[c for c in cases if c[3] is None and c[4] != "other_dispute"][:1],
    ]
    closed = [c for c in cases if c[3] is not None and (c[3] - c[2]).days >= 20][:2]
    picks = [(c, today, today + dt.timedelta(days=30)) for c in still_open]
    # Supervised a week after acceptance; due 10 days before (late) or 10 days after (in time) the closing.
    picks += [
        (c, c[2] + dt.timedelta(days=7), c[3] + dt.timedelta(days=10 if i == 0 else -10)) for i, c in enumerate(closed)
    ]
    for (office, case_no, *_), on, due in picks:
        supervise(
            ops,
            store,
            office_code=office,
            case_no=case_no,
            due_date=max(due, on),
            note="社会关注度高，省局挂牌督办（演示）",
            supervisor="330000",
            actor="demo",
            today=on,
        )


VISIT_SEED = "20250301"
# What each demo visit found, chosen by its case's key: (reached, satisfaction, fulfilment of a
# mediated agreement, complaint); None: not visited yet.
VISIT_PATTERNS: list[tuple[bool, int | None, str | None, str | None] | None] = [
    None,
    (False, None, None, None),
    (True, 2, "partly", "办案周期过长，处理结果没有及时告知。"),
    (True, 4, "no", "对方至今未按调解协议支付赔偿款。"),
    (True, 1, "no", "认为调解过程中办案人员偏向对方。"),
    (True, 3, "yes", None),
    (True, 3, "yes", "希望执法人员多解释处理依据。"),
    *[(True, 4, "yes", None)] * 5,
    *[(True, 5, "yes", None)] * 8,
]


def demo_visits(store, ops) -> None:
    """Zhejiang's return visits of the cases concluded in the latest complete year (created once):
    drawn, most visits recorded in every outcome (not reached, unsatisfied, agreements carried out,
    partly, not), the notices they opened, one answered; a few still to visit."""
    import contextlib
    import datetime as dt

    from inspection.rectification import act, list_notices
    from inspection.visits import (
        create_visit_plan,
        draw_visit_plan,
        list_visit_plans,
        list_visits,
        lock_visit_plan,
        record_visit,
    )
    from queries.store import scalar

    if list_visit_plans(ops):
        return
    with contextlib.closing(store.reader()) as con:
        last = scalar(con, duck_sql("cases.last_closed_year"))
    if last is None:
        return
    year = int(last)
    plan_id = f"demo-visits-{year}-330000"
    create_visit_plan(
        ops,
        store,
        f'plan_id = "{plan_id}"\nyear = {year}\nscope = "330000"\nstrata = ["office_code"]\n'
        f'title = "{year}年度浙江省结案回访（演示）"\n'
        "[rule]\nratio = 0.01\nmin_per_stratum = 1\nmax_per_stratum = 2\n",
        actor="demo",
    )
    lock_visit_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor="demo")
    manifest = draw_visit_plan(ops, store, plan_id, seed=VISIT_SEED, actor="demo")
    mediated = {(v["office_code"], v["case_no"]): v["mediated"] for v in list_visits(ops, plan_id=plan_id)}
    for s in manifest["sample"]:
        found = VISIT_PATTERNS[int(hashlib.sha256(s["key"].encode()).hexdigest()[:8], 16) % len(VISIT_PATTERNS)]
        if found is None:
            continue
        reached, satisfaction, fulfilment, complaint = found
        record_visit(
            ops,
            plan_id,
            s["office_code"],
            s["case_no"],
            reached=reached,
            satisfaction=satisfaction,
            fulfilment=fulfilment if reached and mediated[(s["office_code"], s["case_no"])] else None,
            complaint=complaint,
            visited_on=dt.date.today(),
            actor="demo",
        )
    opened = list_notices(ops, plan_id=plan_id)
    if opened:
        act(ops, opened[0]["notice_id"], "respond", actor="demo", text="已约谈办案人员，督促当事人履行调解协议。")


def demo_subscriptions(store, ops) -> None:
    """A weekday digest and an overdue-share alert for the Zhejiang login, overdue-share and
    overdue-notice alerts for Hangzhou's (created once), and one delivery run, so that the alerts show
    in their in-app lists on first start."""
    from metrics.config import default_config
    from notify import subscriptions as subs
    from notify.run import Mailer, run

    if subs.listed(ops) or not all(_user_exists(ops, u) for u in ("zhejiang", "hangzhou")):
        return

    def subscribe(user: str, kind: str, schedule: str | None = None, **what) -> None:
        subs.add(ops, username=user, kind=kind, schedule=schedule, channel="app", email=None, actor="demo", **what)

    subscribe("zhejiang", "digest", "weekdays 08:00")
    subscribe("zhejiang", "alert", rule="overdue_share", threshold=0.3)
    subscribe("hangzhou", "alert", rule="overdue_share", threshold=0.2)
    subscribe("hangzhou", "alert", rule="notice_overdue")
    run(ops, store, default_config(), mailer=Mailer(outbox=store.path.parent / "outbox"))


def _user_exists(ops, name: str) -> bool:
    from access.users import get_user

    return get_user(ops, name) is not None

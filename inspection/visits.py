"""The return-visit draw (回访, issue 18 item 3): concluded cases drawn by the published SHA-256
algorithm of inspections, each assigned one visitor who never handled it and is not of its office.

Algorithm `sha256-visit-v1`, short enough to recompute by hand (docs/inspection.md, "Return visits"):
1. The sample is that of SPEC §4.2: within each stratum of the locked population, archives sorted
   by `SHA-256(seed + "|" + plan_id + "|" + office_code + "|" + case_no)` (lowercase hex), the
   first n drawn, n from the plan's rule.
2. Visitors: the sampled cases are taken in order of their key; for each, the pool's visitors
   (active, certified inspectors of the plan's scope) who are not of the case's office, whose id and name are not among the case's
   handlers, and who have fewer than the plan's `[visits] workload_cap` cases yet, are sorted by
   `SHA-256(seed + "|visit|" + office_code + "|" + case_no + "|" + visitor_id)`; the first is
   assigned. A case no visitor may take fails the draw, naming the case.
The manifest carries the pool and each sampled case's handlers, so `ipdash verify-draw` recomputes
it from the population file alone.

A visit plan is kept apart from inspection plans (tables `visit_plans` and `visits`): created from
TOML, locked (population file and its SHA-256), drawn once with a seed typed in after locking. Each
drawn case is one visit, recorded once by its visitor or the national administrator: party reached,
satisfaction 1–5, for a mediated case whether the agreement was carried out (yes/partly/no), a
complaint, the day. A visit with satisfaction at most `[visits] unsatisfied_at_most` (default 2),
or an agreement carried out only partly or not at all (`[visits] notice_on_fulfilment`), opens a
rectification notice for the case's office in the same transaction (inspection/rectification.py).

The figures (`figures`) are shown, not scored: coverage (parties reached of the cases drawn),
mean satisfaction of the parties reached, and the fulfilment rate of mediated agreements (carried
out fully, of the mediated cases whose party was reached and answered), the rates with their 95%
Clopper–Pearson intervals.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from access import audit, policy
from access.opstore import VISITS, OpStore, bump
from access.users import User
from inspection.draw import (
    DrawError,
    Drawn,
    manifest_sha256,
    population_frame,
    sample_frame,
    sha256_hex,
    sizes_from_counts,
)
from inspection.plans import (
    PlanError,
    check_scope,
    locked_population,
    parse_plan,
    population_items,
    write_population,
)
from inspection.rectification import DEFAULT_DUE_WORKING_DAYS, due_date, insert_notice
from metrics.indicators import clopper_pearson
from queries.statements import duck_sql, op_sql
from queries.store import Store, rows

VISIT_ALGORITHM = "sha256-visit-v1"
DEFAULT_VISIT_CAP = 10
VISIT_DEFAULTS: dict[str, Any] = {
    "workload_cap": DEFAULT_VISIT_CAP,
    "unsatisfied_at_most": 2,
    "notice_on_fulfilment": ["no", "partly"],
}
FULFILMENT = ("yes", "partly", "no")
MAX_COMPLAINT = 2000


class VisitError(ValueError):
    """The visit plan, draw or record cannot be done as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def assign_visitors(
    sample: list[Drawn], *, seed: str, pool: list[dict], handlers: Mapping[str, list[str]], workload_cap: int
) -> list[dict]:
    """One visitor per sampled case (step 2 of the module's algorithm)."""
    load: dict[str, int] = {}
    out = []
    for case in sorted(sample, key=lambda s: s["key"]):
        office, number = case["office_code"], case["case_no"]
        handled = set(handlers.get(f"{office}|{number}", []))
        eligible = [
            v
            for v in pool
            if v["office_code"] != office
            and v["visitor_id"] not in handled
            and (v.get("name") or "") not in handled
            and load.get(v["visitor_id"], 0) < workload_cap
        ]
        if not eligible:
            raise DrawError(
                f"no visitor may take case {number} of office {office}: every one is of that office, "
                "handled the case or is at the workload cap"
            )
        chosen = min(eligible, key=lambda v: sha256_hex(f"{seed}|visit|{office}|{number}|{v['visitor_id']}"))
        load[chosen["visitor_id"]] = load.get(chosen["visitor_id"], 0) + 1
        out.append({"office_code": office, "case_no": number, "visitor_id": chosen["visitor_id"]})
    return out


def make_visit_manifest(
    *,
    plan: dict,
    population: bytes,
    seed: str,
    pool: list[dict],
    handlers: Mapping[str, list[str]],
    created_at: str,
    created_by: str,
) -> dict[str, Any]:
    """The whole visit draw; `handlers`: "office|case_no" -> the case's handlers (at least those of
    every sampled case; the manifest keeps those). Everything to recompute it is in the result."""
    frame = population_frame(population)
    sizes = sizes_from_counts(dict(frame.group_by("stratum").len().iter_rows()), plan.get("rule", {}))
    sample = sample_frame(frame, seed=seed, plan_id=plan["plan_id"], sizes=sizes)
    kept = {
        f"{s['office_code']}|{s['case_no']}": sorted(handlers.get(f"{s['office_code']}|{s['case_no']}", []))
        for s in sample
    }
    visitors = sorted(pool, key=lambda v: v["visitor_id"])
    cap = int(plan.get("visits", {}).get("workload_cap", DEFAULT_VISIT_CAP))
    return {
        "plan_id": plan["plan_id"],
        "seed": seed,
        "algorithm": VISIT_ALGORITHM,
        "population_sha256": hashlib.sha256(population).hexdigest(),
        "plan": plan,
        "visitor_pool": visitors,
        "handlers": kept,
        "stratum_sizes": sizes,
        "sample": sample,
        "assignments": assign_visitors(sample, seed=seed, pool=visitors, handlers=kept, workload_cap=cap),
        "created_at": created_at,
        "created_by": created_by,
    }


def parse_visit_plan(text: str) -> dict:
    """A visit plan of a TOML text (keys of an inspection plan, SPEC §4.1, without `inspectors`;
    `[visits]` as in VISIT_DEFAULTS), every default filled in; VisitError naming the key."""
    try:
        raw = tomllib.loads(text)
        plan = parse_plan(text)
    except (PlanError, tomllib.TOMLDecodeError) as exc:
        raise VisitError(str(exc)) from exc
    if "inspectors" in raw:
        raise VisitError("inspectors: a visit plan assigns visitors; give [visits] workload_cap instead")
    plan.pop("inspectors", None)
    if "plan_id" not in raw:
        plan["plan_id"] = "V" + plan["plan_id"]
    visits = {**VISIT_DEFAULTS, **raw.get("visits", {})}
    unknown = set(visits) - set(VISIT_DEFAULTS)
    if unknown:
        raise VisitError(f"visits: unknown key {', '.join(sorted(unknown))}; use {', '.join(VISIT_DEFAULTS)}")
    if not isinstance(visits["workload_cap"], int) or visits["workload_cap"] < 1:
        raise VisitError("visits.workload_cap: a whole number of visits per visitor, at least 1")
    if not isinstance(visits["unsatisfied_at_most"], int) or not 0 <= visits["unsatisfied_at_most"] <= 4:
        raise VisitError("visits.unsatisfied_at_most: 0 (never) to 4; a satisfaction at most this opens a notice")
    got = visits["notice_on_fulfilment"]
    if not isinstance(got, list) or not set(got) <= {"no", "partly"}:
        raise VisitError('visits.notice_on_fulfilment: a list of "no" and/or "partly"')
    plan["visits"] = visits
    return plan


def create_visit_plan(ops: OpStore, store: Store, text: str, *, actor: str) -> dict:
    plan = parse_visit_plan(text)
    try:
        check_scope(store, plan)
    except PlanError as exc:
        raise VisitError(str(exc)) from exc
    with ops.write() as con:
        if con.execute(op_sql("visits.plan"), (plan["plan_id"],)).fetchone():
            raise VisitError(f"visit plan {plan['plan_id']} already exists")
        con.execute(
            op_sql("visits.insert_plan"),
            (plan["plan_id"], json.dumps(plan, ensure_ascii=False, sort_keys=True), _now(), actor),
        )
        audit.append(con, actor=actor, action="visit_plan.create", target=plan["plan_id"], detail=plan)
        bump(con, VISITS)
    return plan


def _plan_row(ops: OpStore, plan_id: str) -> dict:
    found = ops.read(op_sql("visits.plan"), (plan_id,))
    if not found:
        raise VisitError(f"no visit plan {plan_id}")
    return dict(found[0])


def lock_visit_plan(ops: OpStore, store: Store, plan_id: str, *, out_dir: Path, actor: str) -> dict:
    """Freeze the plan's population (cases closed in its year below its scope) in a file and record
    its SHA-256; the seed is chosen after this."""
    row = _plan_row(ops, plan_id)
    if row["locked_at"]:
        raise VisitError(f"visit plan {plan_id} is already locked (population {row['population_sha256']})")
    plan = json.loads(row["spec"])
    items, pending = population_items(store, plan)
    if not items:
        raise VisitError(f"visit plan {plan_id}: no cases closed in {plan['year']} below {plan['scope']}")
    path, digest, recorded = write_population(store, plan_id, items, out_dir)
    with ops.write() as con:
        if not con.execute(op_sql("visits.lock"), (_now(), digest, recorded, pending, plan_id)).rowcount:
            raise VisitError(f"visit plan {plan_id} was locked meanwhile")
        bump(con, VISITS)
        audit.append(
            con,
            actor=actor,
            action="visit_plan.lock",
            target=plan_id,
            detail={"population_sha256": digest, "population": len(items), "excluded_pending_review": pending},
        )
    return {
        "plan_id": plan_id,
        "population_file": str(path),
        "population_sha256": digest,
        "population": len(items),
        "excluded_pending_review": pending,
    }


def draw_visit_plan(ops: OpStore, store: Store, plan_id: str, *, seed: str, actor: str) -> dict:
    """Draw a locked visit plan once; the manifest. The draw, its visits and its audit entry are one
    transaction."""
    if not seed.strip():
        raise VisitError("the seed must not be empty")
    row = _plan_row(ops, plan_id)
    if not row["locked_at"]:
        raise VisitError(f"visit plan {plan_id} is not locked; lock it before the seed is chosen")
    if row["drawn_at"]:
        raise VisitError(f"visit plan {plan_id} was already drawn on {row['drawn_at'][:10]}")
    try:
        population = locked_population(store, row["population_file"], row["population_sha256"])
    except PlanError as exc:
        raise VisitError(str(exc)) from exc
    plan = json.loads(row["spec"])
    with contextlib.closing(store.reader()) as con:
        pool = [
            {"visitor_id": i, "office_code": o, "name": n}
            for i, o, n in rows(con, duck_sql("inspection.visitor_pool"), {"s": plan["scope"]})
        ]
        cases = rows(con, duck_sql("inspection.visit_cases"), {"y": int(plan["year"]), "s": plan["scope"]})
    handlers = {f"{o}|{c}": list(h or []) for o, c, h, _ in cases}
    mediated = {(o, c) for o, c, _, kind in cases if kind == "mediated"}
    try:
        manifest = make_visit_manifest(
            plan=plan,
            population=population,
            seed=seed,
            pool=pool,
            handlers=handlers,
            created_at=_now(),
            created_by=actor,
        )
    except DrawError as exc:
        raise VisitError(str(exc)) from exc
    manifest["draw_id"] = f"{plan_id}-D1"
    digest = manifest_sha256(manifest)
    with ops.write() as con:
        done = con.execute(
            op_sql("visits.draw"),
            (
                seed,
                json.dumps(manifest, ensure_ascii=False, sort_keys=True),
                digest,
                manifest["created_at"],
                actor,
                plan_id,
            ),
        ).rowcount
        if not done:
            raise VisitError(f"visit plan {plan_id} was drawn meanwhile")
        bump(con, VISITS)
        con.executemany(
            op_sql("visits.insert_visit"),
            [
                (
                    plan_id,
                    a["office_code"],
                    a["case_no"],
                    a["visitor_id"],
                    int((a["office_code"], a["case_no"]) in mediated),
                )
                for a in manifest["assignments"]
            ],
        )
        audit.append(
            con,
            actor=actor,
            action="visit_plan.draw",
            target=plan_id,
            detail={"seed": seed, "manifest_sha256": digest, "visits": len(manifest["assignments"])},
        )
    return manifest


def plan_titles(ops: OpStore) -> dict[str, str]:
    """Visit plan -> its title (its id when it has none), without reading the visits."""
    return {r["plan_id"]: json.loads(r["spec"]).get("title") or r["plan_id"] for r in ops.read(op_sql("visits.plans"))}


def list_visit_plans(ops: OpStore) -> list[dict]:
    """Every visit plan, its spec parsed, with how many visits it has and how many are recorded."""
    visits = [dict(r) for r in ops.read(op_sql("visits.all_visits"))]
    out = []
    for r in ops.read(op_sql("visits.plans")):
        p = {k: v for k, v in dict(r).items() if k != "manifest"}
        p["spec"] = json.loads(p["spec"])
        mine = [v for v in visits if v["plan_id"] == p["plan_id"]]
        p["visits"], p["recorded"] = len(mine), sum(1 for v in mine if v["recorded_at"])
        out.append(p)
    return out


def manifest_of(ops: OpStore, plan_id: str) -> dict:
    row = _plan_row(ops, plan_id)
    if not row["manifest"]:
        raise VisitError(f"visit plan {plan_id} is not drawn yet")
    return json.loads(row["manifest"])


def list_visits(
    ops: OpStore,
    *,
    plan_id: str | None = None,
    offices: set[str] | None = None,
    visitor: str | None = None,
    year: int | None = None,
) -> list[dict]:
    """Visits (recorded or not) limited to `offices` (None: all), a plan, a visitor, a plan year."""
    ops.note(VISITS)
    plans = ops.read(op_sql("visits.plans"))
    years = {r["plan_id"]: json.loads(r["spec"])["year"] for r in plans}
    names = {
        (r["plan_id"], p["visitor_id"]): p.get("name") or p["visitor_id"]
        for r in plans
        if r["manifest"]
        for p in json.loads(r["manifest"])["visitor_pool"]
    }
    out = []
    for r in ops.read(op_sql("visits.all_visits")):
        v = dict(r)
        if plan_id is not None and v["plan_id"] != plan_id:
            continue
        if offices is not None and v["office_code"] not in offices:
            continue
        if visitor is not None and v["visitor_id"] != visitor:
            continue
        if year is not None and years.get(v["plan_id"]) != year:
            continue
        v["year"] = years.get(v["plan_id"])
        v["visitor_name"] = names.get((v["plan_id"], v["visitor_id"]), v["visitor_id"])
        out.append(v)
    return out


def record_visit(
    ops: OpStore,
    plan_id: str,
    office_code: str,
    case_no: str,
    *,
    reached: bool,
    satisfaction: int | None,
    fulfilment: str | None,
    complaint: str | None,
    visited_on: dt.date,
    actor: str,
    user: User | None = None,
    resource: policy.Archive | None = None,
    today: dt.date | None = None,
) -> dict:
    """Record one visit (once); a notice for the case's office when the plan's rules say the visit
    calls for one, in the same transaction. `user` and `resource` (the case as the policy's
    resource, `assigned` when the user is its visitor): a record from the web, which the policy must
    allow. Without `user` the record is the command line's."""
    found = ops.read(op_sql("visits.visit"), (plan_id, office_code, case_no))
    if not found:
        raise VisitError(f"case {case_no} of office {office_code} is not a visit of plan {plan_id}")
    visit = dict(found[0])
    if user is not None:
        if resource is None or resource.office.code != office_code:
            raise VisitError(f"the visit is not of office {resource.office.code if resource else '?'}")
        if not policy.require(
            ops, actor=user, action="visit.record", resource=resource, what=f"record visit {plan_id}/{case_no}"
        ):
            raise PermissionError(f"you may not record the visit of case {case_no}")
    if visit["recorded_at"]:
        raise VisitError(f"the visit of case {case_no} was already recorded on {visit['recorded_at'][:10]}")
    plan_row = _plan_row(ops, plan_id)
    plan = json.loads(plan_row["spec"])
    today = today or dt.date.today()
    if visited_on > today:
        raise VisitError(f"the visit date {visited_on} is in the future")
    if visited_on < dt.date.fromisoformat(plan_row["drawn_at"][:10]):
        raise VisitError(f"the visit date {visited_on} is before the plan was drawn ({plan_row['drawn_at'][:10]})")
    complaint = (complaint or "").strip()
    if len(complaint) > MAX_COMPLAINT:
        raise VisitError(f"the complaint is {len(complaint)} characters; at most {MAX_COMPLAINT}")
    if not reached:
        if satisfaction is not None or fulfilment is not None:
            raise VisitError("the party was not reached: give no satisfaction and no fulfilment")
    else:
        if satisfaction is None or not 1 <= satisfaction <= 5:
            raise VisitError("satisfaction: 1 (very unsatisfied) to 5 (very satisfied), for a party reached")
        if visit["mediated"] and fulfilment not in FULFILMENT:
            raise VisitError(
                "fulfilment: the case was closed by mediation; say whether the agreement was carried out "
                "(yes, partly or no)"
            )
        if not visit["mediated"] and fulfilment is not None:
            raise VisitError("fulfilment: only for a case closed by mediation")
    rules = plan["visits"]
    reasons = []
    if reached and satisfaction is not None and satisfaction <= int(rules["unsatisfied_at_most"]):
        reasons.append("unsatisfied")
    if reached and fulfilment in rules["notice_on_fulfilment"]:
        reasons.append("agreement_not_carried_out")
    now = _now()
    with ops.write() as con:
        bump(con, VISITS)
        notice_id = None
        if reasons:
            k = con.execute(op_sql("visits.notices_of"), (plan_id, office_code)).fetchone()["n"] + 1
            notice_id = f"V-{plan_id}-{office_code}-{k}"
            days = int(plan.get("rectification", {}).get("due_working_days", DEFAULT_DUE_WORKING_DAYS))
            day, weekdays_only = due_date(dt.date.fromisoformat(now[:10]), days)
            finding = {
                "case_no": case_no,
                "grade": "visit",
                "total": None,
                "veto": [],
                "lost": [],
                "inspector_id": visit["visitor_id"],
                "visit": {
                    "reasons": reasons,
                    "satisfaction": satisfaction,
                    "fulfilment": fulfilment,
                    "complaint": complaint or None,
                    "visited_on": visited_on.isoformat(),
                },
            }
            insert_notice(
                con,
                notice_id=notice_id,
                plan_id=plan_id,
                draw_id=f"{plan_id}-D1",
                office=office_code,
                findings=[finding],
                due=(day.isoformat(), weekdays_only),
                at=now,
                actor=actor,
            )
        done = con.execute(
            op_sql("visits.record"),
            (
                int(reached),
                satisfaction,
                fulfilment,
                complaint or None,
                visited_on.isoformat(),
                now,
                actor,
                notice_id,
                plan_id,
                office_code,
                case_no,
            ),
        ).rowcount
        if not done:
            raise VisitError(f"the visit of case {case_no} was recorded meanwhile; look at it again")
        audit.append(
            con,
            actor=actor,
            action="visit.record",
            target=f"{plan_id}/{office_code}/{case_no}",
            detail={
                "reached": reached,
                "satisfaction": satisfaction,
                "fulfilment": fulfilment,
                "complaint": complaint[:500] or None,
                "visited_on": visited_on.isoformat(),
                "notice": notice_id,
            },
        )
    return dict(ops.read(op_sql("visits.visit"), (plan_id, office_code, case_no))[0])


def _rate(k: int, n: int) -> dict:
    if n == 0:
        return {"k": 0, "n": 0, "rate": None, "low": None, "high": None}
    lo, hi = clopper_pearson(np.array([k]), np.array([n]))
    return {"k": k, "n": n, "rate": k / n, "low": float(lo[0]), "high": float(hi[0])}


def figures(visits: list[dict]) -> dict:
    """The figures of a set of visits (docs/inspection.md, "Return visits"; fixture worked by hand):
    coverage = parties reached / cases drawn; mean satisfaction of the parties reached;
    fulfilment = agreements carried out fully / mediated cases reached; each rate with its 95%
    Clopper–Pearson interval; and how many visits are recorded, unsatisfied, and opened a notice."""
    drawn = len(visits)
    recorded = [v for v in visits if v["recorded_at"]]
    reached = [v for v in recorded if v["reached"]]
    scores = [int(v["satisfaction"]) for v in reached if v["satisfaction"] is not None]
    mediated = [v for v in reached if v["mediated"] and v["fulfilment"]]
    return {
        "drawn": drawn,
        "recorded": len(recorded),
        "coverage": _rate(len(reached), drawn),
        "satisfaction": {
            "n": len(scores),
            "mean": sum(scores) / len(scores) if scores else None,
            "distribution": [scores.count(k) for k in range(1, 6)],  # parties answering 1, 2, 3, 4, 5
        },
        "fulfilment": _rate(sum(1 for v in mediated if v["fulfilment"] == "yes"), len(mediated)),
        "complaints": sum(1 for v in recorded if v["complaint"]),
        "notices": sum(1 for v in recorded if v["notice_id"]),
    }


def figures_by_office(visits: list[dict]) -> dict[str, dict]:
    """`figures` of each office's visits."""
    by: dict[str, list[dict]] = {}
    for v in visits:
        by.setdefault(v["office_code"], []).append(v)
    return {office: figures(mine) for office, mine in sorted(by.items())}

"""Appraisal results of a draw and their publication (SPEC §4.3).

Per office: mean score, grade counts, unqualified rate with its 95% Clopper–Pearson interval and
the projected number of unqualified archives among the office's archives in the plan's population:
the stratified estimate Σ N_h·p_h over the office's strata (N_h the stratum's population, p_h its
appraised sample's unqualified rate), so that a stratum sampled more densely than another does not
weigh more than its archives do (`stratified_projection`).
Every office of the population is listed, with its population and sample size, also before any of
its archives is appraised. Publishing stores a snapshot of these results in the operational store,
with its audit entry in the same transaction: what the public page shows cannot change afterwards,
except that voiding the draw withdraws it (the page then says so, when and why).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from typing import TypedDict

import numpy as np

from access import audit
from access.opstore import OpStore
from ingest.contract import default_contract
from inspection.draw import Manifest, read_population
from inspection.plans import PlanError, resolve_path
from inspection.rectification import open_notices
from metrics.indicators import clopper_pearson
from queries.statements import duck_sql, op_sql
from queries.store import Store, rows

MIN_REASON = 5


class StandingDraw(TypedDict):
    draw_id: str
    manifest: Manifest


def standing_draw(ops: OpStore, plan_id: str) -> StandingDraw:
    """The plan's draw that has not been voided (there is at most one)."""
    found = ops.read(op_sql("plans.standing_draw"), (plan_id,))
    if not found:
        raise PlanError(f"plan {plan_id} has no standing draw")
    return {"draw_id": found[0]["draw_id"], "manifest": json.loads(found[0]["manifest"])}


def plan_record(ops: OpStore, plan_id: str) -> dict:
    found = ops.read(op_sql("plans.by_id"), (plan_id,))
    if not found:
        raise PlanError(f"no plan {plan_id}")
    return dict(found[0])


class Projection(TypedDict):
    estimate: float | None
    interval: list[float] | None
    strata_unappraised: int


def stratified_projection(strata: dict[str, tuple[int, int, int]], level: float = 0.95) -> Projection:
    """The projected number of unqualified archives Σ N_h·p_h of one office, with its interval.

    `strata`: {stratum: (N_h population, n_h appraised, x_h unqualified)}. The interval sums each
    stratum's Clopper–Pearson bounds taken at the level 1 − (1 − `level`)/H (Bonferroni over the H
    strata), times N_h: all H intervals hold together with probability at least `level`, so the sum
    does too; with one stratum it is the plain 95% interval times N. While a stratum with archives
    has none appraised, there is no estimate (`strata_unappraised` says how many)."""
    present = {h: v for h, v in strata.items() if v[0] > 0}
    missing = sum(1 for big_n, n, _ in present.values() if n == 0)
    if not present or missing:
        return {"estimate": None, "interval": None, "strata_unappraised": missing}
    big_n = np.array([v[0] for v in present.values()], float)
    n = np.array([v[1] for v in present.values()], float)
    x = np.array([v[2] for v in present.values()], float)
    lo, hi = clopper_pearson(x, n, level=1 - (1 - level) / len(present))
    return {
        "estimate": round(float((big_n * x / n).sum()), 1),
        "interval": [round(float((big_n * lo).sum()), 1), round(float((big_n * hi).sum()), 1)],
        "strata_unappraised": 0,
    }


TYPICAL_NOTES = 3


def typical_notes(notes: list[str | None], lost: list[float]) -> list[dict]:
    """The inspectors' notes on one item's deductions that recur most: the same words (spaces and
    trailing punctuation aside) counted once per archive, with the points those archives lost;
    the `TYPICAL_NOTES` most frequent (then most points, then the text), for the released report."""
    tally: dict[str, list[float]] = {}
    for note, points in zip(notes, lost, strict=True):
        text = " ".join((note or "").split()).rstrip("。.；;，, ")
        if text and points > 0:
            tally.setdefault(text, []).append(points)
    ranked = sorted(tally.items(), key=lambda kv: (-len(kv[1]), -sum(kv[1]), kv[0]))
    return [
        {"note": text, "archives": len(points), "points": round(sum(points), 2)}
        for text, points in ranked[:TYPICAL_NOTES]
    ]


def items_lost(appraisals: list[dict], province_of: dict[str, str]) -> dict:
    """Where the appraised archives lost points, item by item: for the whole scope and for each
    province. Each entry: the item, its labels and maximum, the archives appraised, how many lost
    points on it, the points lost and their share of the points available, and the inspectors'
    notes on it that recur most (`typical`); the most lost first."""
    contract = default_contract()

    def table(rows: list[dict]) -> list[dict]:
        # each archive against the checklist it was scored under (a draw's are all of its plan's)
        scored = [(r, contract.checklist_of(r.get("checklist_version")), json.loads(r["scores"])) for r in rows]
        out = []
        for item in contract.items:
            mine = [(r, cl.item(item.id), s) for r, cl, s in scored if item.id in s and cl.item(item.id)]
            if not mine:
                continue
            lost = [it.max - float(s[item.id]) for _, it, s in mine if it is not None]
            available = sum(it.max for _, it, _ in mine if it is not None)
            points = round(sum(lost), 2)
            notes = [json.loads(r["notes"]).get(item.id) if r.get("notes") else None for r, _, _ in mine]
            out.append(
                {
                    "item": item.id,
                    "zh": item.zh,
                    "en": item.en,
                    "max": max(it.max for _, it, _ in mine if it is not None),
                    "archives": len(mine),
                    "with_loss": sum(1 for x in lost if x > 0),
                    "points": points,
                    "share": round(points / available, 4) if available else None,
                    "typical": typical_notes(notes, lost),
                }
            )
        return sorted(out, key=lambda e: (-e["points"], e["item"]))

    provinces: dict[str, list[dict]] = {}
    for r in appraisals:
        provinces.setdefault(province_of.get(r["office_code"], r["office_code"]), []).append(r)
    return {"scope": table(appraisals), "provinces": {p: table(rows) for p, rows in sorted(provinces.items())}}


def draw_results(ops: OpStore, store: Store, plan_id: str) -> dict:
    """The results of the plan's standing draw, office by office (every office of the population)."""
    draw = standing_draw(ops, plan_id)
    manifest = draw["manifest"]
    plan = plan_record(ops, plan_id)
    items = read_population(resolve_path(store, plan["population_file"]).read_bytes())
    population = Counter(i.office_code for i in items)
    stratum_population = Counter((i.office_code, i.stratum) for i in items)
    stratum_of = {(s["office_code"], s["case_no"]): s["stratum"] for s in manifest["sample"]}
    sampled = Counter(s["office_code"] for s in manifest["sample"])
    got: dict[str, list] = {}
    for r in ops.read(op_sql("appraisals.totals_of_draw"), (draw["draw_id"],)):
        stratum = stratum_of.get((r["office_code"], r["case_no"]))
        got.setdefault(r["office_code"], []).append((Decimal(r["total"]), r["grade"], stratum))
    codes = sorted(set(population) | set(sampled))
    checklist = default_contract().checklist_of(manifest["plan"].get("checklist"))
    with contextlib.closing(store.reader()) as con:
        province_of = dict(rows(con, duck_sql("offices.provinces")))
        provinces = sorted({province_of.get(c, c) for c in codes})
        names = dict(rows(con, duck_sql("offices.names"), {"c": sorted({*codes, *provinces})}))
        scope_name = (
            names.get(manifest["plan"]["scope"])
            or (rows(con, duck_sql("offices.name"), {"s": manifest["plan"]["scope"]}) or [(None,)])[0][0]
        )
    offices = []
    for code in codes:
        mine = got.get(code, [])
        n = len(mine)
        grades = Counter(g for _, g, _ in mine)
        row = {
            "office_code": code,
            "name": names.get(code, code),
            "population": population.get(code, 0),
            "sampled": sampled.get(code, 0),
            "appraised": n,
            "mean_score": None,
            "excellent": grades["excellent"],
            "qualified": grades["qualified"],
            "unqualified": grades["unqualified"],
            "grades": {g.id: grades[g.id] for g in checklist.grades},  # every grade of the plan's checklist
            "unqualified_rate": None,
            "interval": None,
            "projected_unqualified": None,
            "projected_interval": None,
            "strata_unappraised": None,
        }
        if n:
            lo, hi = clopper_pearson(np.array([grades["unqualified"]]), np.array([n]))
            strata = {
                h: (
                    big_n,
                    sum(1 for _, _, sh in mine if sh == h),
                    sum(1 for _, g, sh in mine if sh == h and g == "unqualified"),
                )
                for (office, h), big_n in stratum_population.items()
                if office == code
            }
            projection = stratified_projection(strata)
            row.update(
                mean_score=round(float(sum(t for t, _, _ in mine) / n), 2),
                unqualified_rate=grades["unqualified"] / n,
                interval=[float(lo[0]), float(hi[0])],
                projected_unqualified=projection["estimate"],
                projected_interval=projection["interval"],
                strata_unappraised=projection["strata_unappraised"],
            )
        offices.append(row)
    appraised = sum(o["appraised"] for o in offices)
    return {
        "plan_id": plan_id,
        "draw_id": draw["draw_id"],
        "year": manifest["plan"]["year"],
        "scope": manifest["plan"]["scope"],
        "scope_name": scope_name,
        "title": manifest["plan"].get("title"),
        "population": sum(population.values()),
        "sampled": len(manifest["sample"]),
        "appraised": appraised,
        "unappraised": len(manifest["sample"]) - appraised,
        "checklist": checklist.version,
        "grades": [{"id": g.id, "zh": g.zh, "en": g.en, "min": g.min} for g in checklist.grades],
        "population_sha256": plan["population_sha256"],
        "manifest_sha256": ops.read(op_sql("plans.manifest_sha256"), (draw["draw_id"],))[0]["manifest_sha256"],
        "offices": offices,
        "items_lost": items_lost(
            [dict(r) for r in ops.read(op_sql("appraisals.of_draw"), (draw["draw_id"],))], province_of
        ),
        "province_names": {p: names.get(p) or p for p in provinces},
    }


def publish(ops: OpStore, store: Store, plan_id: str, *, actor: str, partial_reason: str | None = None) -> dict:
    """Publish the standing draw's results. While sampled archives are still unappraised the
    publication is refused unless `partial_reason` says why it may go out partial; the reason is
    recorded with it, shown on `/public` and written to the audit log."""
    results = draw_results(ops, store, plan_id)
    reason = (partial_reason or "").strip() or None
    if results["unappraised"] and (reason is None or len(reason) < MIN_REASON):
        raise PlanError(
            f"{results['unappraised']} of {results['sampled']} sampled archives are not appraised yet; "
            f"publish a partial result only with a reason (at least {MIN_REASON} characters)"
        )
    if not results["unappraised"]:
        reason = None
    results["partial_reason"] = reason
    with ops.write() as con:
        if con.execute(op_sql("publications.exists"), (plan_id,)).fetchone():
            raise PlanError(f"plan {plan_id} is already published")
        standing = con.execute(op_sql("plans.standing_draw_ids"), (plan_id,)).fetchone()
        if standing is None or standing["draw_id"] != results["draw_id"]:
            raise PlanError(f"the draw of plan {plan_id} changed meanwhile; look at the results again")
        results["audit_anchor"] = audit.anchor(ops, con)  # the published copy anchors the audit log
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        con.execute(
            op_sql("publications.insert"),
            (plan_id, results["draw_id"], now, actor, json.dumps(results, ensure_ascii=False), reason),
        )
        audit.append(
            con,
            actor=actor,
            action="plan.publish",
            target=plan_id,
            detail={
                "draw_id": results["draw_id"],
                "offices": len(results["offices"]),
                "unappraised": results["unappraised"],
                "partial_reason": reason,
            },
        )
        # What the inspection found goes back to the offices: one notice each, in this transaction.
        spec = json.loads(plan_record(ops, plan_id)["spec"])
        results["rectification_notices"] = open_notices(
            con, plan=spec, draw_id=results["draw_id"], published_at=now, actor=actor
        )
    return results


def correct(ops: OpStore, store: Store, plan_id: str, *, actor: str, reason: str) -> dict:
    """Publish corrected results of a published plan (an appraisal changed after publication): a
    new, dated snapshot naming the one it replaces. Nothing published before is changed; a withdrawn
    publication is not corrected, and a correction that changes nothing is refused."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise PlanError(f"say why the published results are corrected (at least {MIN_REASON} characters)")
    results = draw_results(ops, store, plan_id)
    with ops.write() as con:
        original = con.execute(op_sql("publications.one"), (plan_id,)).fetchone()
        if original is None:
            raise PlanError(f"plan {plan_id} is not published; publish it first")
        if original["withdrawn_at"]:
            raise PlanError(f"the publication of plan {plan_id} was withdrawn; it is not corrected")
        if original["draw_id"] != results["draw_id"]:
            raise PlanError(f"the draw of plan {plan_id} changed since publication; look at the results again")
        earlier = con.execute(op_sql("publications.corrections_of"), (plan_id,)).fetchall()
        current = earlier[-1] if earlier else original
        if json.loads(current["results"])["offices"] == results["offices"]:
            raise PlanError(f"the results of plan {plan_id} are those published on {current['published_at'][:10]}")
        version = (earlier[-1]["version"] if earlier else 1) + 1
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results["audit_anchor"] = audit.anchor(ops, con)
        con.execute(
            op_sql("publications.insert_correction"),
            (
                plan_id,
                version,
                results["draw_id"],
                now,
                actor,
                json.dumps(results, ensure_ascii=False),
                reason,
                current["published_at"],
            ),
        )
        audit.append(
            con,
            actor=actor,
            action="plan.correct",
            target=plan_id,
            detail={"version": version, "replaces": current["published_at"], "reason": reason},
        )
    return {**results, "version": version, "replaces": current["published_at"], "reason": reason}


def published(ops: OpStore) -> list[dict]:
    """Every published plan's current snapshot, newest first: all the public may see (withdrawn ones
    say so). A corrected plan shows its latest correction, with `versions`: every snapshot it was
    published as (version 1 the original), each dated and naming the one it replaced."""
    corrections: dict[str, list] = {}
    for c in ops.read(op_sql("publications.corrections")):
        corrections.setdefault(c["plan_id"], []).append(c)
    out = []
    for r in ops.read(op_sql("publications.all")):
        later = corrections.get(r["plan_id"], [])
        versions = [{"version": 1, "published_at": r["published_at"], "reason": None, "replaces": None}]
        versions += [
            {
                "version": c["version"],
                "published_at": c["published_at"],
                "reason": c["reason"],
                "replaces": c["replaces"],
            }
            for c in later
        ]
        current = later[-1] if later else r
        out.append(
            {
                **json.loads(current["results"]),
                "published_at": current["published_at"],
                "first_published_at": r["published_at"],
                "partial_reason": r["partial_reason"],
                "withdrawn_at": r["withdrawn_at"],
                "withdraw_reason": r["withdraw_reason"],
                "versions": versions,
            }
        )
    return out


def published_version(ops: OpStore, plan_id: str, version: int) -> dict | None:
    """The snapshot of one published version of a plan (1: the original), as it was published."""
    if version == 1:
        found = ops.read(op_sql("publications.one"), (plan_id,))
        return json.loads(found[0]["results"]) if found else None
    for c in ops.read(op_sql("publications.corrections_of"), (plan_id,)):
        if c["version"] == version:
            return json.loads(c["results"])
    return None

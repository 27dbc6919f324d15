"""Appraisal results of a draw and their publication (SPEC §4.3).

Per office: mean score, grade counts, unqualified rate with its 95% Clopper–Pearson interval and
the projected number of unqualified archives among the office's archives in the plan's population.
Publishing stores a snapshot of these results: what the public page shows cannot change afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections import Counter
from pathlib import Path

from access import audit
from access.opstore import OpStore
from inspection.draw import read_population
from inspection.plans import PUBLICATION_SCHEMA, PlanError, _ensure
from metrics.indicators import clopper_pearson
from queries.store import Store, rows



def standing_draw(ops: OpStore, plan_id: str) -> dict:
    _ensure(ops)
    found = ops.read("SELECT draw_id, manifest FROM draws WHERE plan_id = ? AND voided_at IS NULL", (plan_id,))
    if not found:
        raise PlanError(f"plan {plan_id} has no standing draw")
    return {"draw_id": found[0]["draw_id"], "manifest": json.loads(found[0]["manifest"])}


def draw_results(ops: OpStore, store: Store, plan_id: str) -> dict:
    """The results of the plan's standing draw, office by office."""
    draw = standing_draw(ops, plan_id)
    manifest = draw["manifest"]
    file = ops.read("SELECT population_file FROM plans WHERE plan_id = ?", (plan_id,))[0]["population_file"]
    population = Counter(i.office_code for i in read_population(Path(file).read_bytes()))
    sampled: dict[str, int] = {}
    for s in manifest["sample"]:
        sampled[s["office_code"]] = sampled.get(s["office_code"], 0) + 1
    with contextlib.closing(store.reader()) as con:
        got = rows(con, """SELECT a.office_code, o.name, count(*), avg(a.total),
                count(*) FILTER (WHERE a.grade = 'excellent'), count(*) FILTER (WHERE a.grade = 'qualified'),
                count(*) FILTER (WHERE a.grade = 'unqualified')
            FROM appraisals AS a JOIN offices AS o ON o.office_code = a.office_code
            WHERE a.draw_id = $d GROUP BY a.office_code, o.name ORDER BY a.office_code""", {"d": draw["draw_id"]})
    offices = []
    for code, name, n, mean, exc, qual, unq in got:
        lo, hi = clopper_pearson([unq], [n])
        rate = unq / n
        offices.append({"office_code": code, "name": name, "sampled": sampled.get(code, 0), "appraised": n,
                        "mean_score": round(float(mean), 2), "excellent": exc, "qualified": qual,
                        "unqualified": unq, "unqualified_rate": rate, "interval": [float(lo[0]), float(hi[0])],
                        "population": population.get(code),
                        "projected_unqualified": round(rate * population[code], 1) if code in population else None})
    return {"plan_id": plan_id, "draw_id": draw["draw_id"], "year": manifest["plan"]["year"],
            "scope": manifest["plan"]["scope"], "sampled": len(manifest["sample"]), "offices": offices}


def publish(ops: OpStore, store: Store, plan_id: str, *, actor: str) -> dict:
    results = draw_results(ops, store, plan_id)
    with ops.write() as con:
        con.execute(PUBLICATION_SCHEMA)
        if con.execute("SELECT 1 FROM publications WHERE plan_id = ?", (plan_id,)).fetchone():
            raise PlanError(f"plan {plan_id} is already published")
        con.execute("INSERT INTO publications VALUES (?, ?, ?, ?, ?)",
                    (plan_id, results["draw_id"], dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     actor, json.dumps(results, ensure_ascii=False)))
    audit.record(ops, actor=actor, action="plan.publish", target=plan_id,
                 detail={"draw_id": results["draw_id"], "offices": len(results["offices"])})
    return results


def published(ops: OpStore) -> list[dict]:
    """Every published plan's snapshot, newest first: all the public may see."""
    with ops.write() as con:
        con.execute(PUBLICATION_SCHEMA)
    return [{**json.loads(r["results"]), "published_at": r["published_at"]}
            for r in ops.read("SELECT * FROM publications ORDER BY published_at DESC, plan_id")]

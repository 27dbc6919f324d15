"""The return-visit draw (回访, issue 18 item 3): concluded cases drawn by the published SHA-256
algorithm of inspections, each assigned one visitor who never handled it and is not of its office.

Algorithm `sha256-visit-v1`, short enough to recompute by hand (README, "Return visits"):
1. The sample is that of SPEC §4.2: within each stratum of the locked population, archives sorted
   by `SHA-256(seed + "|" + plan_id + "|" + office_code + "|" + case_no)` (lowercase hex), the
   first n drawn, n from the plan's rule.
2. Visitors: the sampled cases are taken in order of their key; for each, the pool's visitors
   (active, certified) who are not of the case's office, whose id and name are not among the case's
   handlers, and who have fewer than the plan's `[visits] workload_cap` cases yet, are sorted by
   `SHA-256(seed + "|visit|" + office_code + "|" + case_no + "|" + visitor_id)`; the first is
   assigned. A case no visitor may take fails the draw, naming the case.
The manifest carries the pool and each sampled case's handlers, so `ipdash verify-draw` recomputes
it from the population file alone.

Storage of visit plans, the visits' records and their figures are not built yet (see the issue).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from inspection.draw import DrawError, Drawn, population_frame, sha256_hex, sizes_from_counts
from inspection.draw import _sample as sample_of

VISIT_ALGORITHM = "sha256-visit-v1"
DEFAULT_VISIT_CAP = 10


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
    sample = sample_of(frame, seed=seed, plan_id=plan["plan_id"], sizes=sizes)
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

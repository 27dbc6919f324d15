"""The verifiable draw of SPEC §4.2, as pure functions anyone can re-run from the published files.

Nothing here reads the store: the population file (sorted, hashed at lock time), the plan's
parameters and the inspector pool go in; the manifest comes out. `verify` recomputes a manifest
from the population file alone and lists every difference.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass

from inspection.sample_size import attribute_sample_size, ratio_sample_size

ALGORITHM = "sha256-consistent-v1"
POPULATION_HEADER = ["office_code", "case_no", "stratum"]


class DrawError(ValueError):
    """The draw cannot be made as planned (names the office or stratum)."""


@dataclass(frozen=True)
class Item:
    office_code: str
    case_no: str
    stratum: str


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def population_file(items: list[Item]) -> bytes:
    """UTF-8 CSV, LF line ends, header office_code,case_no,stratum, rows sorted by office_code, case_no."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POPULATION_HEADER)
    for it in sorted(items, key=lambda i: (i.office_code, i.case_no)):
        w.writerow([it.office_code, it.case_no, it.stratum])
    return buf.getvalue().encode("utf-8")


def read_population(data: bytes) -> list[Item]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if not rows or rows[0] != POPULATION_HEADER:
        raise DrawError(f"the population file must start with the header {','.join(POPULATION_HEADER)}")
    return [Item(r[0], r[1], r[2]) for r in rows[1:] if r]


def stratum_sizes(items: list[Item], rule: dict) -> dict[str, dict[str, int]]:
    """{stratum: {"population": N, "sample": n}} under the plan's rule (ratio or statistical)."""
    counts = Counter(i.stratum for i in items)
    out = {}
    for stratum, n_pop in sorted(counts.items()):
        if rule.get("kind", "ratio") == "ratio":
            n = ratio_sample_size(n_pop, ratio=float(rule.get("ratio", 0.05)),
                                  minimum=int(rule.get("min_per_stratum", 2)),
                                  maximum=int(rule.get("max_per_stratum", 20)))
        else:
            n = min(n_pop, attribute_sample_size(confidence=float(rule.get("confidence", 0.95)),
                                                 tolerable=float(rule.get("tolerable", 0.05)),
                                                 expected=float(rule.get("expected", 0.0)),
                                                 population=n_pop).n)
        out[stratum] = {"population": n_pop, "sample": n}
    return out


def draw_sample(items: list[Item], *, seed: str, plan_id: str, sizes: dict[str, dict[str, int]]) -> list[dict]:
    """Within each stratum, items sorted by SHA-256(seed|plan_id|office_code|case_no), first n drawn."""
    keyed = [(sha256_hex(f"{seed}|{plan_id}|{i.office_code}|{i.case_no}"), i) for i in items]
    sample = []
    for stratum in sorted(sizes):
        members = sorted((k, i.office_code, i.case_no, i) for k, i in keyed if i.stratum == stratum)
        for key, _, _, item in members[: sizes[stratum]["sample"]]:
            sample.append({"office_code": item.office_code, "case_no": item.case_no, "stratum": stratum, "key": key})
    return sample


def _province(code: str) -> str:
    return code[:2] + "0000"


def assign_inspectors(sample: list[dict], *, seed: str, pool: list[dict], per_office: int, workload_cap: int,
                      exclude: list[str]) -> list[dict]:
    """Offices in SHA-256(seed|office|code) order; each takes the first `per_office` eligible inspectors
    by SHA-256(seed|inspector|office|id). Eligible: in the pool, no conflict, under the workload cap
    (the number of offices an inspector is assigned to in this plan)."""
    offices = sorted({s["office_code"] for s in sample}, key=lambda c: (sha256_hex(f"{seed}|office|{c}"), c))
    load: Counter[str] = Counter()
    assignments = []
    for office in offices:
        eligible = []
        for ins in pool:
            if "own_office" in exclude and ins["office_code"] == office:
                continue
            if "own_province" in exclude and _province(ins["office_code"]) == _province(office):
                continue
            if load[ins["inspector_id"]] >= workload_cap:
                continue
            eligible.append(ins)
        eligible.sort(key=lambda i: (sha256_hex(f"{seed}|inspector|{office}|{i['inspector_id']}"), i["inspector_id"]))
        if len(eligible) < per_office:
            raise DrawError(f"office {office} can get only {len(eligible)} eligible inspectors, {per_office} needed "
                            "(conflict rules and workload caps leave too few; enlarge the pool or raise the cap)")
        for ins in eligible[:per_office]:
            load[ins["inspector_id"]] += 1
            assignments.append({"office_code": office, "inspector_id": ins["inspector_id"]})
    return assignments


def make_manifest(*, plan: dict, population: bytes, seed: str, pool: list[dict], created_at: str,
                  created_by: str) -> dict:
    """The whole draw: everything needed to recompute it is in the returned manifest."""
    items = read_population(population)
    sizes = stratum_sizes(items, plan.get("rule", {}))
    sample = draw_sample(items, seed=seed, plan_id=plan["plan_id"], sizes=sizes)
    ins = plan.get("inspectors", {})
    assignments = assign_inspectors(sample, seed=seed, pool=pool, per_office=int(ins.get("per_office", 2)),
                                    workload_cap=int(ins.get("workload_cap", 6)),
                                    exclude=list(ins.get("exclude", ["own_office", "own_province"])))
    return {"plan_id": plan["plan_id"], "seed": seed, "algorithm": ALGORITHM,
            "population_sha256": hashlib.sha256(population).hexdigest(), "plan": plan,
            "inspector_pool": sorted(pool, key=lambda i: i["inspector_id"]), "stratum_sizes": sizes,
            "sample": sample, "assignments": assignments, "created_at": created_at, "created_by": created_by}


def manifest_sha256(manifest: dict) -> str:
    return sha256_hex(json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":")))


def verify(manifest: dict, population: bytes) -> list[str]:
    """Recompute `manifest` from `population` and its own parameters; return every difference."""
    problems = []
    if manifest.get("algorithm") != ALGORITHM:
        problems.append(f"unknown algorithm {manifest.get('algorithm')!r}; this verifier implements {ALGORITHM}")
        return problems
    digest = hashlib.sha256(population).hexdigest()
    if digest != manifest.get("population_sha256"):
        problems.append(f"population file SHA-256 {digest} differs from the manifest's {manifest.get('population_sha256')}")
    try:
        again = make_manifest(plan=manifest["plan"], population=population, seed=manifest["seed"],
                              pool=manifest["inspector_pool"], created_at=manifest["created_at"],
                              created_by=manifest["created_by"])
    except (DrawError, KeyError, ValueError) as exc:
        return problems + [f"cannot recompute the draw: {exc}"]
    for part in ("stratum_sizes", "sample", "assignments"):
        if again[part] != manifest.get(part):
            problems.append(f"{part} differ from the recomputed draw")
    return problems

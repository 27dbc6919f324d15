"""Inspection plans, locking and draws on record (SPEC §4.1–4.2), in the operational store.

A plan is created from TOML (defaults of SPEC §4.1 filled in), locked before its seed is known
(the population file is written and its SHA-256 recorded; the population cannot change after), and
drawn once with a seed typed in after locking. A second draw is refused unless an administrator
voids the first with a reason; both stay on record. Every step is written to the audit log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import tomllib
from pathlib import Path

from access import audit
from access.opstore import OpStore
from inspection.draw import Item, make_manifest, manifest_sha256, population_file
from queries.loader import in_subtree
from queries.store import Store, rows

PUBLICATION_SCHEMA = """CREATE TABLE IF NOT EXISTS publications (
    plan_id TEXT PRIMARY KEY, draw_id TEXT NOT NULL, published_at TEXT NOT NULL, published_by TEXT NOT NULL,
    results TEXT NOT NULL)"""
PLAN_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS plans (
        plan_id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        locked_at TEXT, population_sha256 TEXT, population_file TEXT)""",
    """CREATE TABLE IF NOT EXISTS draws (
        draw_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, seed TEXT NOT NULL, manifest TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
        voided_at TEXT, voided_by TEXT, void_reason TEXT)""",
    PUBLICATION_SCHEMA,
]
DEFAULTS = {"population": "closed_in_year", "strata": ["office_code", "case_kind"],
            "rule": {"kind": "ratio", "ratio": 0.05, "min_per_stratum": 2, "max_per_stratum": 20},
            "inspectors": {"per_office": 2, "workload_cap": 6, "exclude": ["own_office", "own_province"]}}
STRATA_COLUMNS = {"office_code", "case_kind", "patent_type", "source"}


class PlanError(ValueError):
    """The plan, lock or draw cannot be done as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _ensure(ops: OpStore) -> None:
    with ops.write() as con:
        for statement in PLAN_SCHEMA:
            con.execute(statement)


def parse_plan(text: str) -> dict:
    """The plan of a TOML text with every default filled in; PlanError naming the key on a problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"the plan is not valid TOML ({exc})") from exc
    plan = {**DEFAULTS, **raw, "rule": {**DEFAULTS["rule"], **raw.get("rule", {})},
            "inspectors": {**DEFAULTS["inspectors"], **raw.get("inspectors", {})}}
    if not isinstance(plan.get("year"), int):
        raise PlanError("year: required, a whole year such as 2024")
    plan.setdefault("scope", "100000")
    plan["scope"] = str(plan["scope"])
    plan.setdefault("plan_id", f"{plan['year']}-{plan['scope']}-{hashlib.sha256(text.encode()).hexdigest()[:8]}")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", str(plan["plan_id"])):
        raise PlanError("plan_id: 1–64 letters, digits, '.', '_' or '-'")
    if plan["population"] != "closed_in_year":
        raise PlanError("population: only 'closed_in_year' is supported")
    if not set(plan["strata"]) <= STRATA_COLUMNS or not plan["strata"]:
        raise PlanError(f"strata: choose from {', '.join(sorted(STRATA_COLUMNS))}")
    rule = plan["rule"]
    if rule["kind"] not in ("ratio", "statistical"):
        raise PlanError("rule.kind: 'ratio' or 'statistical'")
    if rule["kind"] == "ratio" and not (0 < float(rule["ratio"]) <= 1 and 1 <= int(rule["min_per_stratum"])
                                        <= int(rule["max_per_stratum"])):
        raise PlanError("rule: need 0 < ratio <= 1 and 1 <= min_per_stratum <= max_per_stratum")
    ins = plan["inspectors"]
    if int(ins["per_office"]) < 1 or int(ins["workload_cap"]) < 1:
        raise PlanError("inspectors: per_office and workload_cap must be at least 1")
    if not set(ins["exclude"]) <= {"own_office", "own_province"}:
        raise PlanError("inspectors.exclude: 'own_office' and/or 'own_province'")
    return plan


def create_plan(ops: OpStore, store: Store, text: str, *, actor: str) -> dict:
    plan = parse_plan(text)
    with contextlib.closing(store.reader()) as con:
        if not rows(con, "SELECT 1 FROM offices WHERE office_code = $c", {"c": plan["scope"]}):
            raise PlanError(f"scope: office {plan['scope']} is not in the office roster")
    _ensure(ops)
    with ops.write() as con:
        if con.execute("SELECT 1 FROM plans WHERE plan_id = ?", (plan["plan_id"],)).fetchone():
            raise PlanError(f"plan {plan['plan_id']} already exists")
        con.execute("INSERT INTO plans (plan_id, spec, created_at, created_by) VALUES (?, ?, ?, ?)",
                    (plan["plan_id"], json.dumps(plan, ensure_ascii=False, sort_keys=True), _now(), actor))
    audit.record(ops, actor=actor, action="plan.create", target=plan["plan_id"], detail=plan)
    return plan


def _plan_row(ops: OpStore, plan_id: str):
    _ensure(ops)
    found = ops.read("SELECT * FROM plans WHERE plan_id = ?", (plan_id,))
    if not found:
        raise PlanError(f"no plan {plan_id}")
    return found[0]


def population_items(store: Store, plan: dict) -> list[Item]:
    """Cases closed in the plan's year below its scope, with their stratum."""
    strata = " || '|' || ".join(f"c.{s}" for s in plan["strata"])
    with contextlib.closing(store.reader()) as con:
        got = rows(con, f"""SELECT c.office_code, c.case_no, {strata} FROM cases AS c
            JOIN offices AS o ON o.office_code = c.office_code
            WHERE year(c.closed_date) = $y AND {in_subtree("o", "s")}""",
                   {"y": int(plan["year"]), "s": plan["scope"]})
    return [Item(o, c, s) for o, c, s in got]


def lock_plan(ops: OpStore, store: Store, plan_id: str, *, out_dir: Path, actor: str) -> dict:
    row = _plan_row(ops, plan_id)
    if row["locked_at"]:
        raise PlanError(f"plan {plan_id} is already locked (population {row['population_sha256']})")
    plan = json.loads(row["spec"])
    items = population_items(store, plan)
    if not items:
        raise PlanError(f"plan {plan_id}: no cases closed in {plan['year']} below {plan['scope']}")
    data = population_file(items)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plan_id}-population.csv"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    with ops.write() as con:
        done = con.execute("UPDATE plans SET locked_at = ?, population_sha256 = ?, population_file = ? "
                           "WHERE plan_id = ? AND locked_at IS NULL", (_now(), digest, str(path), plan_id)).rowcount
    if not done:
        raise PlanError(f"plan {plan_id} was locked meanwhile")
    audit.record(ops, actor=actor, action="plan.lock", target=plan_id,
                 detail={"population_sha256": digest, "population": len(items), "file": str(path)})
    return {"plan_id": plan_id, "population_file": str(path), "population_sha256": digest, "population": len(items)}


def inspector_pool(store: Store) -> list[dict]:
    with contextlib.closing(store.reader()) as con:
        got = rows(con, "SELECT inspector_id, office_code FROM inspectors WHERE active AND certified ORDER BY 1")
    return [{"inspector_id": i, "office_code": o} for i, o in got]


def run_draw(ops: OpStore, store: Store, plan_id: str, *, seed: str, actor: str, wait: float = 0.0) -> dict:
    """The draw of a locked plan; refused while an earlier draw of it stands."""
    if not seed.strip():
        raise PlanError("the seed must not be empty")
    row = _plan_row(ops, plan_id)
    if not row["locked_at"]:
        raise PlanError(f"plan {plan_id} is not locked; lock it before the seed is chosen")
    standing = ops.read("SELECT draw_id FROM draws WHERE plan_id = ? AND voided_at IS NULL", (plan_id,))
    if standing:
        raise PlanError(f"plan {plan_id} was already drawn ({standing[0]['draw_id']}); an administrator must void "
                        "that draw with a reason first")
    population = Path(row["population_file"]).read_bytes()
    if hashlib.sha256(population).hexdigest() != row["population_sha256"]:
        raise PlanError(f"the population file {row['population_file']} no longer matches the hash recorded at lock")
    manifest = make_manifest(plan=json.loads(row["spec"]), population=population, seed=seed,
                             pool=inspector_pool(store), created_at=_now(), created_by=actor)
    digest = manifest_sha256(manifest)
    count = len(ops.read("SELECT 1 FROM draws WHERE plan_id = ?", (plan_id,)))
    draw_id = f"{plan_id}-D{count + 1}"
    manifest["draw_id"] = draw_id
    with ops.write() as con:
        con.execute("INSERT INTO draws (draw_id, plan_id, seed, manifest, manifest_sha256, created_at, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (draw_id, plan_id, seed,
                                                     json.dumps(manifest, ensure_ascii=False, sort_keys=True),
                                                     digest, manifest["created_at"], actor))
    with store.writer(wait=wait) as con:   # appraisals naming this draw may only score the archives it sampled
        con.executemany("INSERT INTO draw_samples VALUES (?, ?, ?)",
                        [(draw_id, s["office_code"], s["case_no"]) for s in manifest["sample"]])
    audit.record(ops, actor=actor, action="draw", target=draw_id,
                 detail={"plan_id": plan_id, "seed": seed, "manifest_sha256": digest,
                         "sample": len(manifest["sample"]), "assignments": len(manifest["assignments"])})
    return manifest


def void_draw(ops: OpStore, draw_id: str, *, reason: str, actor: str) -> None:
    if len(reason.strip()) < 5:
        raise PlanError("give the reason for voiding (at least 5 characters)")
    _ensure(ops)
    with ops.write() as con:
        done = con.execute("UPDATE draws SET voided_at = ?, voided_by = ?, void_reason = ? "
                           "WHERE draw_id = ? AND voided_at IS NULL", (_now(), actor, reason, draw_id)).rowcount
    if not done:
        raise PlanError(f"no standing draw {draw_id}")
    audit.record(ops, actor=actor, action="draw.void", target=draw_id, detail={"reason": reason})


def archives_of_inspector(ops: OpStore, inspector_id: str) -> list[tuple[str, str]]:
    """(office_code, case_no) of every archive assigned to `inspector_id` in a standing draw."""
    _ensure(ops)
    out: list[tuple[str, str]] = []
    for row in ops.read("SELECT manifest FROM draws WHERE voided_at IS NULL ORDER BY draw_id"):
        manifest = json.loads(row["manifest"])
        offices = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == inspector_id}
        out += [(s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in offices]
    return sorted(set(out))


def list_plans(ops: OpStore) -> list[dict]:
    """Every plan with its lock, its draws (standing and voided) and whether it is published."""
    _ensure(ops)
    plans = [dict(r) for r in ops.read("SELECT plan_id, spec, created_at, created_by, locked_at, population_sha256 "
                                       "FROM plans ORDER BY created_at DESC, plan_id")]
    draws = [dict(r) for r in ops.read("SELECT draw_id, plan_id, seed, manifest_sha256, created_at, created_by, "
                                       "voided_at, voided_by, void_reason FROM draws ORDER BY draw_id")]
    published = {r["plan_id"]: r["published_at"] for r in ops.read("SELECT plan_id, published_at FROM publications")}
    for p in plans:
        p["spec"] = json.loads(p["spec"])
        p["draws"] = [d for d in draws if d["plan_id"] == p["plan_id"]]
        p["published_at"] = published.get(p["plan_id"])
    return plans


def standing_assignments(ops: OpStore, inspector_id: str) -> list[tuple[str, str]]:
    """(plan_id, draw_id) of every standing draw that assigns archives to `inspector_id`."""
    _ensure(ops)
    out = []
    for row in ops.read("SELECT plan_id, draw_id, manifest FROM draws WHERE voided_at IS NULL ORDER BY draw_id"):
        if any(a["inspector_id"] == inspector_id for a in json.loads(row["manifest"])["assignments"]):
            out.append((row["plan_id"], row["draw_id"]))
    return out

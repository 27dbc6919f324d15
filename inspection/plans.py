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
import os
import re
import threading
import tomllib
import weakref
from pathlib import Path
from typing import Any

from sqlglot import exp

from access import audit
from access.opstore import OpStore, bump
from ingest.contract import default_contract
from inspection.draw import Item, Manifest, make_manifest, manifest_sha256, population_file
from inspection.rectification import DEFAULT_DUE_WORKING_DAYS
from queries.statements import duck_sql, op_sql, select_tree
from queries.store import Store, rows

DEFAULTS: dict[str, Any] = {
    "population": "closed_in_year",
    "exclude_pending_review": True,  # SPEC §4.3: archives under reconsideration or litigation are not appraised
    "strata": ["office_code", "case_kind"],
    "rule": {"kind": "ratio", "ratio": 0.05, "min_per_stratum": 2, "max_per_stratum": 20},
    "inspectors": {"per_office": 2, "workload_cap": 6, "exclude": ["own_office", "own_province"]},
}
STRATA_COLUMNS = {"office_code", "case_kind", "patent_type", "source"}


class PlanError(ValueError):
    """The plan, lock or draw cannot be done as asked; the message says why."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def stored_path(store: Store, path: Path) -> str:
    """`path` as recorded: relative to the store's directory, so every command finds it from any
    working directory (and the store's directory can move as a whole)."""
    return os.path.relpath(Path(path).resolve(), store.path.parent.resolve())


def resolve_path(store: Store, recorded: str) -> Path:
    """The file a recorded path names (relative to the store's directory; older records may be
    absolute)."""
    return store.path.parent / recorded if not os.path.isabs(recorded) else Path(recorded)


def parse_plan(text: str) -> dict:
    """The plan of a TOML text with every default filled in; PlanError naming the key on a problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"the plan is not valid TOML ({exc})") from exc
    plan = {
        **DEFAULTS,
        **raw,
        "rule": {**DEFAULTS["rule"], **raw.get("rule", {})},
        "inspectors": {**DEFAULTS["inspectors"], **raw.get("inspectors", {})},
    }
    if not isinstance(plan.get("year"), int):
        raise PlanError("year: required, a whole year such as 2024")
    plan.setdefault("scope", "100000")
    plan["scope"] = str(plan["scope"])
    plan.setdefault("plan_id", f"{plan['year']}-{plan['scope']}-{hashlib.sha256(text.encode()).hexdigest()[:8]}")
    if not valid_plan_id(plan["plan_id"]):
        raise PlanError("plan_id: 1–64 letters, digits, '.', '_' or '-'")
    if not isinstance(plan.get("title", ""), str) or len(plan.get("title", "")) > 200:
        raise PlanError("title: a text of at most 200 characters (shown on the public page)")
    if plan["population"] != "closed_in_year":
        raise PlanError("population: only 'closed_in_year' is supported")
    if not isinstance(plan["exclude_pending_review"], bool):
        raise PlanError("exclude_pending_review: true or false")
    if not set(plan["strata"]) <= STRATA_COLUMNS or not plan["strata"]:
        raise PlanError(f"strata: choose from {', '.join(sorted(STRATA_COLUMNS))}")
    rule = plan["rule"]
    if rule["kind"] not in ("ratio", "statistical"):
        raise PlanError("rule.kind: 'ratio' or 'statistical'")
    if rule["kind"] == "ratio" and not (
        0 < float(rule["ratio"]) <= 1 and 1 <= int(rule["min_per_stratum"]) <= int(rule["max_per_stratum"])
    ):
        raise PlanError("rule: need 0 < ratio <= 1 and 1 <= min_per_stratum <= max_per_stratum")
    ins = plan["inspectors"]
    if int(ins["per_office"]) < 1 or int(ins["workload_cap"]) < 1:
        raise PlanError("inspectors: per_office and workload_cap must be at least 1")
    if not set(ins["exclude"]) <= {"own_office", "own_province"}:
        raise PlanError("inspectors.exclude: 'own_office' and/or 'own_province'")
    known = default_contract().checklists
    plan.setdefault("checklist", default_contract().checklist.version)
    if plan["checklist"] not in known:
        raise PlanError(
            f"checklist: '{plan['checklist']}' is not a configured checklist version; use one of {', '.join(known)}"
        )
    days = plan.setdefault("rectification", {}).setdefault("due_working_days", DEFAULT_DUE_WORKING_DAYS)
    if not isinstance(days, int) or not 1 <= days <= 250:
        raise PlanError("rectification.due_working_days: a whole number of working days from 1 to 250")
    return plan


def check_scope(store: Store, plan: dict) -> None:
    """PlanError unless the plan's scope is an office of the roster."""
    with contextlib.closing(store.reader()) as con:
        if not rows(con, duck_sql("offices.exists"), {"c": plan["scope"]}):
            raise PlanError(f"scope: office {plan['scope']} is not in the office roster")


def write_population(store: Store, plan_id: str, items: list[Item], out_dir: Path) -> tuple[Path, str, str]:
    """Write a plan's population file (atomically); its path, SHA-256 and path as recorded."""
    data = population_file(items)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plan_id}-population.csv"
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path, hashlib.sha256(data).hexdigest(), stored_path(store, path)


def locked_population(store: Store, recorded: str, digest: str) -> bytes:
    """The population file recorded at lock, checked against its SHA-256 (PlanError otherwise)."""
    path = resolve_path(store, recorded)
    try:
        population = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"the population file {path} recorded at lock cannot be read ({exc.strerror})") from exc
    if hashlib.sha256(population).hexdigest() != digest:
        raise PlanError(f"the population file {path} no longer matches the hash recorded at lock")
    return population


def create_plan(ops: OpStore, store: Store, text: str, *, actor: str) -> dict:
    plan = parse_plan(text)
    check_scope(store, plan)
    with ops.write() as con:
        if con.execute(op_sql("plans.exists"), (plan["plan_id"],)).fetchone():
            raise PlanError(f"plan {plan['plan_id']} already exists")
        con.execute(
            op_sql("plans.insert"),
            (plan["plan_id"], json.dumps(plan, ensure_ascii=False, sort_keys=True), _now(), actor),
        )
        audit.append(con, actor=actor, action="plan.create", target=plan["plan_id"], detail=plan)
    return plan


def valid_plan_id(plan_id: object) -> bool:
    """1–64 letters, digits, '.', '_' or '-' (what a plan id may be)."""
    return isinstance(plan_id, str) and re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", plan_id) is not None


def _plan_row(ops: OpStore, plan_id: str):
    found = ops.read(op_sql("plans.by_id"), (plan_id,))
    if not found:
        raise PlanError(f"no plan {plan_id}")
    return found[0]


def population_items(store: Store, plan: dict) -> tuple[list[Item], int]:
    """Cases closed in the plan's year below its scope, with their stratum; and how many archives
    were left out because their review is still pending (0 when the plan keeps them)."""
    stratum: exp.Expr = exp.column(plan["strata"][0], table="c")  # validated against STRATA_COLUMNS
    for column in plan["strata"][1:]:
        joined = exp.DPipe(this=stratum, expression=exp.Literal.string("|"))
        stratum = exp.DPipe(this=joined, expression=exp.column(column, table="c"))
    query = select_tree(duck_sql("inspection.population")).select(exp.alias_(stratum, "stratum"))
    exclude = bool(plan.get("exclude_pending_review", True))  # plans created before the key: the default
    params = {"y": int(plan["year"]), "s": plan["scope"]}
    with contextlib.closing(store.reader()) as con:
        got = rows(con, query.sql(dialect="duckdb"), {**params, "exclude_pending": exclude})
        pending = int(rows(con, duck_sql("inspection.population_pending"), params)[0][0]) if exclude else 0
    return [Item(o, c, s) for o, c, s in got], pending


def lock_plan(ops: OpStore, store: Store, plan_id: str, *, out_dir: Path, actor: str) -> dict:
    row = _plan_row(ops, plan_id)
    if row["locked_at"]:
        raise PlanError(f"plan {plan_id} is already locked (population {row['population_sha256']})")
    plan = json.loads(row["spec"])
    items, pending = population_items(store, plan)
    if not items:
        raise PlanError(
            f"plan {plan_id}: no cases closed in {plan['year']} below {plan['scope']}"
            + (f" other than {pending} still under reconsideration or litigation" if pending else "")
        )
    path, digest, recorded = write_population(store, plan_id, items, out_dir)
    with ops.write() as con:
        done = con.execute(
            op_sql("plans.lock"),
            (_now(), digest, recorded, plan_id),
        ).rowcount
        if not done:
            raise PlanError(f"plan {plan_id} was locked meanwhile")
        audit.append(
            con,
            actor=actor,
            action="plan.lock",
            target=plan_id,
            detail={
                "population_sha256": digest,
                "population": len(items),
                "excluded_pending_review": pending,
                "file": recorded,
            },
        )
    return {
        "plan_id": plan_id,
        "population_file": str(path),
        "population_sha256": digest,
        "population": len(items),
        "excluded_pending_review": pending,
    }


def draw_inputs(store: Store) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The inspector pool and each office's province in the office tree (the national office:
    itself, for the own-province rule), read on one connection so both come from one data version."""
    with contextlib.closing(store.reader()) as con:
        pool = [{"inspector_id": i, "office_code": o} for i, o in rows(con, duck_sql("inspection.inspector_pool"))]
        return pool, dict(rows(con, duck_sql("offices.provinces")))


def run_draw(ops: OpStore, store: Store, plan_id: str, *, seed: str, actor: str) -> Manifest:
    """The draw of a locked plan; refused while an earlier draw of it stands.

    The draw, its sample and its audit entry are one transaction of the operational store: it is
    on record whole or not at all, whatever else (an ingest, another draw) is writing meanwhile."""
    if not seed.strip():
        raise PlanError("the seed must not be empty")
    row = _plan_row(ops, plan_id)
    if not row["locked_at"]:
        raise PlanError(f"plan {plan_id} is not locked; lock it before the seed is chosen")
    _refuse_standing(ops.read(op_sql("plans.standing_draw_ids"), (plan_id,)), plan_id)
    population = locked_population(store, row["population_file"], row["population_sha256"])
    pool, provinces = draw_inputs(store)
    manifest = make_manifest(
        plan=json.loads(row["spec"]),
        population=population,
        seed=seed,
        pool=pool,
        provinces=provinces,
        created_at=_now(),
        created_by=actor,
    )
    digest = manifest_sha256(manifest)
    with ops.write() as con:
        _refuse_standing(
            con.execute(op_sql("plans.standing_draw_ids"), (plan_id,)).fetchall(),
            plan_id,
        )
        count = con.execute(op_sql("plans.draw_count"), (plan_id,)).fetchone()["n"]
        draw_id = f"{plan_id}-D{count + 1}"
        manifest["draw_id"] = draw_id
        manifest["audit_anchor"] = audit.anchor(ops, con)  # a copy of the manifest anchors the audit log
        con.execute(
            op_sql("plans.insert_draw"),
            (
                draw_id,
                plan_id,
                seed,
                json.dumps(manifest, ensure_ascii=False, sort_keys=True),
                digest,
                manifest["created_at"],
                actor,
            ),
        )
        con.executemany(
            op_sql("plans.insert_sample"),
            [(draw_id, s["office_code"], s["case_no"]) for s in manifest["sample"]],
        )
        bump(con, "draws")
        audit.append(
            con,
            actor=actor,
            action="draw",
            target=draw_id,
            detail={
                "plan_id": plan_id,
                "seed": seed,
                "manifest_sha256": digest,
                "sample": len(manifest["sample"]),
                "assignments": len(manifest["assignments"]),
            },
        )
    return manifest


def _refuse_standing(standing: list, plan_id: str) -> None:
    if standing:
        raise PlanError(
            f"plan {plan_id} was already drawn ({standing[0]['draw_id']}); an administrator must void "
            "that draw with a reason first"
        )


def void_draw(ops: OpStore, draw_id: str, *, reason: str, actor: str) -> dict:
    """Void a standing draw with a reason. A published result of it is withdrawn in the same
    transaction: `/public` then says it was withdrawn, when and why. Returns what was done."""
    if len(reason.strip()) < 5:
        raise PlanError("give the reason for voiding (at least 5 characters)")
    with ops.write() as con:
        now = _now()
        done = con.execute(
            op_sql("plans.void_draw"),
            (now, actor, reason, draw_id),
        ).rowcount
        if not done:
            raise PlanError(f"no standing draw {draw_id}")
        withdrawn = con.execute(
            op_sql("publications.withdraw"),
            (now, actor, reason, draw_id),
        ).rowcount
        bump(con, "draws")
        audit.append(
            con,
            actor=actor,
            action="draw.void",
            target=draw_id,
            detail={"reason": reason, "publication_withdrawn": bool(withdrawn)},
        )
    return {"draw_id": draw_id, "publication_withdrawn": bool(withdrawn)}


_STANDING: weakref.WeakKeyDictionary[OpStore, tuple[int, list[tuple[str, str, dict]]]] = weakref.WeakKeyDictionary()
_STANDING_LOCK = threading.Lock()


def standing_draws(ops: OpStore) -> list[tuple[str, str, dict]]:
    """(plan_id, draw_id, manifest) of every standing draw, parsed once per change of the `draws`
    counter (raised by every draw and void): a manifest holds the whole sample, and every
    inspector's request read and parsed them all."""
    version = ops.versions().get("draws", 0)
    with _STANDING_LOCK:
        held = _STANDING.get(ops)
    if held is not None and held[0] == version:
        return held[1]
    parsed = [(r["plan_id"], r["draw_id"], json.loads(r["manifest"])) for r in ops.read(op_sql("plans.standing_draws"))]
    if ops.versions().get("draws", 0) == version:  # nothing drawn or voided meanwhile
        with _STANDING_LOCK:
            _STANDING[ops] = (version, parsed)
    return parsed


def archives_of_inspector(ops: OpStore, inspector_id: str) -> list[tuple[str, str]]:
    """(office_code, case_no) of every archive assigned to `inspector_id` in a standing draw."""
    out: list[tuple[str, str]] = []
    for _plan, _draw, manifest in standing_draws(ops):
        offices = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == inspector_id}
        out += [(s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in offices]
    return sorted(set(out))


def list_plans(ops: OpStore) -> list[dict]:
    """Every plan with its lock, its draws (standing and voided) and whether it is published."""
    plans = [dict(r) for r in ops.read(op_sql("plans.all"))]
    draws = [dict(r) for r in ops.read(op_sql("plans.all_draws"))]
    published = {r["plan_id"]: r["published_at"] for r in ops.read(op_sql("publications.dates"))}
    for p in plans:
        p["spec"] = json.loads(p["spec"])
        p["draws"] = [d for d in draws if d["plan_id"] == p["plan_id"]]
        p["published_at"] = published.get(p["plan_id"])
    return plans


def standing_assignments(ops: OpStore, inspector_id: str) -> list[tuple[str, str]]:
    """(plan_id, draw_id) of every standing draw that assigns archives to `inspector_id`."""
    return [
        (plan_id, draw_id)
        for plan_id, draw_id, manifest in standing_draws(ops)
        if any(a["inspector_id"] == inspector_id for a in manifest["assignments"])
    ]


def recorded_appraisals(ops: OpStore, inspector_id: str) -> dict[tuple[str, str, str], dict]:
    """{(draw_id, office_code, case_no): the stored appraisal} of the archives assigned to
    `inspector_id` in standing draws that are already appraised (by anyone)."""
    out = {}
    for _plan_id, draw_id in standing_assignments(ops, inspector_id):
        for r in ops.read(op_sql("appraisals.of_draw"), (draw_id,)):
            out[(draw_id, r["office_code"], r["case_no"])] = _appraisal(r)
    return out


def recorded_appraisal(ops: OpStore, inspector_id: str, archive: tuple[str, str, str]) -> dict | None:
    """`recorded_appraisals(ops, inspector_id).get(archive)`, reading that one archive only."""
    draw_id = archive[0]
    if not any(d == draw_id for _plan, d in standing_assignments(ops, inspector_id)):
        return None
    got = ops.read(op_sql("appraisals.one_of_draw"), archive)
    return _appraisal(got[0]) if got else None


def _appraisal(r) -> dict:
    return {
        **dict(r),
        "scores": json.loads(r["scores"]),
        "veto": json.loads(r["veto"]),
        "notes": json.loads(r["notes"]) if r["notes"] else {},
        "defects": json.loads(r["defects"]) if r["defects"] else {},
    }

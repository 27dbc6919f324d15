"""The return-visit draw `sha256-visit-v1` (issue 18 item 3), checked against a second implementation
written from its description in docs/inspection.md ("Return visits"), and through `ipdash verify-draw`."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from inspection.draw import DrawError, Item, population_file, sizes_from_counts
from inspection.visits import make_visit_manifest
from tests.conftest import ipdash_cli


def h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reference(population: list[Item], plan: dict, seed: str, pool: list[dict], handlers: dict) -> tuple[list, list]:
    """The description in docs/inspection.md, step by step, with nothing from inspection.visits."""
    strata: dict[str, list[Item]] = {}
    for it in population:
        strata.setdefault(it.stratum, []).append(it)
    sizes = sizes_from_counts({s: len(v) for s, v in strata.items()}, plan["rule"])
    sample = []
    for stratum in sorted(strata):
        keyed = sorted(strata[stratum], key=lambda i: h(f"{seed}|{plan['plan_id']}|{i.office_code}|{i.case_no}"))
        sample += [(i.office_code, i.case_no) for i in keyed[: sizes[stratum]["sample"]]]
    load: dict[str, int] = {}
    out = []
    for office, case_no in sorted(sample, key=lambda c: h(f"{seed}|{plan['plan_id']}|{c[0]}|{c[1]}")):
        handled = handlers.get(f"{office}|{case_no}", [])
        ok = [
            v
            for v in pool
            if v["office_code"] != office
            and v["visitor_id"] not in handled
            and v["name"] not in handled
            and load.get(v["visitor_id"], 0) < plan["visits"]["workload_cap"]
        ]
        best = sorted(ok, key=lambda v: h(f"{seed}|visit|{office}|{case_no}|{v['visitor_id']}"))[0]
        load[best["visitor_id"]] = load.get(best["visitor_id"], 0) + 1
        out.append({"office_code": office, "case_no": case_no, "visitor_id": best["visitor_id"]})
    return sorted(sample), out


def world(seed: int) -> tuple[list[Item], dict, list[dict], dict]:
    rnd = random.Random(seed)
    offices = ["330100", "330102", "320100", "320102"]
    population = [
        Item(o, f"{o}-{k}", f"{o}|{rnd.choice(['infringement_dispute', 'counterfeit'])}")
        for o in offices
        for k in range(rnd.randint(8, 30))
    ]
    pool = [{"visitor_id": f"V{k}", "office_code": rnd.choice(offices), "name": f"访员{k}"} for k in range(8)]
    handlers = {
        f"{i.office_code}|{i.case_no}": rnd.sample(["访员0", "访员1", "V2", "张三", "李四"], 2) for i in population
    }
    plan = {
        "plan_id": "VIS",
        "rule": {"kind": "ratio", "ratio": 0.2, "min_per_stratum": 1, "max_per_stratum": 4},
        "visits": {"workload_cap": 6},
    }
    return population, plan, pool, handlers


@pytest.mark.parametrize("seed", range(6))
def test_the_second_implementation_agrees(seed: int) -> None:
    population, plan, pool, handlers = world(seed)
    got = make_visit_manifest(
        plan=plan,
        population=population_file(population),
        seed=f"s{seed}",
        pool=pool,
        handlers=handlers,
        created_at="2025-01-01T00:00:00+00:00",
        created_by="t",
    )
    sample, assignments = reference(population, plan, f"s{seed}", pool, handlers)
    assert sorted((s["office_code"], s["case_no"]) for s in got["sample"]) == sample
    assert got["assignments"] == assignments
    by_id = {v["visitor_id"]: v for v in pool}
    for a in got["assignments"]:  # the rules themselves, whatever the implementation
        visitor = by_id[a["visitor_id"]]
        assert visitor["office_code"] != a["office_code"]
        assert {visitor["visitor_id"], visitor["name"]}.isdisjoint(handlers[f"{a['office_code']}|{a['case_no']}"])


def test_a_case_no_visitor_may_take_fails_naming_it() -> None:
    population = [Item("330100", "A-1", "330100|x")]
    pool = [
        {"visitor_id": "V1", "office_code": "330100", "name": "甲"},
        {"visitor_id": "V2", "office_code": "320100", "name": "乙"},
    ]
    plan = {"plan_id": "VIS", "rule": {"kind": "ratio", "ratio": 1.0, "min_per_stratum": 1, "max_per_stratum": 1}}
    with pytest.raises(DrawError, match="no visitor may take case A-1 of office 330100"):
        make_visit_manifest(
            plan=plan,
            population=population_file(population),
            seed="1",
            pool=pool,
            handlers={"330100|A-1": ["乙"]},
            created_at="x",
            created_by="t",
        )


def test_verify_draw_recomputes_a_visit_manifest(tmp_path: Path) -> None:
    population, plan, pool, handlers = world(7)
    data = population_file(population)
    manifest = make_visit_manifest(
        plan=plan,
        population=data,
        seed="2025",
        pool=pool,
        handlers=handlers,
        created_at="2025-01-01T00:00:00+00:00",
        created_by="t",
    )
    (tmp_path / "pop.csv").write_bytes(data)
    (tmp_path / "m.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    ok = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "pop.csv"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    manifest["assignments"][0]["visitor_id"] = "V-forged"
    (tmp_path / "m.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    bad = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "pop.csv"))
    assert bad.returncode == 1 and "assignments differ" in bad.stdout

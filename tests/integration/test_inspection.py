"""Sample sizes against the published AICPA tables; the draw of SPEC §4.2 and its verification."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspection.draw import (
    ALGORITHM_V1,
    DrawError,
    Item,
    assign_inspectors,
    draw_sample,
    make_manifest,
    population_file,
    prefix_provinces,
)
from inspection.sample_size import attribute_sample_size, ratio_sample_size
from inspection.verify import verify
from tests import dash_helpers as dh
from tests.conftest import ipdash_cli
from tests.dash_helpers import login

# AICPA Audit Sampling guide, Tables: statistical sample sizes for tests of controls,
# 5% and 10% risk of overreliance, as printed: "n (expected number of deviations)"; "*" where the
# guide prints no size (too large to be cost-effective). Columns: tolerable deviation rate; rows:
# expected population deviation rate.
TOLERABLE = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]
AICPA = {
    0.95: """
0.00  149(0) 99(0)  74(0)  59(0)  49(0)  42(0)  36(0)  32(0)  29(0)
0.25  236(1) 157(1) 117(1) 93(1)  78(1)  66(1)  58(1)  51(1)  46(1)
0.50  *      157(1) 117(1) 93(1)  78(1)  66(1)  58(1)  51(1)  46(1)
0.75  *      208(2) 117(1) 93(1)  78(1)  66(1)  58(1)  51(1)  46(1)
1.00  *      *      156(2) 93(1)  78(1)  66(1)  58(1)  51(1)  46(1)
1.25  *      *      156(2) 124(2) 78(1)  66(1)  58(1)  51(1)  46(1)
1.50  *      *      192(3) 124(2) 103(2) 66(1)  58(1)  51(1)  46(1)
1.75  *      *      227(4) 153(3) 103(2) 88(2)  77(2)  51(1)  46(1)
2.00  *      *      *      181(4) 127(3) 88(2)  77(2)  68(2)  46(1)
""",
    0.90: """
0.00  114(0) 76(0)  57(0)  45(0)  38(0)  32(0)  28(0)  25(0)  22(0)
0.25  194(1) 129(1) 96(1)  77(1)  64(1)  55(1)  48(1)  42(1)  38(1)
0.50  194(1) 129(1) 96(1)  77(1)  64(1)  55(1)  48(1)  42(1)  38(1)
0.75  265(2) 129(1) 96(1)  77(1)  64(1)  55(1)  48(1)  42(1)  38(1)
1.00  *      176(2) 96(1)  77(1)  64(1)  55(1)  48(1)  42(1)  38(1)
1.25  *      221(3) 132(2) 77(1)  64(1)  55(1)  48(1)  42(1)  38(1)
1.50  *      *      132(2) 105(2) 64(1)  55(1)  48(1)  42(1)  38(1)
1.75  *      *      166(3) 105(2) 88(2)  55(1)  48(1)  42(1)  38(1)
2.00  *      *      198(4) 132(3) 88(2)  75(2)  48(1)  42(1)  38(1)
""",
}


def aicpa_cells() -> list[tuple[float, float, float, int, int]]:
    """(confidence, tolerable, expected, n, deviations) of every cell the tables print."""
    out = []
    for confidence, table in AICPA.items():
        for line in table.strip().splitlines():
            rate, *cells = line.split()
            for tolerable, cell in zip(TOLERABLE, cells, strict=True):
                if cell != "*":
                    n, d = cell.rstrip(")").split("(")
                    out.append((confidence, tolerable, float(rate) / 100, int(n), int(d)))
    return out


def test_the_tables_hold_every_printed_cell() -> None:
    cells = aicpa_cells()
    assert len(cells) == 2 * 81 - 13 - 8  # 13 and 8 cells unprinted at 95% and 90%


@pytest.mark.parametrize("confidence, tolerable, expected, n, d", aicpa_cells())
def test_attribute_sample_sizes_reproduce_the_aicpa_tables(confidence, tolerable, expected, n, d) -> None:
    got = attribute_sample_size(confidence=confidence, tolerable=tolerable, expected=expected)
    assert (got.n, got.allowed_deviations) == (n, d)


def test_small_populations_take_the_hypergeometric_size() -> None:
    assert attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=100_000).n == 59
    small = attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=100)
    assert small.method == "hypergeometric" and small.n < 59
    assert attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=20).n <= 20
    for bad in (
        {"confidence": 1.2, "tolerable": 0.05, "expected": 0},
        {"confidence": 0.95, "tolerable": 0.05, "expected": 0.06},
    ):
        with pytest.raises(ValueError):
            attribute_sample_size(**bad)


@pytest.mark.parametrize("population, n", [(1, 1), (2, 2), (10, 2), (40, 2), (41, 3), (100, 5), (399, 20), (1000, 20)])
def test_ratio_rule(population: int, n: int) -> None:
    assert ratio_sample_size(population, ratio=0.05, minimum=2, maximum=20) == n


def test_sample_size_cli(tmp_path: Path) -> None:
    done = ipdash_cli("sample-size", "--confidence", "0.95", "--tolerable", "0.05", "--expected", "0", "--json")
    assert json.loads(done.stdout) == {"n": 59, "allowed_deviations": 0, "method": "binomial"}
    bad = ipdash_cli("sample-size", "--confidence", "0.95", "--tolerable", "0.05", "--expected", "0.2")
    assert bad.returncode == 2 and "below the tolerable" in bad.stderr


ITEMS = [
    Item(f"{o}", f"C{k:03d}", f"{o}|infringement_dispute") for o in ("330100", "320100", "110100") for k in range(30)
]
POOL = [
    {"inspector_id": f"I{k}", "office_code": code}
    for k, code in enumerate(["330100", "330200", "320100", "320200", "110100", "110200", "440100", "510100"])
]
# The test's office tree: each office lies in the province of its code's first two digits.
TREE = prefix_provinces({i.office_code for i in ITEMS} | {p["office_code"] for p in POOL})
PLAN = {
    "plan_id": "2024-test",
    "year": 2024,
    "rule": {"kind": "ratio", "ratio": 0.1, "min_per_stratum": 2, "max_per_stratum": 20},
    "inspectors": {"per_office": 2, "workload_cap": 2, "exclude": ["own_office", "own_province"]},
}


def test_the_sample_is_the_lowest_sha256_keys_within_each_stratum() -> None:
    sizes = {s: {"population": 30, "sample": 3} for s in {i.stratum for i in ITEMS}}
    got = draw_sample(ITEMS, seed="12345678901234567890", plan_id="2024-test", sizes=sizes)
    for stratum in sizes:
        keys = sorted(
            (
                hashlib.sha256(f"12345678901234567890|2024-test|{i.office_code}|{i.case_no}".encode()).hexdigest(),
                i.case_no,
            )
            for i in ITEMS
            if i.stratum == stratum
        )
        assert [g["case_no"] for g in got if g["stratum"] == stratum] == [c for _, c in keys[:3]]
    shuffled = ITEMS[:]
    random.Random(4).shuffle(shuffled)
    assert draw_sample(shuffled, seed="12345678901234567890", plan_id="2024-test", sizes=sizes) == got
    assert draw_sample(ITEMS, seed="other", plan_id="2024-test", sizes=sizes) != got


def test_inspectors_never_conflict_and_respect_the_workload_cap() -> None:
    sample = [{"office_code": o, "case_no": "x", "stratum": o} for o in ("330100", "320100", "110100")]
    got = assign_inspectors(
        sample,
        seed="s",
        pool=POOL,
        per_office=2,
        workload_cap=2,
        exclude=["own_office", "own_province"],
        provinces=TREE,
    )
    by_id = {p["inspector_id"]: p["office_code"] for p in POOL}
    assert len(got) == 6
    for a in got:
        assert by_id[a["inspector_id"]][:2] != a["office_code"][:2]
    assert max(sum(1 for a in got if a["inspector_id"] == i) for i in by_id) <= 2
    with pytest.raises(DrawError, match="office"):
        assign_inspectors(
            sample,
            seed="s",
            pool=POOL[:4],
            per_office=2,
            workload_cap=1,
            exclude=["own_office", "own_province"],
            provinces=TREE,
        )


def test_a_published_draw_verifies_and_any_change_is_caught(tmp_path: Path) -> None:
    population = population_file(ITEMS)
    assert population.startswith(b"office_code,case_no,stratum\n110100,C000,")
    manifest = make_manifest(
        plan=PLAN,
        population=population,
        seed="20241231",
        pool=POOL,
        provinces=TREE,
        created_at="2025-01-05T10:00:00",
        created_by="admin",
    )
    assert manifest["stratum_sizes"]["330100|infringement_dispute"] == {"population": 30, "sample": 3}
    assert verify(manifest, population) == []
    (tmp_path / "m.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "p.csv").write_bytes(population)
    ok = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "p.csv"))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    forged = json.loads(json.dumps(manifest))
    forged["sample"][0]["case_no"] = "C029"
    (tmp_path / "forged.json").write_text(json.dumps(forged), encoding="utf-8")
    bad = ipdash_cli("verify-draw", str(tmp_path / "forged.json"), "--population", str(tmp_path / "p.csv"))
    assert bad.returncode == 1 and "sample differ" in bad.stdout

    (tmp_path / "p2.csv").write_bytes(population.replace(b"C029", b"C999"))
    bad = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "p2.csv"), "--json")
    assert bad.returncode == 1 and "SHA-256" in json.loads(bad.stdout)["problems"][0]


def test_plan_lock_draw_verify_and_a_second_draw_only_after_a_void(golden_metrics, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    plan = tmp_path / "plan.toml"
    plan.write_text('plan_id = "2024-national"\nyear = 2024\n[inspectors]\nworkload_cap = 10\n', encoding="utf-8")

    def run(*args: str):
        return ipdash_cli(*args, "--db", str(db), "--json")

    assert json.loads(run("plan", "create", str(plan)).stdout)["plan_id"] == "2024-national"
    assert run("plan", "create", str(plan)).returncode == 2  # exists already
    assert "not locked" in run("draw", "2024-national", "--seed", "1").stderr  # the seed comes after the lock
    locked = json.loads(run("plan", "lock", "2024-national", "--out-dir", str(tmp_path)).stdout)
    assert locked["population"] == 52 + 42 + 35  # closed in 2024 (README)
    data = Path(locked["population_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == locked["population_sha256"]
    assert run("plan", "lock", "2024-national").returncode == 2  # frozen
    drawn = run("draw", "2024-national", "--seed", "98765432109876543210", "--out", str(tmp_path / "m.json"))
    assert drawn.returncode == 0, drawn.stderr
    manifest = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    # Ratio 5%, at least 2 and at most 20 per office × case kind stratum.
    assert all(v["sample"] == min(v["population"], 2) for v in manifest["stratum_sizes"].values())
    assert (
        ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", locked["population_file"]).returncode == 0
    )
    again = run("draw", "2024-national", "--seed", "1")
    assert again.returncode == 2 and "void" in again.stderr
    assert run("plan", "void-draw", "2024-national-D1", "--reason", "seed typed wrongly").returncode == 0
    second = run("draw", "2024-national", "--seed", "55555", "--out", str(tmp_path / "m2.json"))
    assert json.loads(second.stdout)["draw_id"] == "2024-national-D2"
    # Appraisals naming the draw may only score what it sampled.
    sampled = manifest["sample"][0]
    not_sampled = next(
        c for c in ["P1a2-18", "P1a2-17", "P1a2-16"] if c not in {s["case_no"] for s in manifest["sample"]}
    )
    rows = tmp_path / "appr.csv"
    rows.write_text(
        "draw_id,office_code,case_no,inspector_id,acceptance,evidence,facts,law,procedure,documents,"
        "inspected_at\n"
        f"2024-national-D1,{sampled['office_code']},{sampled['case_no']},I-2,10,20,20,20,15,15,2025-01-10\n"
        f"2024-national-D1,110000,{not_sampled},I-2,10,20,20,20,15,15,2025-01-10\n",
        encoding="utf-8",
    )
    got = json.loads(run("ingest", "appraisals", str(rows)).stdout)
    assert (got["loaded"], got["rejected"]) == (1, 1)
    verdict = json.loads(ipdash_cli("audit", "verify", "--db", str(db), "--json").stdout)
    assert verdict["ok"]


def drawn_plan(golden_metrics, tmp_path: Path, toml: str, plan_id: str, seed: str):
    """A copy of the golden store with `toml` created, locked and drawn; (db, run, manifest)."""
    import shutil

    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    (tmp_path / "plan.toml").write_text(toml, encoding="utf-8")

    def run(*args: str):
        return ipdash_cli(*args, "--db", str(db), "--json")

    for args in (
        ("plan", "create", str(tmp_path / "plan.toml")),
        ("plan", "lock", plan_id, "--out-dir", str(tmp_path)),
        ("draw", plan_id, "--seed", seed, "--out", str(tmp_path / "m.json")),
    ):
        assert run(*args).returncode == 0, args
    return db, run, json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))


def test_results_publication_and_the_public_page(golden_metrics, tmp_path: Path, monkeypatch) -> None:

    from access.opstore import OpStore
    from dashboard.app import create_app

    db, run, manifest = drawn_plan(
        golden_metrics,
        tmp_path,
        'plan_id = "P"\nyear = 2024\nscope = "110000"\n[inspectors]\nworkload_cap = 10\nexclude = ["own_office"]\n',
        "P",
        "7",
    )
    at_110000 = [s for s in manifest["sample"] if s["office_code"] == "110000"][:2]
    assert len(at_110000) == 2
    lines = [
        "draw_id,office_code,case_no,inspector_id,acceptance,evidence,facts,law,procedure,documents,veto,inspected_at"
    ]
    lines.append(f"P-D1,110000,{at_110000[0]['case_no']},I-2,10,20,20,20,15,15,,2025-01-10")  # 100, excellent
    lines.append(f"P-D1,110000,{at_110000[1]['case_no']},I-3,6,12,12,12,9,9,,2025-01-11")  # 60, unqualified
    (tmp_path / "a.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert json.loads(run("ingest", "appraisals", str(tmp_path / "a.csv")).stdout)["loaded"] == 2
    got = json.loads(run("plan", "results", "P").stdout)
    office = got["offices"][0]
    # 110000 closed 30 (P1a) cases in 2024: population 30; 1 of 2 unqualified: projected 15.
    assert (office["appraised"], office["mean_score"], office["excellent"], office["unqualified"]) == (2, 80.0, 1, 1)
    assert office["population"] == 30 and office["projected_unqualified"] == 15.0
    assert office["interval"] == [pytest.approx(0.01257912), pytest.approx(0.98742088)]

    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(OpStore(tmp_path / "ipdash-ops.sqlite").path)).server.test_client()
    assert "尚无公开结果".encode() in client.get("/public").data  # nothing before publication
    refused = run("plan", "publish", "P")  # 2 of the sample appraised
    assert (
        refused.returncode == 2
        and f"{got['sampled'] - 2} of {got['sampled']} sampled archives are not appraised yet" in refused.stderr
    )
    assert "尚无公开结果".encode() in client.get("/public").data  # the refusal published nothing
    assert run("plan", "publish", "P", "--partial-reason", "年底前先公开已评查部分").returncode == 0
    assert run("plan", "publish", "P", "--partial-reason", "again, again").returncode == 2  # once
    page = client.get("/public")  # no login needed
    assert page.status_code == 200 and b"P-D1" in page.data and b"110000" in page.data and b"50.0%" in page.data
    assert "年底前先公开已评查部分".encode() in page.data  # the reason is shown
    text = page.get_data(as_text=True)
    assert "Beijing time" in text and "UTC" not in text  # when it was published, in Beijing time
    assert client.get("/").status_code == 302  # the rest still needs a login


def test_checklist_workbook_round_trip_names_the_cell_of_each_problem(golden_metrics, tmp_path: Path) -> None:

    import openpyxl

    from queries.store import Store

    db, run, manifest = drawn_plan(
        golden_metrics, tmp_path, 'plan_id = "C"\nyear = 2024\n[inspectors]\nworkload_cap = 10\n', "C", "42"
    )
    mine = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == "I-2"}
    expected = sorted((s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in mine)
    out = tmp_path / "checklist.xlsx"
    made = json.loads(run("checklist", "C", "--inspector", "I-2", "-o", str(out)).stdout)
    assert made["archives"] == len(expected) >= 4

    wb = openpyxl.load_workbook(out)
    ws = wb["评查表"]
    assert [c.value for c in ws[3]][:6] == ["抽查批次", "办案机构代码", "机构名称", "案号", "案件类型", "评查人员"]
    assert [c.value for c in ws[2]][6:12] == [10, 20, 20, 20, 15, 15]
    assert sorted((ws.cell(r, 2).value, ws.cell(r, 4).value) for r in range(4, 4 + len(expected))) == expected
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert {"decimal", "list", "date"} <= kinds
    # Fill it in: row 4 fine, row 5 above an item's maximum (H = 调查取证, max 20), row 6 a veto
    # item that is not on the list, row 7 a missing item.
    for r in range(4, 4 + len(expected)):
        for c, v in zip(range(7, 13), [10, 20, 18, 18, 14, 14]):
            ws.cell(r, c, v)
        ws.cell(r, 14, "2025-01-20")
    ws.cell(5, 8, 25)
    ws.cell(6, 13, "态度不好")
    ws.cell(7, 10).value = None
    wb.save(out)
    got = json.loads(run("ingest", "appraisals", str(out)).stdout)
    assert (got["loaded"], got["rejected"]) == (len(expected) - 3, 3)
    assert got["files"][0]["ignored_columns"] == ["机构名称", "案件类型"]
    cells = {
        r["cell"]: r["reason"]
        for r in Store(db).ops.read("SELECT cell, reason FROM appraisal_quarantine ORDER BY row_number")
    }
    assert set(cells) == {"H5", "M6", "J7"}
    assert "above this item's maximum of 20" in cells["H5"] and "required" in cells["J7"]
    assert run("checklist", "C", "--inspector", "nobody", "-o", str(tmp_path / "x.xlsx")).returncode == 2


def test_an_inspector_sees_only_the_archives_assigned_to_them(golden_metrics, tmp_path: Path, monkeypatch) -> None:

    from access.opstore import OpStore
    from access.users import add_user
    from dashboard.app import create_app

    db, _run, manifest = drawn_plan(
        golden_metrics, tmp_path, 'plan_id = "V"\nyear = 2024\n[inspectors]\nworkload_cap = 10\n', "V", "9"
    )
    mine = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == "I-3"}
    expected = sorted((s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in mine)
    ops = OpStore(tmp_path / "ipdash-ops.sqlite")
    add_user(ops, username="insp", role="inspector", password="inspector-password", scope_code="I-3")
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(ops.path)).server.test_client()
    login(client, "insp", "inspector-password")
    from tests.dash_helpers import by_id, cases, content

    assert by_id(content(client, "/"), "archives-table")["props"]["rowModelType"] == "infinite"
    rows_ = dh.archive_rows(client)["rowData"]
    assert sorted((r["office_code"], r["case_no"]) for r in rows_) == expected and expected
    assert all(o[:2] != "13" for o, _ in expected)  # I-3 belongs to P3: never its own province
    # The case explorer, asked by hand, holds the assigned archives and nothing else.
    got = cases(client, {"endRow": 500})
    assert got["rowCount"] == len(expected)
    assert sorted((r["office_code"], r["case_no"]) for r in got["rowData"]) == expected
    # Rankings, profiles and cases that are not assigned are refused.
    other = next(c for c in ("110000", "120000", "130000") if c not in mine)
    for path in ("/place/100000", f"/place/{other}", f"/office/{other}"):
        assert "denied" in json.dumps(content(client, path))
    office, case_no = expected[0]
    assert case_no in json.dumps(content(client, f"/case/{office}/{case_no}"))
    assert "denied" in json.dumps(content(client, "/case/130100/P3a-01"))


# --- Properties of the draw, and a second implementation written from SPEC §4.2 ---------------


def reference_draw(population_csv: bytes, plan: dict, seed: str, pool: list[dict], provinces: dict) -> dict:
    """A minimal re-implementation of SPEC §4.1–4.2 from the text alone (ratio rule only), sharing
    no code with inspection/: what an outsider would write to check a published draw."""
    import csv
    import io
    import math
    from hashlib import sha256

    def h(text: str) -> str:
        return sha256(text.encode("utf-8")).hexdigest()

    rows = list(csv.DictReader(io.StringIO(population_csv.decode("utf-8"))))
    strata: dict[str, list[dict]] = {}
    for r in rows:
        strata.setdefault(r["stratum"], []).append(r)
    rule = plan["rule"]
    sample, sizes = [], {}
    for name in sorted(strata):
        members = strata[name]
        n = min(
            len(members),
            max(rule["min_per_stratum"], min(rule["max_per_stratum"], math.ceil(rule["ratio"] * len(members) - 1e-12))),
        )
        sizes[name] = {"population": len(members), "sample": n}
        keyed = sorted(
            (h(f"{seed}|{plan['plan_id']}|{r['office_code']}|{r['case_no']}"), r["office_code"], r["case_no"])
            for r in members
        )
        sample += [{"office_code": o, "case_no": c, "stratum": name, "key": k} for k, o, c in keyed[:n]]
    ins = plan["inspectors"]
    load = {p["inspector_id"]: 0 for p in pool}
    assignments = []
    for office in sorted({s["office_code"] for s in sample}, key=lambda o: (h(f"{seed}|office|{o}"), o)):

        def conflicted(p):
            return ("own_office" in ins["exclude"] and p["office_code"] == office) or (
                "own_province" in ins["exclude"] and provinces[p["office_code"]] == provinces[office]
            )

        eligible = sorted(
            (p for p in pool if not conflicted(p) and load[p["inspector_id"]] < ins["workload_cap"]),
            key=lambda p: (h(f"{seed}|inspector|{office}|{p['inspector_id']}"), p["inspector_id"]),
        )
        assert len(eligible) >= ins["per_office"], office
        for p in eligible[: ins["per_office"]]:
            load[p["inspector_id"]] += 1
            assignments.append({"office_code": office, "inspector_id": p["inspector_id"]})
    return {
        "population_sha256": sha256(population_csv).hexdigest(),
        "stratum_sizes": sizes,
        "sample": sample,
        "assignments": assignments,
    }


def test_a_second_implementation_from_the_spec_recomputes_the_draw() -> None:
    population = population_file(ITEMS)
    manifest = make_manifest(
        plan=PLAN,
        population=population,
        seed="31415926535897932384",
        pool=POOL,
        provinces=TREE,
        created_at="2025-01-05T10:00:00",
        created_by="admin",
    )
    again = reference_draw(population, PLAN, "31415926535897932384", POOL, TREE)
    for key in ("population_sha256", "stratum_sizes", "sample", "assignments"):
        assert manifest[key] == again[key], key
    assert manifest["algorithm"] == "sha256-consistent-v2"
    assert manifest["provinces"] == {o: TREE[o] for o in sorted(manifest["provinces"])}


def test_own_province_is_the_province_in_the_office_tree_and_the_manifest_records_it() -> None:
    # Office 669901 lies in province 650000 in the tree, whatever its code's first digits say.
    tree = {"669901": "650000", "650100": "650000", "330100": "330000", "110100": "110000"}
    items = [Item("669901", f"C{k}", "669901") for k in range(4)]
    pool = [{"inspector_id": "A", "office_code": "650100"}, {"inspector_id": "B", "office_code": "330100"}]
    plan = {
        "plan_id": "tree",
        "rule": {"kind": "ratio", "ratio": 0.5, "min_per_stratum": 1, "max_per_stratum": 2},
        "inspectors": {"per_office": 1, "workload_cap": 1, "exclude": ["own_office", "own_province"]},
    }
    population = population_file(items)
    for seed in ("a", "b", "c", "d", "e", "f"):
        m = make_manifest(
            plan=plan, population=population, seed=seed, pool=pool, provinces=tree, created_at="t", created_by="u"
        )
        assert m["assignments"] == [{"office_code": "669901", "inspector_id": "B"}], seed
        assert m["provinces"] == {"330100": "330000", "650100": "650000", "669901": "650000"}
        assert verify(m, population) == []
        assert reference_draw(population, plan, seed, pool, tree)["assignments"] == m["assignments"]
    # Without B, nobody outside the province is left: the draw refuses, naming the office.
    with pytest.raises(DrawError, match="669901"):
        make_manifest(
            plan=plan, population=population, seed="a", pool=pool[:1], provinces=tree, created_at="t", created_by="u"
        )
    # An office the tree does not know is refused, not guessed.
    with pytest.raises(DrawError, match="650100 is not in the office tree"):
        make_manifest(
            plan=plan,
            population=population,
            seed="a",
            pool=pool,
            provinces={"669901": "650000", "330100": "330000"},
            created_at="t",
            created_by="u",
        )


def test_a_manifest_of_algorithm_v1_still_verifies_by_the_code_prefix_rule() -> None:
    tree = {"669901": "650000", "650100": "650000", "330100": "330000"}
    items = [Item("669901", f"C{k}", "669901") for k in range(4)]
    pool = [{"inspector_id": "A", "office_code": "650100"}, {"inspector_id": "B", "office_code": "330100"}]
    plan = {
        "plan_id": "old",
        "rule": {"kind": "ratio", "ratio": 0.5, "min_per_stratum": 2, "max_per_stratum": 2},
        "inspectors": {"per_office": 2, "workload_cap": 1, "exclude": ["own_office", "own_province"]},
    }
    population = population_file(items)
    old = make_manifest(
        plan=plan,
        population=population,
        seed="s",
        pool=pool,
        provinces=tree,
        created_at="t",
        created_by="u",
        algorithm=ALGORITHM_V1,
    )
    # v1 compares the codes' first two digits: 66 is not 65, so A is eligible and both are assigned.
    assert old["algorithm"] == "sha256-consistent-v1" and "provinces" not in old
    assert sorted(a["inspector_id"] for a in old["assignments"]) == ["A", "B"]
    assert verify(old, population) == []
    assert verify({**old, "algorithm": "sha256-consistent-v9"}, population)[0].startswith("unknown algorithm")


def test_changing_one_population_row_makes_verify_draw_fail(tmp_path: Path) -> None:
    population = population_file(ITEMS)
    manifest = make_manifest(
        plan=PLAN,
        population=population,
        seed="27182818284590452353",
        pool=POOL,
        provinces=TREE,
        created_at="2025-01-05T10:00:00",
        created_by="admin",
    )
    (tmp_path / "m.json").write_text(json.dumps(manifest), encoding="utf-8")
    changed = population.replace(b"110100,C007,", b"110100,C907,", 1)
    assert changed != population
    (tmp_path / "p.csv").write_bytes(changed)
    got = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "p.csv"))
    assert got.returncode == 1, got.stdout + got.stderr
    assert "population" in (got.stdout + got.stderr).lower()


offices_st = st.lists(
    st.sampled_from(["110100", "110200", "120100", "130100", "330100", "330200", "440100"]),
    min_size=1,
    max_size=6,
    unique=True,
)


@st.composite
def populations(draw):
    offices = draw(offices_st)
    items = []
    for o in offices:
        for kind in draw(
            st.lists(
                st.sampled_from(["infringement_dispute", "counterfeit", "other_dispute"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        ):
            n = draw(st.integers(1, 60))
            items += [Item(o, f"{kind[:2].upper()}{k:03d}", f"{o}|{kind}") for k in range(n)]
    return items


pool_st = st.lists(
    st.tuples(
        st.sampled_from(["110100", "120200", "320100", "330300", "440200", "510100", "610100", "130200"]),
        st.integers(0, 99),
    ),
    min_size=4,
    max_size=14,
    unique_by=lambda t: t[1],
).map(lambda ps: [{"inspector_id": f"I{k:02d}", "office_code": o} for o, k in ps])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    items=populations(),
    seed=st.text(min_size=1, max_size=24),
    other=st.text(min_size=1, max_size=24),
    pool=pool_st,
    per_office=st.integers(1, 2),
    cap=st.integers(1, 4),
    order=st.randoms(use_true_random=False),
    ratio=st.sampled_from([0.05, 0.1, 0.3]),
)
def test_draw_properties(items, seed, other, pool, per_office, cap, order, ratio) -> None:
    plan = {
        "plan_id": "P-prop",
        "rule": {"kind": "ratio", "ratio": ratio, "min_per_stratum": 2, "max_per_stratum": 20},
        "inspectors": {"per_office": per_office, "workload_cap": cap, "exclude": ["own_office", "own_province"]},
    }
    population = population_file(items)
    tree = prefix_provinces({i.office_code for i in items} | {p["office_code"] for p in pool})
    shuffled = items[:]
    order.shuffle(shuffled)
    assert population_file(shuffled) == population  # the file does not depend on input order

    def draw_with(s: str):
        try:
            return make_manifest(
                plan=plan, population=population, seed=s, pool=pool, provinces=tree, created_at="t", created_by="u"
            )
        except DrawError as exc:
            assert "office" in str(exc)
            return None

    got = draw_with(seed)
    if got is None:  # too few eligible inspectors: a clear refusal
        return
    assert draw_with(seed) == got  # the same seed, the same manifest
    by_id = {p["inspector_id"]: p["office_code"] for p in pool}
    for a in got["assignments"]:  # never a conflicted inspector
        own = by_id[a["inspector_id"]]
        assert own != a["office_code"] and own[:2] != a["office_code"][:2]
    loads = {}
    for a in got["assignments"]:
        loads[a["inspector_id"]] = loads.get(a["inspector_id"], 0) + 1
    assert max(loads.values()) <= cap  # workload caps hold
    sampled_offices = {s["office_code"] for s in got["sample"]}
    assert sorted(a["office_code"] for a in got["assignments"]) == sorted(
        o for o in sampled_offices for _ in range(per_office)
    )  # every sampled office gets k inspectors
    for stratum, size in got["stratum_sizes"].items():  # stratum sizes are exact
        members = [i for i in items if i.stratum == stratum]
        assert size["population"] == len(members)
        assert size["sample"] == ratio_sample_size(len(members), ratio=ratio, minimum=2, maximum=20)
        assert sum(1 for s in got["sample"] if s["stratum"] == stratum) == size["sample"]
    other_draw = draw_with(other)
    if other != seed and other_draw is not None:  # a different seed, a different draw
        assert [s["key"] for s in other_draw["sample"]] != [s["key"] for s in got["sample"]]
        for stratum, size in got["stratum_sizes"].items():  # and, where there is much to choose
            if size["population"] >= 40:  # from, different archives
                chosen = {(s["office_code"], s["case_no"]) for s in got["sample"] if s["stratum"] == stratum}
                again = {(s["office_code"], s["case_no"]) for s in other_draw["sample"] if s["stratum"] == stratum}
                assert chosen != again, stratum


@pytest.mark.parametrize("slack", [0, 16])
def test_workload_caps_that_exhaust_the_first_candidates_still_follow_the_rule(slack, monkeypatch) -> None:
    """Caps of 1 over a pool barely larger than the offices: late offices find their first candidates
    all taken and fall back to their whole list (always so with no slack); the result must equal the
    reference."""
    import inspection.draw as draw_module

    monkeypatch.setattr(draw_module, "CANDIDATES_SLACK", slack)
    offices = [f"{p}{k:02d}00" for p in ("11", "12", "13", "31", "32", "33", "44", "51") for k in range(1, 6)]
    items = [Item(o, f"C{k}", o) for o in offices for k in range(3)]
    pool = [{"inspector_id": f"X{k:03d}", "office_code": offices[(k * 7) % len(offices)]} for k in range(44)]
    tree = prefix_provinces(offices)
    plan = {
        "plan_id": "caps",
        "rule": {"kind": "ratio", "ratio": 0.05, "min_per_stratum": 1, "max_per_stratum": 1},
        "inspectors": {"per_office": 1, "workload_cap": 1, "exclude": ["own_office", "own_province"]},
    }
    population = population_file(items)
    for seed in ("a", "b", "c", "d"):
        got = make_manifest(
            plan=plan, population=population, seed=seed, pool=pool, provinces=tree, created_at="t", created_by="u"
        )
        assert got["assignments"] == reference_draw(population, plan, seed, pool, tree)["assignments"], seed

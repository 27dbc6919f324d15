"""Sample sizes against the published AICPA tables; the draw of SPEC §4.2 and its verification."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from inspection.draw import DrawError, Item, assign_inspectors, draw_sample, make_manifest, population_file, verify
from inspection.sample_size import attribute_sample_size, ratio_sample_size
from tests.conftest import ipdash_cli

# AICPA Audit Sampling guide, statistical sample sizes for tests of controls, 5% risk of
# overreliance (95% confidence): (tolerable, expected, n, expected number of deviations).
AICPA_95 = [
    (0.02, 0.0, 149, 0), (0.03, 0.0, 99, 0), (0.04, 0.0, 74, 0), (0.05, 0.0, 59, 0), (0.06, 0.0, 49, 0),
    (0.07, 0.0, 42, 0), (0.08, 0.0, 36, 0), (0.09, 0.0, 32, 0), (0.10, 0.0, 29, 0), (0.15, 0.0, 19, 0),
    (0.20, 0.0, 14, 0),
    (0.05, 0.0025, 93, 1), (0.10, 0.0025, 46, 1), (0.05, 0.005, 93, 1), (0.05, 0.01, 93, 1),
    (0.04, 0.01, 156, 2), (0.05, 0.015, 124, 2), (0.04, 0.015, 192, 3), (0.05, 0.02, 181, 4),
    (0.06, 0.02, 127, 3),
]


@pytest.mark.parametrize("tolerable, expected, n, d", AICPA_95)
def test_attribute_sample_sizes_reproduce_the_aicpa_table(tolerable, expected, n, d) -> None:
    got = attribute_sample_size(confidence=0.95, tolerable=tolerable, expected=expected)
    assert (got.n, got.allowed_deviations) == (n, d)


def test_small_populations_take_the_hypergeometric_size() -> None:
    assert attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=100_000).n == 59
    small = attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=100)
    assert small.method == "hypergeometric" and small.n < 59
    assert attribute_sample_size(confidence=0.95, tolerable=0.05, expected=0, population=20).n <= 20
    for bad in ({"confidence": 1.2, "tolerable": 0.05, "expected": 0}, {"confidence": 0.95, "tolerable": 0.05,
                                                                          "expected": 0.06}):
        with pytest.raises(ValueError):
            attribute_sample_size(**bad)


@pytest.mark.parametrize("population, n", [(1, 1), (2, 2), (10, 2), (40, 2), (41, 3), (100, 5), (399, 20),
                                           (1000, 20)])
def test_ratio_rule(population: int, n: int) -> None:
    assert ratio_sample_size(population, ratio=0.05, minimum=2, maximum=20) == n


def test_sample_size_cli(tmp_path: Path) -> None:
    done = ipdash_cli("sample-size", "--confidence", "0.95", "--tolerable", "0.05", "--expected", "0", "--json")
    assert json.loads(done.stdout) == {"n": 59, "allowed_deviations": 0, "method": "binomial"}
    bad = ipdash_cli("sample-size", "--confidence", "0.95", "--tolerable", "0.05", "--expected", "0.2")
    assert bad.returncode == 2 and "below the tolerable" in bad.stderr


ITEMS = [Item(f"{o}", f"C{k:03d}", f"{o}|infringement_dispute") for o in ("330100", "320100", "110100")
         for k in range(30)]
POOL = [{"inspector_id": f"I{k}", "office_code": code} for k, code in
        enumerate(["330100", "330200", "320100", "320200", "110100", "110200", "440100", "510100"])]
PLAN = {"plan_id": "2024-test", "year": 2024, "rule": {"kind": "ratio", "ratio": 0.1, "min_per_stratum": 2,
                                                       "max_per_stratum": 20},
        "inspectors": {"per_office": 2, "workload_cap": 2, "exclude": ["own_office", "own_province"]}}


def test_the_sample_is_the_lowest_sha256_keys_within_each_stratum() -> None:
    sizes = {s: {"population": 30, "sample": 3} for s in {i.stratum for i in ITEMS}}
    got = draw_sample(ITEMS, seed="12345678901234567890", plan_id="2024-test", sizes=sizes)
    for stratum in sizes:
        keys = sorted((hashlib.sha256(f"12345678901234567890|2024-test|{i.office_code}|{i.case_no}".encode())
                       .hexdigest(), i.case_no) for i in ITEMS if i.stratum == stratum)
        assert [g["case_no"] for g in got if g["stratum"] == stratum] == [c for _, c in keys[:3]]
    shuffled = ITEMS[:]
    random.Random(4).shuffle(shuffled)
    assert draw_sample(shuffled, seed="12345678901234567890", plan_id="2024-test", sizes=sizes) == got
    assert draw_sample(ITEMS, seed="other", plan_id="2024-test", sizes=sizes) != got


def test_inspectors_never_conflict_and_respect_the_workload_cap() -> None:
    sample = [{"office_code": o, "case_no": "x", "stratum": o} for o in ("330100", "320100", "110100")]
    got = assign_inspectors(sample, seed="s", pool=POOL, per_office=2, workload_cap=2,
                            exclude=["own_office", "own_province"])
    by_id = {p["inspector_id"]: p["office_code"] for p in POOL}
    assert len(got) == 6
    for a in got:
        assert by_id[a["inspector_id"]][:2] != a["office_code"][:2]
    assert max(sum(1 for a in got if a["inspector_id"] == i) for i in by_id) <= 2
    with pytest.raises(DrawError, match="office"):
        assign_inspectors(sample, seed="s", pool=POOL[:4], per_office=2, workload_cap=1,
                          exclude=["own_office", "own_province"])


def test_a_published_draw_verifies_and_any_change_is_caught(tmp_path: Path) -> None:
    population = population_file(ITEMS)
    assert population.startswith(b"office_code,case_no,stratum\n110100,C000,")
    manifest = make_manifest(plan=PLAN, population=population, seed="20241231", pool=POOL,
                             created_at="2025-01-05T10:00:00", created_by="admin")
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
    assert run("plan", "create", str(plan)).returncode == 2                      # exists already
    assert "not locked" in run("draw", "2024-national", "--seed", "1").stderr   # the seed comes after the lock
    locked = json.loads(run("plan", "lock", "2024-national", "--out-dir", str(tmp_path)).stdout)
    assert locked["population"] == 52 + 42 + 35                                  # closed in 2024 (README)
    data = Path(locked["population_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == locked["population_sha256"]
    assert run("plan", "lock", "2024-national").returncode == 2                  # frozen
    drawn = run("draw", "2024-national", "--seed", "98765432109876543210", "--out", str(tmp_path / "m.json"))
    assert drawn.returncode == 0, drawn.stderr
    manifest = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    # Ratio 5%, at least 2 and at most 20 per office × case kind stratum.
    assert all(v["sample"] == min(v["population"], 2) for v in manifest["stratum_sizes"].values())
    assert ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", locked["population_file"]).returncode == 0
    again = run("draw", "2024-national", "--seed", "1")
    assert again.returncode == 2 and "void" in again.stderr
    assert run("plan", "void-draw", "2024-national-D1", "--reason", "seed typed wrongly").returncode == 0
    second = run("draw", "2024-national", "--seed", "55555", "--out", str(tmp_path / "m2.json"))
    assert json.loads(second.stdout)["draw_id"] == "2024-national-D2"
    # Appraisals naming the draw may only score what it sampled.
    sampled = manifest["sample"][0]
    not_sampled = next(c for c in ["P1a2-18", "P1a2-17", "P1a2-16"] if c not in {s["case_no"] for s in manifest["sample"]})
    rows = tmp_path / "appr.csv"
    rows.write_text("draw_id,office_code,case_no,inspector_id,acceptance,evidence,facts,law,procedure,documents,"
                    "inspected_at\n"
                    f"2024-national-D1,{sampled['office_code']},{sampled['case_no']},I-2,10,20,20,20,15,15,2025-01-10\n"
                    f"2024-national-D1,110000,{not_sampled},I-2,10,20,20,20,15,15,2025-01-10\n", encoding="utf-8")
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

    for args in (("plan", "create", str(tmp_path / "plan.toml")), ("plan", "lock", plan_id, "--out-dir", str(tmp_path)),
                 ("draw", plan_id, "--seed", seed, "--out", str(tmp_path / "m.json"))):
        assert run(*args).returncode == 0, args
    return db, run, json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))


def test_results_publication_and_the_public_page(golden_metrics, tmp_path: Path, monkeypatch) -> None:

    from access.opstore import OpStore
    from dashboard.app import create_app

    db, run, manifest = drawn_plan(golden_metrics, tmp_path, 'plan_id = "P"\nyear = 2024\nscope = "110000"\n'
                                   '[inspectors]\nworkload_cap = 10\nexclude = ["own_office"]\n', "P", "7")
    at_110000 = [s for s in manifest["sample"] if s["office_code"] == "110000"][:2]
    assert len(at_110000) == 2
    lines = ["draw_id,office_code,case_no,inspector_id,acceptance,evidence,facts,law,procedure,documents,veto,inspected_at"]
    lines.append(f"P-D1,110000,{at_110000[0]['case_no']},I-2,10,20,20,20,15,15,,2025-01-10")        # 100, excellent
    lines.append(f"P-D1,110000,{at_110000[1]['case_no']},I-3,6,12,12,12,9,9,,2025-01-11")          # 60, unqualified
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
    assert "尚无公开结果".encode() in client.get("/public").data                  # nothing before publication
    assert run("plan", "publish", "P").returncode == 0
    assert run("plan", "publish", "P").returncode == 2                            # once
    page = client.get("/public")                                                  # no login needed
    assert page.status_code == 200 and b"P-D1" in page.data and b"110000" in page.data and b"50.0%" in page.data
    assert client.get("/").status_code == 302                                     # the rest still needs a login


def test_checklist_workbook_round_trip_names_the_cell_of_each_problem(golden_metrics, tmp_path: Path) -> None:
    import contextlib

    import openpyxl

    from queries.store import Store, rows

    db, run, manifest = drawn_plan(golden_metrics, tmp_path, 'plan_id = "C"\nyear = 2024\n[inspectors]\n'
                                   'workload_cap = 10\n', "C", "42")
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
    with contextlib.closing(Store(db).reader()) as con:
        cells = dict(rows(con, "SELECT cell, reason FROM quarantine ORDER BY row_number"))
    assert set(cells) == {"H5", "M6", "J7"}
    assert "above this item's maximum of 20" in cells["H5"] and "required" in cells["J7"]
    assert run("checklist", "C", "--inspector", "nobody", "-o", str(tmp_path / "x.xlsx")).returncode == 2


def test_an_inspector_sees_only_the_archives_assigned_to_them(golden_metrics, tmp_path: Path, monkeypatch) -> None:

    from access.opstore import OpStore
    from access.users import add_user
    from dashboard.app import create_app

    db, _run, manifest = drawn_plan(golden_metrics, tmp_path, 'plan_id = "V"\nyear = 2024\n[inspectors]\n'
                                    'workload_cap = 10\n', "V", "9")
    mine = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == "I-3"}
    expected = sorted((s["office_code"], s["case_no"]) for s in manifest["sample"] if s["office_code"] in mine)
    ops = OpStore(tmp_path / "ipdash-ops.sqlite")
    add_user(ops, username="insp", role="inspector", password="inspector-password", scope_code="I-3")
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(ops.path)).server.test_client()
    client.post("/login", data={"username": "insp", "password": "inspector-password"})
    from tests.dash_helpers import by_id, cases, content

    grid = by_id(content(client, "/"), "archives-table")
    rows_ = grid["props"]["rowData"]
    assert sorted((r["office_code"], r["case_no"].split("]")[0][1:]) for r in rows_) == expected and expected
    assert all(o[:2] != "13" for o, _ in expected)               # I-3 belongs to P3: never its own province
    # The case explorer, asked by hand, holds the assigned archives and nothing else.
    got = cases(client, {"endRow": 500})
    assert got["rowCount"] == len(expected)
    assert sorted((r["office_code"], r["case_no"].split("]")[0][1:]) for r in got["rowData"]) == expected
    # Rankings, profiles and cases that are not assigned are refused.
    other = next(c for c in ("110000", "120000", "130000") if c not in mine)
    for path in ("/place/100000", f"/place/{other}", f"/office/{other}"):
        assert "denied" in json.dumps(content(client, path))
    office, case_no = expected[0]
    assert case_no in json.dumps(content(client, f"/case/{office}/{case_no}"))
    assert "denied" in json.dumps(content(client, "/case/130100/P3a-01"))

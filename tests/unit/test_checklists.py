"""Configurable, versioned checklists (issue 19 item 3), against the hand-worked golden data set
of tests/fixtures/checklists/README.md: two versions in one year (2024-A: sections, deduction per
defect with a floor of zero, own veto items, four grades, a veto sets the total to 0; 2024-B: three
grades, a veto keeps the total), every grade edge, and the checklist errors named by file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from access.opstore import OpStore, default_path
from ingest.contract import ContractError, default_contract, load_contract
from ingest.run import ingest
from inspection.plans import PlanError, parse_plan
from inspection.results import draw_results
from queries.store import Store
from tests import FIXTURES, ROOT
from tests.conftest import ipdash_cli

FIXTURE = FIXTURES / "checklists"
SHIPPED = ROOT / "ingest"
CASES = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式\n" + "".join(
    f"{c},{o},专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解\n"
    for c, o in (("H-1", "330100"), ("H-2", "330100"), ("N-1", "320100"), ("N-2", "320100"))
)
PLAN = """plan_id = "{id}"
year = 2024
scope = "100000"
checklist = "{checklist}"
[rule]
min_per_stratum = 2
max_per_stratum = 2
[inspectors]
per_office = 1
"""
A_HEADER = "抽查批次,办案机构代码,案号,评查人员,立案受理,立案时限（缺陷数）,调查取证,笔录瑕疵（缺陷数）,文书归档,文书瑕疵（缺陷数）,否决项,评查日期"
A_ROWS = {  # acceptance, filing_time defects, evidence, record_defects defects, documents, document_defects defects, veto
    "H-1": "10,0,20,0,15,10,",
    "H-2": "8,1,18,7,15,4,",
    "N-1": "10,0,20,1,13,15,",
    "N-2": "10,0,20,0,15,0,事实不清",
}
B_HEADER = "抽查批次,办案机构代码,案号,评查人员,立案受理,调查取证,否决项,评查日期"
B_ROWS = {"H-1": "40,45,", "H-2": "30,34.5,", "N-1": "40,60,主体错误", "N-2": "35,30,"}


@pytest.fixture
def checklists(monkeypatch):
    """The golden checklists configured (IPDASH_CHECKLISTS), for this process and the commands it runs."""
    monkeypatch.setenv("IPDASH_CHECKLISTS", str(FIXTURE))
    default_contract.cache_clear()
    yield default_contract()
    default_contract.cache_clear()


def _world(store: Store, tmp: Path, monkeypatch) -> dict[str, dict]:
    """Plans A (checklist 2024-A) and B (2024-B) of 2024 drawn over the four cases (each samples
    all four); returns plan -> office -> its inspector."""
    monkeypatch.chdir(tmp)
    (tmp / "cases.csv").write_text(CASES, encoding="utf-8")
    assert ingest(store, "cases", [str(tmp / "cases.csv")], progress=False).counts.loaded == 4
    inspectors = {}
    for plan_id, checklist in (("A", "2024-A"), ("B", "2024-B")):
        (tmp / f"{plan_id}.toml").write_text(PLAN.format(id=plan_id, checklist=checklist), encoding="utf-8")
        for args in (
            ("plan", "create", f"{plan_id}.toml"),
            ("plan", "lock", plan_id),
            ("draw", plan_id, "--seed", "7"),
        ):
            done = ipdash_cli(*args, "--db", str(store.path), "--json", env={"IPDASH_CHECKLISTS": str(FIXTURE)})
            assert done.returncode == 0, (args, done.stderr)
        manifest = json.loads((tmp / f"{plan_id}-D1-manifest.json").read_text(encoding="utf-8"))
        assert len(manifest["sample"]) == 4
        inspectors[plan_id] = {a["office_code"]: a["inspector_id"] for a in manifest["assignments"]}
    return inspectors


def _file(tmp: Path, name: str, header: str, draw: str, inspectors: dict, rows: dict[str, str]) -> str:
    office = {"H": "330100", "N": "320100"}
    date = ",2025-01-10" if header.endswith("评查日期") else ""  # else the rows give it
    lines = [header] + [f"{draw},{office[c[0]]},{c},{inspectors[office[c[0]]]},{v}{date}" for c, v in rows.items()]
    (tmp / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(tmp / name)


def _stored(store: Store) -> dict[tuple[str, str], dict]:
    ops = OpStore(default_path(store.path))
    got = ops.read("SELECT * FROM appraisals")
    return {(r["draw_id"], r["case_no"]): dict(r) for r in got}


def test_two_versions_in_one_year_score_and_grade_as_worked_by_hand(
    checklists, tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    inspectors = _world(tree_store, tmp_path, monkeypatch)
    a = _file(tmp_path, "a.csv", A_HEADER, "A-D1", inspectors["A"], A_ROWS)
    b = _file(tmp_path, "b.csv", B_HEADER, "B-D1", inspectors["B"], B_ROWS)
    summary = ingest(tree_store, "appraisals", [a, b], progress=False)
    assert (summary.counts.loaded, summary.counts.rejected) == (8, 0), summary.rejects_file
    stored = _stored(tree_store)
    expect = {  # README: (total, grade)
        ("A-D1", "H-1"): ("90", "excellent"),
        ("A-D1", "H-2"): ("67", "qualified"),
        ("A-D1", "N-1"): ("80", "good"),
        ("A-D1", "N-2"): ("0", "unqualified"),
        ("B-D1", "H-1"): ("85", "excellent"),
        ("B-D1", "H-2"): ("64.5", "unqualified"),
        ("B-D1", "N-1"): ("100", "unqualified"),
        ("B-D1", "N-2"): ("65", "qualified"),
    }
    assert {k: (str(float(r["total"])).removesuffix(".0"), r["grade"]) for k, r in stored.items()} == expect
    assert {k: r["checklist_version"] for k, r in stored.items()} == {
        k: "2024-A" if k[0] == "A-D1" else "2024-B" for k in expect
    }
    h2 = stored[("A-D1", "H-2")]
    assert {k: float(v) for k, v in json.loads(h2["scores"]).items()} == {
        "acceptance": 8,
        "filing_time": 5,  # 10 − 5 × 1
        "evidence": 18,
        "record_defects": 0,  # 20 − 3 × 7 = −1, floored at 0
        "documents": 15,
        "document_defects": 21,  # 25 − 1 × 4
    }
    assert json.loads(h2["defects"]) == {"filing_time": 1, "record_defects": 7, "document_defects": 4}
    assert set(json.loads(stored[("B-D1", "H-1")]["scores"])) == {"acceptance", "evidence"}
    assert stored[("B-D1", "H-1")]["defects"] is None

    ops = OpStore(default_path(tree_store.path))
    results = draw_results(ops, tree_store, "A")
    assert results["checklist"] == "2024-A"
    assert [g["id"] for g in results["grades"]] == ["excellent", "good", "qualified", "unqualified"]
    by_office = {o["office_code"]: o for o in results["offices"]}
    assert by_office["330100"]["grades"] == {"excellent": 1, "good": 0, "qualified": 1, "unqualified": 0}
    assert by_office["320100"]["grades"] == {"excellent": 0, "good": 1, "qualified": 0, "unqualified": 1}
    assert by_office["320100"]["unqualified_rate"] == 0.5
    lost = [(e["item"], e["points"], e["with_loss"]) for e in results["items_lost"]["scope"]]
    assert lost == [
        ("document_defects", 29.0, 3),
        ("record_defects", 23.0, 2),
        ("filing_time", 5.0, 1),
        ("acceptance", 2.0, 1),
        ("documents", 2.0, 1),
        ("evidence", 2.0, 1),
    ]
    b_results = draw_results(ops, tree_store, "B")
    assert [g["id"] for g in b_results["grades"]] == ["excellent", "qualified", "unqualified"]
    assert [(e["item"], e["points"]) for e in b_results["items_lost"]["scope"]] == [
        ("evidence", 70.5),
        ("acceptance", 15.0),
    ]


def test_rows_outside_their_checklist_are_rejected_with_the_reason(
    checklists, tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    inspectors = _world(tree_store, tmp_path, monkeypatch)
    a = _file(
        tmp_path,
        "a.csv",
        A_HEADER + ",事实认定,评查表版本",
        "A-D1",
        inspectors["A"],
        {
            "H-1": "10,0,20,0,15,10,,2025-01-10,18,",  # an item of the default checklist, not of 2024-A
            "H-2": "8,1,18,1.5,15,4,,2025-01-10,,",  # half a defect
            "N-1": "10,0,20,1,13,15,,2025-01-10,,2024-B",  # another version than the plan's
        },
    )
    b = _file(
        tmp_path,
        "b.csv",
        B_HEADER,
        "B-D1",
        inspectors["B"],
        {"H-1": "41,45,", "H-2": "30,,", "N-2": "35,30,事实不清"},
    )
    summary = ingest(tree_store, "appraisals", [a, b], progress=False)
    assert (summary.counts.loaded, summary.counts.rejected) == (0, 6)
    reasons = {(r["column_name"], r["row_number"]): r["reason"] for r in _quarantine(tree_store)}
    assert "not an item of checklist 2024-A" in reasons[("facts", 2)]
    assert "whole number" in reasons[("record_defects", 3)]
    assert "another checklist version: 2024-A" in reasons[("checklist_version", 4)]
    assert "above this item's maximum of 40" in reasons[("acceptance", 2)]
    assert "missing" in reasons[("evidence", 3)]
    assert "checklist 2024-B does not have" in reasons[("veto", 4)]
    assert _stored(tree_store) == {}


def _quarantine(store: Store) -> list[dict]:
    return [dict(r) for r in OpStore(default_path(store.path)).read("SELECT * FROM appraisal_quarantine")]


def test_historical_rows_take_the_named_version_or_the_default(checklists, tree_store: Store, tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(CASES, encoding="utf-8")
    ingest(tree_store, "cases", [str(tmp_path / "cases.csv")], progress=False)
    (tmp_path / "h.csv").write_text(
        "办案机构代码,案号,评查人员,立案受理,调查取证,事实认定,法律适用,办案程序,文书归档,评查表版本,评查日期\n"
        "330100,H-1,INS002,10,19,18,18,14,14,,2024-09-01\n"
        "330100,H-2,INS002,40,60,,,,,2024-B,2024-09-01\n"
        "320100,N-1,INS001,10,20,20,20,15,15,2099-Z,2024-09-01\n",
        encoding="utf-8",
    )
    summary = ingest(tree_store, "appraisals", [str(tmp_path / "h.csv")], progress=False)
    assert (summary.counts.loaded, summary.counts.rejected) == (2, 1)
    stored = _stored(tree_store)
    assert (stored[("", "H-1")]["checklist_version"], stored[("", "H-1")]["grade"]) == ("2016-1", "excellent")
    assert float(stored[("", "H-1")]["total"]) == 93
    assert (stored[("", "H-2")]["checklist_version"], float(stored[("", "H-2")]["total"])) == ("2024-B", 100)
    assert "unknown checklist version" in _quarantine(tree_store)[0]["reason"]


def test_a_plan_names_a_configured_checklist(checklists) -> None:
    assert parse_plan('year = 2024\nchecklist = "2024-A"\n')["checklist"] == "2024-A"
    assert parse_plan("year = 2024\n")["checklist"] == "2016-1"
    with pytest.raises(
        PlanError, match="'1999' is not a configured checklist version; use one of 2016-1, 2024-A, 2024-B"
    ):
        parse_plan('year = 2024\nchecklist = "1999"\n')


A_TEXT = (FIXTURE / "a.toml").read_text("utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'max = 20\n\n[[sections]]\nid = "investigation"',
            'max = 25\n\n[[sections]]\nid = "investigation"',
            "a.toml: sections[0].max: the maxima of its items add up to 20, not the section's 25",
        ),
        (
            'kind = "deduction"\nper_defect = 5',
            'kind = "bonus"\nper_defect = 5',
            "a.toml: items[1].kind: unknown kind 'bonus'",
        ),
        (
            'kind = "deduction"\nper_defect = 5',
            'kind = "deduction"',
            "a.toml: items[1].per_defect: must be a positive number",
        ),
        ("min = 80", "min = 95", "a.toml: grades[1].min: must be below the grade above (90): best grade first"),
        ("min = 0", "min = 10", "a.toml: grades[3].min: the worst grade takes every total: its min must be 0"),
        (
            'id = "good"',
            'id = "fine"',
            "a.toml: grades: the ids of 4 grades, best first, are excellent, good, qualified, unqualified",
        ),
        (
            'section = "decision"\nkind',
            'section = "appeal"\nkind',
            "a.toml: items[5].section: 'appeal' is not one of the [[sections]]",
        ),
        ("total = 100", "total = 90", "a.toml: total: the maxima add up to 100, not 90"),
        ('zh = "执法人员未持证"', 'zh = "越权"', "a.toml: vetoes[3]: label '越权' already means 'beyond_authority'"),
        ('zh = "文书瑕疵"', 'zh = "立案受理"', "header '立案受理' already names 'acceptance'"),
        (
            'zh = "调查取证"',
            'zh = "取证"',
            "a.toml: items.evidence: named '调查取证' / 'Investigation and evidence' in checklist.toml",
        ),
        (
            'version = "2024-A"',
            'version = "2016-1"',
            "a.toml: version: '2016-1' is already the version of checklist.toml",
        ),
        ('[[grades]]\nid = "good"\nzh = "良好"\nen = "Good"\nmin = 80\n', "", None),  # three grades: fine
        (
            '[[grades]]\nid = "excellent"',
            '[[grades]]\nid = "best"\nzh = "最佳"\nen = "Best"\nmin = 95\n\n[[grades]]\nid = "excellent"',
            "a.toml: grades: give three or four [[grades]], from the best to the worst",
        ),
    ],
)
def test_checklist_errors_name_file_key_and_problem(old: str, new: str, message: str | None) -> None:
    assert old in A_TEXT
    text = A_TEXT.replace(old, new, 1)
    shipped = ((SHIPPED / "contract.toml").read_text("utf-8"), (SHIPPED / "checklist.toml").read_text("utf-8"))
    if message is None:
        assert [g.id for g in load_contract(*shipped, extra=[("a.toml", text)]).checklists["2024-A"].grades] == [
            "excellent",
            "qualified",
            "unqualified",
        ]
        return
    with pytest.raises(ContractError) as info:
        load_contract(*shipped, extra=[("a.toml", text)])
    assert message in str(info.value)


def test_the_workbook_and_the_online_form_follow_the_plans_checklist(
    checklists, tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    """Plan A's workbook asks for defects where 2024-A deducts, names its version and its veto
    items, prints landscape one page wide; filled in and uploaded it scores as the README works
    out; the online form records an archive of the same plan the same way."""
    import openpyxl

    from access.users import User
    from dashboard import inspection_views as iv
    from dashboard.inspector_forms import form_items
    from inspection.checklist import assigned_archives, plan_checklist, write_checklist

    inspectors = _world(tree_store, tmp_path, monkeypatch)
    ops = OpStore(default_path(tree_store.path))
    ins = inspectors["A"]["330100"]
    draw_id, archives = assigned_archives(ops, tree_store, "A", ins)
    path = tmp_path / "a.xlsx"
    write_checklist(path, draw_id=draw_id, inspector_id=ins, archives=archives, checklist=plan_checklist(ops, "A"))
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[3]]
    assert header[6:12] == [
        "立案受理",
        "立案时限（缺陷数）",
        "调查取证",
        "笔录瑕疵（缺陷数）",
        "文书归档",
        "文书瑕疵（缺陷数）",
    ]
    assert "事实认定" not in header and header[-1] == "评查表版本"
    assert ws.cell(2, 8).value == "立案（20分）· 满分10，每处扣5分，扣完为止"
    assert "总分记0分" in ws.cell(2, 13).value
    assert (ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.print_title_rows) == ("landscape", 1, "$1:$3")
    veto_list = next(dv for dv in ws.data_validations.dataValidation if dv.type == "list").formula1
    assert "事实不清" in veto_list and "执法人员未持证" in veto_list
    whole = [dv for dv in ws.data_validations.dataValidation if dv.type == "whole"]
    assert len(whole) == 3
    filled = 0
    for r in range(4, ws.max_row + 1):
        case = ws.cell(r, 4).value
        assert ws.cell(r, len(header)).value == "2024-A"
        *values, veto = A_ROWS[case].split(",")
        for k, v in enumerate(values):
            ws.cell(r, 7 + k).value = float(v)
        ws.cell(r, 13).value = veto or None
        ws.cell(r, 14).value = "2025-01-10"
        filled += 1
    wb.save(path)
    summary = ingest(tree_store, "appraisals", [str(path)], progress=False)
    assert (summary.counts.loaded, summary.counts.rejected) == (filled, 0) == (2, 0)
    stored = _stored(tree_store)
    assert {k: float(r["total"]) for k, r in stored.items()} == {("A-D1", "H-1"): 90, ("A-D1", "H-2"): 67}

    # the online form lays out the items of both plans' checklists; N-1 of plan A records 2024-A's
    n_ins = inspectors["A"]["320100"]
    user = User(user_id=1, username=n_ins, role="inspector", scope_code=n_ins, disabled=False, session_version=1)
    order = [i.id for i in form_items(["2024-A", "2024-B"])]
    assert order == ["acceptance", "evidence", "documents", "filing_time", "record_defects", "document_defects"]
    given = {
        "acceptance": 10,
        "evidence": 20,
        "documents": 13,
        "filing_time": 0,
        "record_defects": 1,
        "document_defects": 15,
    }
    got = iv.record_online(
        ops, tree_store, user, "A-D1|320100|N-1", [given[i] for i in order], [], "2025-01-11", None, order
    )
    assert (got.counts.loaded, got.counts.rejected) == (1, 0)
    row = _stored(tree_store)[("A-D1", "N-1")]
    assert (float(row["total"]), row["grade"], row["checklist_version"]) == (80, "good", "2024-A")
    assert json.loads(row["defects"]) == {"filing_time": 0, "record_defects": 1, "document_defects": 15}


def test_the_web_plan_form_names_the_checklist(checklists) -> None:
    from dashboard.plan_form import plan_toml

    text = plan_toml(
        plan_id="W",
        year=2024,
        scope="100000",
        strata=["office_code"],
        rule="ratio",
        ratio=0.05,
        minimum=2,
        maximum=20,
        confidence=0.95,
        tolerable=0.05,
        expected=0,
        per_office=2,
        cap=6,
        exclude=["own_office"],
        checklist="2024-A",
    )
    assert parse_plan(text)["checklist"] == "2024-A"

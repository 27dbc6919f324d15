"""Inspection results worked by hand in tests/fixtures/inspection/README.md: the population leaves
out archives whose review is pending, and the projection is stratified (Σ N_h·p_h)."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.opstore import OpStore, default_path
from ingest.run import ingest
from inspection.plans import create_plan, lock_plan, run_draw
from inspection.results import draw_results, stratified_projection
from queries.store import Store

HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式,复议诉讼结果\n"
PLAN = """plan_id = "{id}"
year = 2024
scope = "330100"
{extra}
[rule]
min_per_stratum = 2
max_per_stratum = 2
[inspectors]
per_office = 1
exclude = ["own_office"]
"""


def world(tree_store: Store, tmp_path: Path) -> Path:
    lines = [
        f"H-{i},330100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,无" for i in range(1, 9)
    ]
    lines += [f"K-{i},330100,假冒专利,发明,依职权,2024-03-01,2024-03-04,2024-04-01,行政处罚,无" for i in (1, 2)]
    lines.append("H-9,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,审理中")
    path = tmp_path / "cases.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(path)], progress=False).counts.loaded == 11
    return path


def test_the_population_leaves_out_pending_reviews_and_says_how_many(tree_store: Store, tmp_path: Path) -> None:
    world(tree_store, tmp_path)
    ops = OpStore(default_path(tree_store.path))
    create_plan(ops, tree_store, PLAN.format(id="S", extra=""), actor="t")
    got = lock_plan(ops, tree_store, "S", out_dir=tmp_path, actor="t")
    assert (got["population"], got["excluded_pending_review"]) == (10, 1)
    assert b",H-9," not in Path(got["population_file"]).read_bytes()
    create_plan(ops, tree_store, PLAN.format(id="S2", extra="exclude_pending_review = false"), actor="t")
    kept = lock_plan(ops, tree_store, "S2", out_dir=tmp_path, actor="t")
    assert (kept["population"], kept["excluded_pending_review"]) == (11, 0)


def test_the_projection_is_stratified(tree_store: Store, tmp_path: Path) -> None:
    world(tree_store, tmp_path)
    ops = OpStore(default_path(tree_store.path))
    create_plan(ops, tree_store, PLAN.format(id="S", extra=""), actor="t")
    lock_plan(ops, tree_store, "S", out_dir=tmp_path, actor="t")
    manifest = run_draw(ops, tree_store, "S", seed="20241231", actor="t")
    sample = manifest["sample"]
    assert sorted(s["stratum"] for s in sample) == ["330100|counterfeit"] * 2 + ["330100|infringement_dispute"] * 2
    inspector = manifest["assignments"][0]["inspector_id"]
    rows = ["抽查批次,办案机构代码,案号,评查人员,立案受理,调查取证,事实认定,法律适用,办案程序,文书归档,评查日期"]
    for s in sample:
        scores = "6,12,12,12,9,9" if s["stratum"].endswith("counterfeit") else "8,16,16,16,12,12"
        rows.append(f"{manifest['draw_id']},{s['office_code']},{s['case_no']},{inspector},{scores},2025-01-10")
    path = tmp_path / "appraisals.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert ingest(tree_store, "appraisals", [str(path)], progress=False).counts.loaded == 4
    office = draw_results(ops, tree_store, "S")["offices"][0]
    assert (office["population"], office["appraised"], office["unqualified"]) == (10, 4, 2)
    assert office["projected_unqualified"] == 2.0
    assert office["projected_interval"] == [0.2, 9.1]
    assert office["unqualified_rate"] == 0.5
    assert office["interval"] == [pytest.approx(0.0675860), pytest.approx(0.9324140)]


@pytest.mark.parametrize(
    ("strata", "estimate", "interval", "missing"),
    [
        ({"a": (40, 4, 0), "b": (10, 2, 2)}, 10.0, [1.1, 36.6], 0),
        ({"a": (30, 2, 1)}, 15.0, [0.4, 29.6], 0),
        ({"a": (30, 2, 1), "b": (5, 0, 0)}, None, None, 1),
        ({"a": (30, 2, 1), "empty": (0, 0, 0)}, 15.0, [0.4, 29.6], 0),
    ],
)
def test_stratified_projection_by_hand(strata, estimate, interval, missing) -> None:
    got = stratified_projection(strata)
    assert (got["estimate"], got["interval"], got["strata_unappraised"]) == (estimate, interval, missing)

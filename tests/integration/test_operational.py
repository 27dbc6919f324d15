"""The operational core: draws, appraisals, publications and report jobs are records of the
operational store, each one transaction with its audit entry, on SQLite and on PostgreSQL.

Each test here failed on the design before it (appraisals and draw samples in the analytic file,
report jobs in one process's memory, population files recorded relative to the working directory).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from access import audit
from access.opstore import OpStore, default_path
from access.users import add_user
from ingest.readers import Limits, RefusedFile, read_any
from ingest.run import Assignment, ingest
from inspection.plans import PlanError, create_plan, list_plans, lock_plan, run_draw, void_draw
from inspection.results import draw_results, publish, published
from metrics.config import default_config
from metrics.indicators import compute_indicators
from queries.store import Store
from tests import dash_helpers as dh
from tests.conftest import ipdash_cli, with_appraisals_of

PASSWORD = "operational-test-password"
PLAN = (
    'plan_id = "P"\nyear = 2024\nscope = "110000"\ntitle = "2024 年度 P1 省局案卷抽查"\n'
    '[inspectors]\nworkload_cap = 10\nexclude = ["own_office"]\n'
)
ITEMS = dh.APPRAISAL_ITEMS


@pytest.fixture
def world(golden_metrics, tmp_path: Path, monkeypatch, ops_url):
    """A copy of the golden store in a directory of its own, with its operational store (SQLite, or
    PostgreSQL) holding the golden appraisals."""
    db = tmp_path / "store" / "ipdash.duckdb"
    db.parent.mkdir()
    shutil.copyfile(golden_metrics.path, db)
    source = golden_metrics.ops  # opened before any database URL is set
    if ops_url:
        monkeypatch.setenv("IPDASH_DATABASE_URL", ops_url)
    ops = OpStore(default_path(db))
    assert ops.backend == ("postgresql" if ops_url else "sqlite")
    with_appraisals_of(Store(golden_metrics.path, ops=source), ops)
    return Store(db, ops=ops), ops


def locked(store: Store, ops: OpStore, text: str = PLAN, plan_id: str = "P") -> str:
    create_plan(ops, store, text, actor="admin")
    lock_plan(ops, store, plan_id, out_dir=store.path.parent / "plans", actor="admin")
    return plan_id


def appraisal_csv(path: Path, rows: list[tuple[str, str, str, str, list[int]]]) -> str:
    lines = ["draw_id,office_code,case_no,inspector_id," + ",".join(ITEMS) + ",veto,inspected_at"]
    lines += [f"{d},{o},{c},{i},{','.join(map(str, s))},,2025-01-10" for d, o, c, i, s in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def actions(ops: OpStore) -> list[str]:
    return [e["action"] for e in reversed(audit.recent(ops, 1000))]


# --- draws -------------------------------------------------------------------------------------


def test_a_draw_while_an_ingest_holds_the_store_is_complete(world) -> None:
    store, ops = world
    locked(store, ops)
    with store._lock():  # an ingest of the analytic file is running
        manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    samples = ops.read("SELECT office_code, case_no FROM draw_samples WHERE draw_id = 'P-D1'")
    assert sorted((r["office_code"], r["case_no"]) for r in samples) == sorted(
        (s["office_code"], s["case_no"]) for s in manifest["sample"]
    )
    assert actions(ops)[-1] == "draw" and audit.verify(ops).ok


def test_a_draw_that_fails_leaves_nothing_and_a_retry_needs_no_void(world, monkeypatch) -> None:
    store, ops = world
    locked(store, ops)
    real = audit.append

    def failing(con, *, action, **kw):
        if action == "draw":
            raise OSError("disk full while writing the audit entry")
        return real(con, action=action, **kw)

    monkeypatch.setattr(audit, "append", failing)
    with pytest.raises(OSError):
        run_draw(ops, store, "P", seed="7", actor="admin")
    assert ops.read("SELECT count(*) AS n FROM draws")[0]["n"] == 0
    assert ops.read("SELECT count(*) AS n FROM draw_samples")[0]["n"] == 0
    monkeypatch.setattr(audit, "append", real)
    assert run_draw(ops, store, "P", seed="7", actor="admin")["draw_id"] == "P-D1"  # no void needed
    assert audit.verify(ops).ok


def test_plan_lock_and_draw_work_from_different_directories(golden_metrics, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "data").mkdir(parents=True)
    b.mkdir()
    shutil.copyfile(golden_metrics.path, a / "data" / "ipdash.duckdb")
    (a / "plan.toml").write_text(PLAN, encoding="utf-8")

    def run(cwd: Path, db: str, *args: str):
        return subprocess.run(
            [sys.executable, "-m", "ipdash.cli", *args, "--db", db, "--json"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )

    assert run(a, "data/ipdash.duckdb", "plan", "create", "plan.toml").returncode == 0
    assert run(a, "data/ipdash.duckdb", "plan", "lock", "P").returncode == 0
    drawn = run(b, "../a/data/ipdash.duckdb", "draw", "P", "--seed", "7", "--out", "m.json")
    assert drawn.returncode == 0, drawn.stderr
    assert run(tmp_path, "a/data/ipdash.duckdb", "plan", "results", "P").returncode == 0
    recorded = OpStore(a / "data" / "ipdash-ops.sqlite").read("SELECT population_file FROM plans")[0]
    assert not os.path.isabs(recorded["population_file"])  # relative to the store, not to a cwd


# --- appraisals --------------------------------------------------------------------------------


def test_appraisals_live_in_the_operational_store_and_change_only_their_years_figures(world, tmp_path) -> None:
    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    appraised = {(r["office_code"], r["case_no"]) for r in ops.read("SELECT office_code, case_no FROM appraisals")}
    first = next(
        s
        for s in manifest["sample"]
        if s["office_code"] == "110000" and (s["office_code"], s["case_no"]) not in appraised
    )
    inspector = manifest["assignments"][0]["inspector_id"]
    identity = os.stat(store.path)
    config = default_config()
    with contextlib.closing(store.reader()) as con:
        before = compute_indicators(con, config, year=2024).frame
        before_2023 = compute_indicators(con, config, year=2023).frame
    got = ingest(
        store,
        "appraisals",
        [appraisal_csv(tmp_path / "a.csv", [("P-D1", first["office_code"], first["case_no"], inspector, [5] * 6)])],
        progress=False,
        actor="insp",
    )
    assert got.counts.loaded == 1
    after_stat = os.stat(store.path)
    assert (after_stat.st_ino, after_stat.st_mtime_ns) == (identity.st_ino, identity.st_mtime_ns)  # not republished
    with contextlib.closing(store.reader()) as con:
        after = compute_indicators(con, config, year=2024).frame
        after_2023 = compute_indicators(con, config, year=2023).frame
    row = lambda f: f.filter(f["office_code"] == "110000").to_dicts()[0]
    assert row(after)["Q1_den"] == row(before)["Q1_den"] + 1  # the archive counts at once
    assert row(after)["Q1_num"] == row(before)["Q1_num"] + 30
    assert after_2023.equals(before_2023)
    versions = ops.versions()
    assert versions.get("appraisals:2024", 0) >= 1 and "appraisals:2023" not in versions
    assert actions(ops)[-1] == "ingest.appraisals", audit.recent(ops, 3)


def test_the_overlay_reads_only_newer_runs_and_matches_a_full_read(world, tmp_path) -> None:
    """After a change the overlay merges in the rows of newer runs; what it holds is always what a
    full read of the operational store gives, also after a result is replaced or rows are removed."""
    from queries.operational import _RAW_SCHEMA, Overlay, raw_frame

    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    overlay = Overlay(ops)
    full = lambda: raw_frame(ops.read("SELECT * FROM appraisals ORDER BY office_code, case_no, draw_id"), _RAW_SCHEMA)
    assert overlay.snapshot().appraisals.equals(full())
    s = manifest["sample"][0]
    inspector = next(a["inspector_id"] for a in manifest["assignments"] if a["office_code"] == s["office_code"])
    reads: list[str] = []
    real_read = ops.read
    real_batches = ops.batches
    ops.read = lambda sql, params=(): (reads.append(sql), real_read(sql, params))[1]  # type: ignore[method-assign]
    ops.batches = lambda sql, params=(), size=50_000: (reads.append(sql), real_batches(sql, params, size))[1]  # type: ignore[method-assign]
    for k, score in enumerate((5, 6)):  # a new result, then the same archive changed
        ingest(
            store,
            "appraisals",
            [appraisal_csv(tmp_path / f"a{k}.csv", [("P-D1", s["office_code"], s["case_no"], inspector, [score] * 6)])],
            progress=False,
            actor="insp",
        )
        reads.clear()
        snap = overlay.snapshot()
        assert snap.appraisals.equals(full())
        assert any("run_id > ?" in q for q in reads) and not any("draw_samples" in q for q in reads)
    mine = snap.appraisals.filter((snap.appraisals["draw_id"] == "P-D1") & (snap.appraisals["case_no"] == s["case_no"]))
    assert mine["total"].to_list() == ["36.00"]
    with ops.write() as con:  # rows removed (as a demo rebuild does)
        con.execute("DELETE FROM appraisals WHERE draw_id = 'P-D1'")
        from access.opstore import bump

        bump(con, "appraisals")
    assert overlay.snapshot().appraisals.equals(full())
    assert overlay.snapshot().appraisals.filter(pl.col("draw_id") == "P-D1").height == 0


def test_a_new_process_reads_the_appraisals_from_the_mirror_until_they_change(world, tmp_path, monkeypatch) -> None:
    """The first full read keeps every appraisal beside the result cache; the next overlay (a
    command, a worker starting) reads that file, not the operational store, and equals a full read;
    after a change, or in another operational store, the file is not used."""
    from queries.operational import _RAW_SCHEMA, MIRROR, Overlay, raw_frame

    store, ops = world
    locked(store, ops)
    run_draw(ops, store, "P", seed="7", actor="admin")
    where = tmp_path / "store.cache" / "publish"
    full = lambda: raw_frame(ops.read("SELECT * FROM appraisals ORDER BY office_code, case_no, draw_id"), _RAW_SCHEMA)
    assert Overlay(ops).snapshot(mirror=lambda: where).appraisals.equals(full())
    (kept,) = where.parent.glob(f"{MIRROR}*.parquet")
    reads: list[str] = []
    real_read = ops.read
    real_batches = ops.batches
    ops.read = lambda sql, params=(): (reads.append(sql), real_read(sql, params))[1]  # type: ignore[method-assign]
    ops.batches = lambda sql, params=(), size=50_000: (reads.append(sql), real_batches(sql, params, size))[1]  # type: ignore[method-assign]
    assert Overlay(ops).snapshot(mirror=lambda: where).appraisals.equals(full())
    assert not any("FROM appraisals ORDER BY" in q for q in reads[:-1]), reads
    with ops.write() as con:
        con.execute(
            "DELETE FROM appraisals WHERE (office_code, case_no, draw_id) IN "
            "(SELECT office_code, case_no, draw_id FROM appraisals ORDER BY office_code, case_no, draw_id LIMIT 1)"
        )
        from access.opstore import bump

        bump(con, "appraisals")
    reads.clear()
    assert Overlay(ops).snapshot(mirror=lambda: where).appraisals.equals(full())
    assert any("FROM appraisals ORDER BY" in q for q in reads[:-1]), reads
    assert [p.name for p in where.parent.glob(f"{MIRROR}*.parquet")] != [kept.name]  # replaced, not added
    monkeypatch.delenv("IPDASH_DATABASE_URL", raising=False)  # another store: a SQLite file of its own
    other = OpStore(tmp_path / "other-ops.sqlite")
    assert other.identity != ops.identity
    assert Overlay(other).snapshot(mirror=lambda: where).appraisals.height == 0


def test_a_changed_result_is_audited_as_a_change(world, tmp_path) -> None:
    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    s = manifest["sample"][0]
    ins = manifest["assignments"][0]["inspector_id"]
    ingest(
        store,
        "appraisals",
        [appraisal_csv(tmp_path / "a.csv", [("P-D1", s["office_code"], s["case_no"], ins, [10, 20, 20, 20, 15, 15])])],
        progress=False,
    )
    again = ingest(
        store,
        "appraisals",
        [appraisal_csv(tmp_path / "b.csv", [("P-D1", s["office_code"], s["case_no"], ins, [10, 20, 20, 20, 15, 5])])],
        progress=False,
        actor="insp",
    )
    assert (again.counts.updated, again.counts.loaded) == (1, 0)
    change = next(e for e in audit.recent(ops) if e["action"] == "appraisal.change")
    detail = json.loads(change["detail"])
    assert (detail["total_before"], detail["total_after"], change["actor"]) == ("100.00", "90.00", "insp")
    version = ops.versions()["appraisals"]
    unchanged = ingest(store, "appraisals", [str(tmp_path / "b.csv")], progress=False)
    assert unchanged.counts.unchanged == 1 and ops.versions()["appraisals"] == version  # nothing new, no new version


def test_untouched_checklist_rows_are_not_filled_not_errors(world, tmp_path) -> None:
    from inspection.checklist import assigned_archives, write_checklist

    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    ins = manifest["assignments"][0]["inspector_id"]
    draw_id, archives = assigned_archives(ops, store, "P", ins)
    assert len(archives) >= 3
    path = tmp_path / "checklist.xlsx"
    write_checklist(path, draw_id=draw_id, inspector_id=ins, archives=archives)
    wb = openpyxl.load_workbook(path)
    ws = wb["评查表"]
    for c, v in zip(range(7, 13), [10, 20, 18, 18, 14, 14]):
        ws.cell(4, c, v)
    ws.cell(4, 14, "2025-01-20")
    wb.save(path)
    got = ingest(store, "appraisals", [str(path)], progress=False)
    assert (got.counts.loaded, got.counts.rejected, got.counts.read) == (1, 0, 1)
    assert got.as_json()["not_filled"] == len(archives) - 1


# --- uploads -----------------------------------------------------------------------------------


def test_an_upload_over_the_row_limit_is_refused_before_its_rows_are_parsed(world, tmp_path) -> None:
    store, _ops = world
    rows = [("", "110000", f"P1a-{k:02d}", "I-2", [10] * 6) for k in range(1, 7)]
    with pytest.raises(RefusedFile, match="more than the 5 an upload may hold"):
        ingest(
            store, "appraisals", [appraisal_csv(tmp_path / "a.csv", rows)], progress=False, limits=Limits(max_rows=5)
        )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            "抽查批次",
            "办案机构代码",
            "案号",
            "评查人员",
            "立案受理",
            "调查取证",
            "事实认定",
            "法律适用",
            "办案程序",
            "文书归档",
            "评查日期",
        ]
    )
    for k in range(20):
        ws.append(["", "110000", f"X-{k}", "I-2", 1, 1, 1, 1, 1, 1, "2025-01-01"])
    wb.save(tmp_path / "big.xlsx")
    with pytest.raises(RefusedFile, match="more than 5 rows"):
        ingest(store, "appraisals", [str(tmp_path / "big.xlsx")], progress=False, limits=Limits(max_rows=5))


def test_a_decompression_bomb_is_refused_in_bounded_memory(tmp_path) -> None:
    from ingest.contract import default_contract

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(400):  # 400 MB of spaces, a few hundred KB packed
                fh.write(chunk)
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(RefusedFile, match="unpack to 400 MB"):
            read_any(bomb, default_contract().kinds["appraisals"], Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20


def test_a_workbook_with_malformed_xml_gets_a_message(tmp_path) -> None:
    from ingest.contract import default_contract

    good = tmp_path / "good.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["案号", "办案机构代码"])
    wb.save(good)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b"<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>0</v></c>"  # cut off
            dst.writestr(item, data)
    with pytest.raises(RefusedFile, match="damaged|cannot be opened"):
        read_any(broken, default_contract().kinds["appraisals"], Limits())


def test_the_server_bounds_every_request_body(world, monkeypatch) -> None:
    from dashboard.app import create_app

    store, ops = world
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    monkeypatch.setenv("IPDASH_MAX_REQUEST_MB", "1")
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    client = create_app(db=str(store.path), ops_path=str(ops.path)).server.test_client()
    dh.login(client, "leader", PASSWORD)
    body = json.dumps({"output": "x", "inputs": [{"id": "a", "property": "b", "value": "x" * (2 << 20)}]})
    got = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert got.status_code == 413 and "1 MB" in got.get_json()["error"]


# --- the inspection workflow -------------------------------------------------------------------


def test_publication_voiding_and_the_public_page(world, tmp_path, monkeypatch) -> None:
    from dashboard.app import create_app

    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    ins = manifest["assignments"][0]["inspector_id"]
    mine = [s for s in manifest["sample"] if s["office_code"] == "110000"][:2]
    ingest(
        store,
        "appraisals",
        [
            appraisal_csv(
                tmp_path / "a.csv",
                [("P-D1", s["office_code"], s["case_no"], ins, [10, 20, 20, 20, 15, 15]) for s in mine],
            )
        ],
        progress=False,
    )
    results = draw_results(ops, store, "P")
    assert results["unappraised"] == len(manifest["sample"]) - 2
    assert {o["office_code"] for o in results["offices"]} >= {s["office_code"] for s in manifest["sample"]}
    assert all(o["population"] > 0 for o in results["offices"])
    with pytest.raises(PlanError, match="not appraised yet"):
        publish(ops, store, "P", actor="admin")
    with pytest.raises(PlanError, match="reason"):
        publish(ops, store, "P", actor="admin", partial_reason="no")
    assert published(ops) == []
    publish(ops, store, "P", actor="admin", partial_reason="年底前公开已评查部分")
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(store.path), ops_path=str(ops.path)).server.test_client()
    page = client.get("/public").get_data(as_text=True)
    assert "2024 年度 P1 省局案卷抽查" in page and "P1 省局" in page and "年底前公开已评查部分" in page
    assert "尚未评查" in page  # offices with nothing appraised yet are shown
    got = client.get("/public/P/manifest.json")
    population = client.get("/public/P/population.csv")
    assert got.status_code == 200 and population.status_code == 200
    (tmp_path / "m.json").write_bytes(got.data)
    (tmp_path / "pop.csv").write_bytes(population.data)
    verified = ipdash_cli("verify-draw", str(tmp_path / "m.json"), "--population", str(tmp_path / "pop.csv"))
    assert verified.returncode == 0, verified.stdout + verified.stderr  # an outsider can check it
    assert client.get("/public/nothing/manifest.json").status_code == 404
    assert b"office_code,case_no" not in client.get("/public/..%2F..%2Fetc/population.csv").data
    add_user(ops, username="admin", role="national_admin", password=PASSWORD)
    dh.login(client, "admin", PASSWORD)
    plan_page = dh.content(client, "/inspection/P")
    assert dh.by_id(plan_page, "plan-title")["props"]["children"] == "2024 年度 P1 省局案卷抽查"
    summary = dh.text(dh.by_id(plan_page, "plan-spec-summary"))  # the parameters in words, scope by name
    assert (
        "P1 省局（110000）" in summary and "办案机构、案件类型" in summary and "每人至多 10 件，回避本机构" in summary
    )
    assert "部分公开，理由：年底前公开已评查部分" in dh.text(dh.by_id(plan_page, "plan-published"))
    # No code or identifier reaches the reader: the page's words, the grids' headers and cells
    # (strata in words: "P1 省局 · 专利侵权纠纷"), the audit log's actions and details.
    assert not SNAKE.findall(dh.text(plan_page)), SNAKE.findall(dh.text(plan_page))
    sample = dh.by_id(plan_page, "draw-sample")["props"]
    assert all("|" not in r["stratum"] and not SNAKE.findall(r["stratum"]) for r in sample["rowData"]), sample[
        "rowData"
    ][:3]
    assert [c["headerName"] for c in sample["columnDefs"]] == ["机构代码", "机构", "案号", "层"]
    assert "localeText" in sample["dashGridOptions"]
    log = client.get("/audit").get_data(as_text=True)
    assert "\\u" not in log and "公开抽查结果 · results published" in log and "北京时间" in log

    done = void_draw(ops, "P-D1", reason="抽取时种子录入错误", actor="admin")
    assert done["publication_withdrawn"]
    withdrawn = published(ops)[0]
    assert withdrawn["withdrawn_at"] and withdrawn["withdraw_reason"] == "抽取时种子录入错误"
    page = client.get("/public").get_data(as_text=True)
    assert "已撤回" in page and "抽取时种子录入错误" in page
    assert "UTC" not in page and "北京时间 Beijing time" in page  # withdrawn when, in Beijing time
    void = next(e for e in audit.recent(ops) if e["action"] == "draw.void")
    assert json.loads(void["detail"])["publication_withdrawn"] is True
    assert audit.verify(ops).ok


# --- the inspector's pages, through hand-crafted callbacks -------------------------------------


SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # an identifier such as infringement_dispute


def _overwrite_key(client) -> str:
    deps = json.loads(client.get("/_dash-dependencies").data)
    return next(d["output"] for d in deps if d["output"].startswith("appraisal-result.children@"))


def test_the_inspector_sees_done_and_pending_and_overwriting_asks_first(world, monkeypatch) -> None:
    from dashboard.app import create_app

    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    ins = manifest["assignments"][0]["inspector_id"]
    offices = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == ins}
    mine = [s for s in manifest["sample"] if s["office_code"] in offices]
    add_user(ops, username="insp", role="inspector", password=PASSWORD, scope_code=ins)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(store.path), ops_path=str(ops.path)).server.test_client()
    dh.login(client, "insp", PASSWORD)
    first = f"P-D1|{mine[0]['office_code']}|{mine[0]['case_no']}"

    got = client.post("/_dash-update-component", json=dh.appraisal_body(first, [10, 20, 20, 20, 15, 15]))
    response = json.loads(got.data)["response"]
    assert "新增 1" in dh.text(response["appraisal-result"]["children"])
    assert response["appraisal-overwrite"]["displayed"] is False
    page = dh.content(client, "/archives")
    assert f"已评查 1 / {len(mine)} 件" in dh.text(page)
    status = {r["case_no"]: r["status"] for r in dh.archive_rows(client)["rowData"]}
    assert status[mine[0]["case_no"]] == "已评查" and list(status.values()).count("待评查") == len(mine) - 1
    # The list comes page by page from the server: sliced, filtered and sorted there.
    one = dh.archive_rows(client, {"endRow": 1})
    assert len(one["rowData"]) == 1 and one["rowCount"] == len(mine)
    assert one["rowData"][0]["status"] == "待评查"  # pending first
    pending = dh.archive_rows(
        client, {"filterModel": {"status": {"filterType": "text", "type": "equals", "filter": "待评查"}}}
    )
    assert pending["rowCount"] == len(mine) - 1
    ordered = dh.archive_rows(client, {"sortModel": [{"colId": "case_no", "sort": "desc"}]})["rowData"]
    assert [r["case_no"] for r in ordered] == sorted((r["case_no"] for r in ordered), reverse=True)

    load = {
        "output": dh_output_of(client, "appraisal-existing.children"),
        "outputs": [
            [{"id": {"type": "appraisal-item", "item": i}, "property": "value"} for i in ITEMS],
            {"id": "appraisal-veto", "property": "value"},
            {"id": "appraisal-date", "property": "value"},
            {"id": "appraisal-existing", "property": "children"},
            [{"id": {"type": "appraisal-note", "item": i}, "property": "value"} for i in ITEMS],
            [{"id": {"type": "appraisal-item-field", "item": i}, "property": "style"} for i in ITEMS],
            {"id": "appraisal-checklist", "property": "children"},
        ],
        "inputs": [{"id": "appraisal-archive", "property": "value", "value": first}],
        "state": [
            [
                {
                    "id": {"type": "appraisal-item", "item": i},
                    "property": "id",
                    "value": {"type": "appraisal-item", "item": i},
                }
                for i in ITEMS
            ],
            {"id": "lang", "property": "value", "value": "zh"},
        ],
        "changedPropIds": ["appraisal-archive.value"],
    }
    loaded = json.loads(client.post("/_dash-update-component", json=load).data)["response"]
    assert "100.00 分" in loaded["appraisal-existing"]["children"]  # the form shows what is recorded

    again = json.loads(
        client.post("/_dash-update-component", json=dh.appraisal_body(first, [10, 20, 20, 20, 15, 1])).data
    )["response"]
    assert again["appraisal-overwrite"]["displayed"] is True  # asks first, records nothing yet
    assert (
        ops.read("SELECT total FROM appraisals WHERE draw_id = 'P-D1' AND case_no = ?", (mine[0]["case_no"],))[0][
            "total"
        ]
        == "100.00"
    )
    body = dh.appraisal_body(
        first, [10, 20, 20, 20, 15, 1], confirm_output=_overwrite_key(client), notes=[None] * 5 + ["送达回证缺失 "]
    )
    confirmed = json.loads(client.post("/_dash-update-component", json=body).data)["response"]
    assert "更新 1" in dh.text(confirmed["appraisal-result"]["children"])
    stored = ops.read("SELECT notes FROM appraisals WHERE draw_id = 'P-D1' AND case_no = ?", (mine[0]["case_no"],))
    assert json.loads(stored[0]["notes"]) == {"documents": "送达回证缺失"}  # the inspector's note, trimmed
    reloaded = json.loads(client.post("/_dash-update-component", json=load).data)["response"]
    notes = {
        i: reloaded[json.dumps({"item": i, "type": "appraisal-note"}, separators=(",", ":"))]["value"] for i in ITEMS
    }
    assert notes == {**dict.fromkeys(ITEMS), "documents": "送达回证缺失"}  # the form shows the note on record
    assert any(e["action"] == "appraisal.change" and e["actor"] == "insp" for e in audit.recent(ops))


def dh_output_of(client, needle: str) -> str:
    deps = json.loads(client.get("/_dash-dependencies").data)
    return next(d["output"] for d in deps if needle in d["output"])


def test_an_online_appraisal_keeps_the_file_and_the_monitoring_page_warm(world, monkeypatch) -> None:
    import dashboard.case_views as case_views_module
    import dashboard.views as views_module
    from dashboard.app import create_app

    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    ins = manifest["assignments"][0]["inspector_id"]
    s = next(
        x
        for x in manifest["sample"]
        if x["office_code"] in {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == ins}
    )
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    add_user(ops, username="insp", role="inspector", password=PASSWORD, scope_code=ins)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(store.path), ops_path=str(ops.path), refresh_in_background=True)  # as `ipdash serve`
    leader, insp = app.server.test_client(), app.server.test_client()
    dh.login(leader, "leader", PASSWORD)
    dh.login(insp, "insp", PASSWORD)
    profile = f"/office/{s['office_code']}"
    dh.content(leader, "/monitor", year=2024)
    before = dh.text(dh.content(leader, profile, year=2024))
    identity = os.stat(store.path)

    counted: dict[str, list] = {"monitor": [], "indicators": []}
    real_open, real_ind = case_views_module.open_cases, views_module.compute_indicators
    monkeypatch.setattr(
        case_views_module, "open_cases", lambda *a, **k: (counted["monitor"].append(1), real_open(*a, **k))[1]
    )
    monkeypatch.setattr(
        views_module,
        "compute_indicators",
        lambda con, config, *, year, as_of=None: (
            counted["indicators"].append(year),
            real_ind(con, config, year=year, as_of=as_of),
        )[1],
    )
    got = insp.post(
        "/_dash-update-component", json=dh.appraisal_body(f"P-D1|{s['office_code']}|{s['case_no']}", [1, 1, 1, 1, 1, 1])
    )
    assert "新增 1" in dh.text(json.loads(got.data)["response"]["appraisal-result"]["children"])
    now = os.stat(store.path)
    assert (now.st_ino, now.st_mtime_ns) == (identity.st_ino, identity.st_mtime_ns)  # the file is untouched
    dh.content(leader, "/monitor", year=2024)
    assert counted["monitor"] == []  # still cached
    # The next load is answered at once from the figures held, saying newer ones are being counted;
    # they are computed in the background and shown at a later load.
    first = dh.text(dh.content(leader, profile, year=2024))
    assert "正在计入" in first and figures(first) == figures(before)
    deadline = time.monotonic() + 60
    while "正在计入" in (after := dh.text(dh.content(leader, profile, year=2024))):
        assert time.monotonic() < deadline, "the new figures never came"
        time.sleep(0.05)
    assert "质量维度计入了" in after
    assert figures(after) != figures(before)  # the Q figures moved
    assert 2024 in counted["indicators"] and 2023 not in counted["indicators"]  # only that year again


def figures(text: str) -> str:
    """A page's words without the line saying up to when its figures count appraisals."""
    return re.sub(r"质量维度计入了[^。]*。(\s*此后[^。]*。)?", "", text)


# --- report jobs -------------------------------------------------------------------------------


def _jobs(store, ops, name):
    from dashboard.report_jobs import ReportJobs

    jobs = ReportJobs(store, ops, default_config())
    jobs.worker = name  # two workers (or hosts) over the same stores
    return jobs


def test_a_report_started_on_one_worker_is_fetched_from_another(world) -> None:
    from access.users import get_user

    store, ops = world
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    user = get_user(ops, "leader")
    a, b = _jobs(store, ops, "host-a:1"), _jobs(store, ops, "host-b:2")
    assert a.start(user, year=2024, lang="zh")[0]
    refused = b.start(user, year=2024, lang="zh")  # one at a time, whichever worker is asked
    assert not refused[0] and "already" in refused[1]
    deadline = time.time() + 120
    while time.time() < deadline and not (b.status("leader") and b.status("leader").finished):
        time.sleep(0.2)
    job = b.status("leader")
    assert job.state == "done", job
    name, data = b.take("leader")
    assert "-2024-national-" in name and openpyxl.load_workbook(io.BytesIO(data))["排名"].max_row > 1
    assert a.take("leader") is None  # handed out once
    assert not list(a.dir.glob("*.xlsx"))  # and removed
    assert "export.report" in actions(ops)


def test_a_job_whose_worker_died_is_taken_over(world) -> None:
    import datetime as dt

    store, ops = world
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    with ops.write() as con:
        con.execute(
            "INSERT INTO report_jobs (job_id, username, year, lang, scope, state, progress, stage, created_at, "
            "heartbeat_at, worker) VALUES ('dead', 'p1', 2024, 'zh', '110000', 'running', 0.3, 'writing', ?, ?, "
            "'gone:1')",
            (old, old),
        )
    b = _jobs(store, ops, "host-b:2")
    deadline = time.time() + 120
    job = b.status("p1")
    while time.time() < deadline and not job.finished:
        time.sleep(0.2)
        job = b.status("p1")
    assert job.state == "done" and job.job_id == "dead"
    assert b.take("p1")[0].startswith("p1-2024-110000-")


# --- the demo ----------------------------------------------------------------------------------


def test_the_demo_inspector_has_archives_in_a_demo_plan(tmp_path) -> None:
    db = tmp_path / "demo" / "ipdash.duckdb"
    done = ipdash_cli("demo", "--build-only", "--db", str(db), "--cases", "4000", "--quiet", "--json")
    assert done.returncode == 0, done.stderr
    logins = {u["username"]: u for u in json.loads(done.stdout)["logins"]}
    ops = OpStore(default_path(db))
    from inspection.plans import archives_of_inspector

    assert logins["inspector"]["scope"] and archives_of_inspector(ops, logins["inspector"]["scope"])
    plans = {p["plan_id"].rsplit("-", 2)[0]: p for p in list_plans(ops)}
    assert set(plans) == {"demo", "demo-published"}  # the drawn plan and the published one (issue 18)
    assert all(p["draws"] and p["spec"]["title"] for p in plans.values())
    assert plans["demo-published"]["published_at"] and not plans["demo"]["published_at"]
    again = ipdash_cli("demo", "--build-only", "--db", str(db), "--quiet", "--json")  # once, not again
    assert again.returncode == 0 and len(list_plans(ops)) == 2


def test_concurrent_uploads_of_one_archive_count_once(world, tmp_path) -> None:
    store, ops = world
    locked(store, ops)
    manifest = run_draw(ops, store, "P", seed="7", actor="admin")
    s = manifest["sample"][0]
    ins = manifest["assignments"][0]["inspector_id"]
    only = Assignment(ins, frozenset((x["office_code"], x["case_no"]) for x in manifest["sample"]))
    paths = [
        appraisal_csv(tmp_path / f"{k}.csv", [("P-D1", s["office_code"], s["case_no"], ins, [10] * 6)])
        for k in range(4)
    ]
    results = []

    def one(path):
        results.append(ingest(store, "appraisals", [path], progress=False, only=only).counts)

    threads = [threading.Thread(target=one, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((c.loaded, c.unchanged) for c in results) == [(0, 1), (0, 1), (0, 1), (1, 0)]
    assert ops.read("SELECT count(*) AS n FROM appraisals WHERE draw_id = 'P-D1'")[0]["n"] == 1


def test_a_long_read_in_batches_gives_every_row_once(world) -> None:
    """`OpStore.batches` hands a long read over a few rows at a time (the overlay's full read of
    every appraisal): together the batches are the rows of one read, in order."""
    store, ops = world
    locked(store, ops)
    run_draw(ops, store, "P", seed="7", actor="admin")
    sql = "SELECT office_code, case_no, draw_id FROM draw_samples ORDER BY office_code, case_no, draw_id"
    whole = [tuple(r) for r in ops.read(sql)]
    parts = list(ops.batches(sql, size=3))
    assert len(whole) > 3 and all(0 < len(p) <= 3 for p in parts)
    assert [tuple(r) for p in parts for r in p] == whole


def test_the_mirror_folder_is_looked_up_once_per_process_not_per_request(world, monkeypatch) -> None:
    """A serving worker keeps the appraisal mirror; its folder costs two DuckDB queries, asked only
    when the overlay reads every appraisal, never on each request's reused connection."""
    from queries import result_cache

    db, ops = world
    asked: list[int] = []
    real = result_cache.cache_dir
    monkeypatch.setattr(result_cache, "cache_dir", lambda con: (asked.append(1), real(con))[1])
    store = Store(db.path, ops=ops, mirror_appraisals=True)
    for _ in range(3):
        store.thread_reader()
    assert len(asked) == 1

"""Rectification notices from the command line, end to end (issue 18 item 1), and who may act on
them (the permission policy, with users as the web hands them over)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from access.opstore import OpStore, default_path
from access.users import User
from ingest.run import ingest
from inspection.rectification import RectificationError, act, due_date, findings, list_notices
from queries.store import Store
from tests.conftest import ipdash_cli

HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式\n"
PLAN = """plan_id = "R"
year = 2024
scope = "100000"
[rule]
min_per_stratum = 2
max_per_stratum = 2
[inspectors]
per_office = 1
[rectification]
due_working_days = 10
"""
FULL = "10,20,20,20,15,15"  # 100: excellent, nothing lost
UNQUALIFIED = "6,12,12,12,9,9"  # 60
MINUS_FIVE = "10,20,20,20,15,10"  # 95: excellent, but 5 points lost on documents


def published_world(tree_store: Store, tmp_path: Path) -> tuple[Path, dict]:
    """330100 (杭州): 2 infringement disputes scored 100, 2 counterfeit cases scored 60; 320100 (南京):
    2 infringement disputes, one 100 and one 95; 330102 (上城区): 2 disputes, both 100. Published."""
    lines = [f"H-{i},330100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解" for i in (1, 2)]
    lines += [f"K-{i},330100,假冒专利,发明,依职权,2024-03-01,2024-03-04,2024-04-01,行政处罚" for i in (1, 2)]
    lines += [f"N-{i},320100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解" for i in (1, 2)]
    lines += [f"S-{i},330102,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解" for i in (1, 2)]
    (tmp_path / "cases.csv").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "cases.csv")], progress=False).counts.loaded == 8
    (tmp_path / "plan.toml").write_text(PLAN, encoding="utf-8")
    db = str(tree_store.path)
    for args in (("plan", "create", str(tmp_path / "plan.toml")), ("plan", "lock", "R"), ("draw", "R", "--seed", "1")):
        done = ipdash_cli(*args, "--db", db, "--json")
        assert done.returncode == 0, (args, done.stderr)
    manifest = json.loads((Path.cwd() / "R-D1-manifest.json").read_text(encoding="utf-8"))
    (Path.cwd() / "R-D1-manifest.json").unlink()
    inspector = {a["office_code"]: a["inspector_id"] for a in manifest["assignments"]}
    score = {"H-1": FULL, "H-2": FULL, "K-1": UNQUALIFIED, "K-2": UNQUALIFIED, "N-1": FULL, "N-2": MINUS_FIVE}
    # The inspectors' notes (调查取证, 文书归档): the same problem twice, in two spellings.
    notes = {"K-1": "证据未编目,送达回证缺失", "K-2": ",送达回证缺失。", "N-2": ",卷内目录与文书不符"}
    rows = [
        "抽查批次,办案机构代码,案号,评查人员,立案受理,调查取证,事实认定,法律适用,办案程序,文书归档,评查日期,"
        "调查取证扣分说明,文书归档扣分说明"
    ]
    for s in manifest["sample"]:
        rows.append(
            f"R-D1,{s['office_code']},{s['case_no']},{inspector[s['office_code']]},{score.get(s['case_no'], FULL)},"
            f"2025-01-10,{notes.get(s['case_no'], ',')}"
        )
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert ingest(tree_store, "appraisals", [str(tmp_path / "a.csv")], progress=False).counts.loaded == 8
    published = ipdash_cli("plan", "publish", "R", "--db", db, "--json")
    assert published.returncode == 0, published.stderr
    return Path(db), json.loads(published.stdout)


def cli(db: Path, *args: str):
    return ipdash_cli("rectify", *args, "--db", str(db), "--json")


def test_a_publication_opens_notices_and_the_workflow_is_audited(
    tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db, published = published_world(tree_store, tmp_path)
    assert published["rectification_notices"] == ["R-R-320100", "R-R-330100"]
    notices = json.loads(cli(db, "list").stdout)["notices"]
    assert [n["office_code"] for n in notices] == ["320100", "330100"]  # not 330102: nothing lost there
    hz = next(n for n in notices if n["office_code"] == "330100")
    assert [(a["case_no"], a["grade"], a["total"]) for a in hz["findings"]] == [
        ("K-1", "unqualified", 60.0),
        ("K-2", "unqualified", 60.0),
    ]
    assert [(i["item"], i["lost"]) for i in hz["findings"][0]["lost"]] == [
        ("acceptance", 4.0),
        ("evidence", 8.0),
        ("facts", 8.0),
        ("law", 8.0),
        ("procedure", 6.0),
        ("documents", 6.0),
    ]
    nj = next(n for n in notices if n["office_code"] == "320100")
    assert [(a["case_no"], a["grade"], [(i["item"], i["lost"]) for i in a["lost"]]) for a in nj["findings"]] == [
        ("N-2", "excellent", [("documents", 5.0)])
    ]
    published_on = dt.date.fromisoformat(hz["created_at"][:10])
    due, weekdays_only = due_date(published_on, 10)
    assert hz["due_date"] == due.isoformat() and hz["status"] == "open"
    assert hz["due_weekdays_only"] == int(weekdays_only)

    attachment = tmp_path / "整改报告.pdf"
    attachment.write_bytes(b"%PDF-1.4 rectification report")
    steps = [
        ("respond", "R-R-330100", "--text", "已重新制作决定书并归档", "--attach", str(attachment)),
        ("return", "R-R-330100", "--reason", "缺少送达回证，请补充"),
        ("respond", "R-R-330100", "--text", "已补充送达回证"),
        ("accept", "R-R-330100"),
    ]
    for step in steps:
        done = cli(db, *step)
        assert done.returncode == 0, (step, done.stderr)
    final = json.loads(done.stdout)
    assert final["status"] == "accepted"
    assert [e["action"] for e in final["events"]] == ["open", "respond", "return", "respond", "accept"]
    sent = final["events"][1]["attachments"][0]
    assert (sent["name"], sent["type"]) == ("整改报告.pdf", "application/pdf")
    kept = db.parent / "attachments" / sent["sha256"]
    assert kept.read_bytes() == attachment.read_bytes() and kept.stat().st_mode & 0o077 == 0

    wrong = cli(db, "accept", "R-R-330100")  # an accepted notice takes no more steps
    assert wrong.returncode == 2 and "is accepted" in wrong.stderr
    short = cli(db, "return", "R-R-320100", "--reason", "no")
    assert short.returncode == 2 and "applies to a notice that is responded" in short.stderr

    audit = ipdash_cli("audit", "verify", "--db", str(db))
    assert audit.returncode == 0, audit.stdout
    ops = OpStore(default_path(db))
    logged = [r["action"] for r in ops.read("SELECT action FROM audit_log WHERE target LIKE 'R-R-%' ORDER BY seq")]
    assert logged == ["rectification.open"] * 2 + [
        "rectification.respond",
        "rectification.return",
        "rectification.respond",
        "rectification.accept",
    ]

    due = dt.date.fromisoformat(nj["due_date"])
    on_time = json.loads(cli(db, "list", "--status", "overdue", "--as-of", due.isoformat()).stdout)["notices"]
    late = json.loads(
        cli(db, "list", "--status", "overdue", "--as-of", (due + dt.timedelta(days=1)).isoformat()).stdout
    )
    assert on_time == [] and [n["notice_id"] for n in late["notices"]] == ["R-R-320100"]  # 330100 is accepted
    only_zj = json.loads(cli(db, "list", "--office", "330000").stdout)["notices"]
    assert [n["notice_id"] for n in only_zj] == ["R-R-330100"]


def user(role: str, scope: str | None) -> User:
    return User(user_id=1, username=f"{role}-{scope}", role=role, scope_code=scope, disabled=False, session_version=1)


HZ_CHAIN = ("100000", "330000", "330100")


@pytest.mark.parametrize(
    ("role", "scope", "respond", "review"),
    [
        ("national_admin", None, True, True),
        ("national_leader", None, False, False),
        ("provincial", "330000", True, True),
        ("provincial", "320000", False, False),
        ("prefecture", "330100", True, False),  # its own office: answers, never reviews itself
        ("prefecture", "320100", False, False),
        ("inspector", None, False, False),
    ],
)
def test_who_may_respond_and_review(role: str, scope: str | None, respond: bool, review: bool) -> None:
    from access import policy

    office = policy.Office("330100", HZ_CHAIN)
    actor = user(role, scope)
    assert policy.allowed(actor=actor, action="rectification.respond", resource=office) is respond
    assert policy.allowed(actor=actor, action="rectification.review", resource=office) is review


def test_another_province_cannot_act_and_the_refusal_is_audited(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    from access import policy

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    office = policy.Office("330100", HZ_CHAIN)
    with pytest.raises(PermissionError):
        act(
            ops,
            "R-R-330100",
            "respond",
            actor="js",
            user=user("provincial", "320000"),
            office=office,
            text="不是我省的案件",
        )
    denied = ops.read("SELECT action, target FROM audit_log WHERE action = 'scope.denied' ORDER BY seq DESC")
    assert (denied[0]["action"], denied[0]["target"]) == ("scope.denied", "330100")
    assert list_notices(ops, plan_id="R", status="open")[1]["notice_id"] == "R-R-330100"  # nothing moved
    with pytest.raises(RectificationError, match="not about office"):
        act(
            ops,
            "R-R-330100",
            "respond",
            actor="js",
            user=user("provincial", "320000"),
            office=policy.Office("320100", ("100000", "320000", "320100")),
            text="换个机构试试看",
        )
    got = act(
        ops, "R-R-330100", "respond", actor="zj", user=user("provincial", "330000"), office=office, text="已整改完毕"
    )
    assert got["status"] == "responded"


def test_findings_list_what_was_lost() -> None:
    rows = [
        {
            "office_code": "1",
            "case_no": "a",
            "grade": "excellent",
            "total": "100",
            "veto": "[]",
            "inspector_id": "i",
            "scores": json.dumps(
                {"acceptance": 10, "evidence": 20, "facts": 20, "law": 20, "procedure": 15, "documents": 15}
            ),
        },
        {
            "office_code": "2",
            "case_no": "b",
            "grade": "unqualified",
            "total": "100",
            "veto": '["wrong_party"]',
            "inspector_id": "i",
            "scores": json.dumps(
                {"acceptance": 10, "evidence": 20, "facts": 20, "law": 20, "procedure": 15, "documents": 15}
            ),
        },
    ]
    got = findings(rows)
    assert list(got) == ["2"] and got["2"][0]["veto"] == ["wrong_party"] and got["2"][0]["lost"] == []


def test_the_pages_and_steps_through_hand_crafted_requests(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    """Zhejiang (330000) sees and reviews its own offices' notices; Hangzhou (330100) answers its own
    and cannot review it; neither reads or acts on Jiangsu's (320100) — refused on the server, audited."""
    from access.users import add_user
    from dashboard import ids
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    password = "correct horse battery staple"
    add_user(ops, username="zj", role="provincial", scope_code="330000", scope_level="provincial", password=password)
    add_user(ops, username="hz", role="prefecture", scope_code="330100", scope_level="prefecture", password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(db), ops_path=str(ops.path))
    clients = {}
    for name in ("zj", "hz"):
        clients[name] = app.server.test_client()
        assert dh.login(clients[name], name, password).status_code == 302

    listed = dh.text(dh.content(clients["zj"], "/rectification"))
    assert "R-R-330100" in listed and "R-R-320100" not in listed
    assert ids.DENIED in json.dumps(dh.content(clients["zj"], "/rectification/R-R-320100"))
    page = dh.content(clients["hz"], "/rectification/R-R-330100")
    shown = {
        b: (dh.by_id(page, b) or {}).get("props", {}).get("style") is None for b in (ids.RECT_RESPOND, ids.RECT_ACCEPT)
    }
    assert shown == {ids.RECT_RESPOND: True, ids.RECT_ACCEPT: False}  # hidden: the policy would refuse it

    key = next(k for k in app.callback_map if k.startswith(f"..{ids.RECT_MESSAGE}.children"))

    def step(client, button: str, notice_id: str, text: str | None = None) -> str:
        values = {ids.RECT_NOTICE: notice_id, ids.RECT_TEXT: text, ids.LANG: "en", button: 1}

        def value_of(_where, _k, dep):
            return values.get(dep["id"])

        body = dh.callback_body(app, key, value_of, changed=f"{button}.n_clicks")
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 200, got.data[:300]
        return got.get_data(as_text=True)

    before = len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'"))
    assert "may not" in step(clients["zj"], ids.RECT_RESPOND, "R-R-320100", "这不是我们的通知")
    assert "may not" in step(clients["hz"], ids.RECT_ACCEPT, "R-R-330100")  # nothing to accept, and not theirs to
    assert "Done" in step(clients["hz"], ids.RECT_RESPOND, "R-R-330100", "已重新制作决定书")
    assert "may not" in step(clients["hz"], ids.RECT_ACCEPT, "R-R-330100")  # never review one's own answer
    assert "Done" in step(clients["zj"], ids.RECT_ACCEPT, "R-R-330100")
    assert len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'")) == before + 3
    states = {n["notice_id"]: n["status"] for n in list_notices(ops)}
    assert states == {"R-R-320100": "open", "R-R-330100": "accepted"}


def test_overdue_notices_show_on_monitoring_and_the_profile(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    from access.users import add_user
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    add_user(
        ops, username="zj", role="provincial", scope_code="330000", scope_level="provincial", password="pw-zj-2024-ok"
    )
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(ops.path)).server.test_client()
    assert dh.login(client, "zj", "pw-zj-2024-ok").status_code == 302
    due = dt.date.fromisoformat(list_notices(ops, plan_id="R")[1]["due_date"])

    def panel(path: str, search: str, day: dt.date) -> str:
        return dh.text(dh.content(client, path, search, year=day.year, as_of=day.isoformat(), lang="en"))

    on_time = panel("/monitor", "?office=330000", due)
    assert "No rectification notice is overdue" in on_time and "R-R-330100" not in on_time
    late = panel("/monitor", "?office=330000", due + dt.timedelta(days=3))
    assert "1 overdue" in late and "R-R-330100" in late and "3 days late" in late
    assert "R-R-320100" not in late  # Jiangsu's, overdue too, is not Zhejiang's to see
    assert "R-R-330100" in panel("/office/330100", "", due + dt.timedelta(days=3))
    assert "R-R-330100" not in panel("/office/330102", "", due + dt.timedelta(days=3))  # another office's subtree
    # The panel is cached until a notice moves: once the office has answered, it waits no more.
    act(ops, "R-R-330100", "respond", actor="cli", text="已按要求完成整改，补齐卷宗材料", attachment_dir=tmp_path)
    answered = panel("/monitor", "?office=330000", due + dt.timedelta(days=3))
    assert "R-R-330100" not in answered and "No rectification notice is overdue" in answered


def test_the_workbook_has_a_rectification_sheet(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    import openpyxl

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    assert cli(db, "respond", "R-R-330100", "--text", "已重新制作决定书").returncode == 0
    done = ipdash_cli("report", "--year", "2024", "-o", str(tmp_path / "r.xlsx"), "--db", str(db), "--runs", "20")
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["整改"]
    got = [list(r) for r in ws.iter_rows(values_only=True)]
    assert got[0][:7] == [
        "通知编号",
        "机构代码",
        "机构名称",
        "抽查计划",
        "状态",
        "整改期限",
        f"逾期（截至{dt.date.today()}）",
    ]
    assert [r[:5] + r[6:10] for r in got[1:]] == [
        ["R-R-320100", "320100", "南京市知识产权局", "R", "待整改", "否", 1, 0, 5],
        ["R-R-330100", "330100", "杭州市知识产权局", "R", "已答复待审核", "否", 2, 2, 80],
    ]


def test_the_released_report_says_where_points_were_lost(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    """Issue 18 item 4, worked by hand from the scores of `published_world`: 8 archives; K-1 and K-2
    lost 4, 8, 8, 8, 6, 6 on acceptance … documents; N-2 lost 5 on documents. Points lost: documents
    6 + 6 + 5 = 17 (3 archives, 17 / (15 × 8) = 14.17% of the points available), evidence, facts and
    law 16 each, procedure 12, acceptance 8. Jiangsu (320000): documents 5 only."""
    from inspection.results import published

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    snapshot = published(OpStore(default_path(db)))[0]
    scope = snapshot["items_lost"]["scope"]
    assert [(e["item"], e["points"], e["with_loss"]) for e in scope] == [
        ("documents", 17.0, 3),
        ("evidence", 16.0, 2),
        ("facts", 16.0, 2),
        ("law", 16.0, 2),
        ("procedure", 12.0, 2),
        ("acceptance", 8.0, 2),
    ]
    assert scope[0]["share"] == 0.1417 and scope[0]["archives"] == 8
    js = snapshot["items_lost"]["provinces"]["320000"]
    assert [(e["item"], e["points"]) for e in js if e["points"]] == [("documents", 5.0)]
    assert snapshot["province_names"]["320000"] == "江苏省知识产权局"


def test_the_public_page_releases_where_points_were_lost_and_the_rectification(
    tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    from dashboard.app import create_app

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    assert cli(db, "respond", "R-R-330100", "--text", "已重新制作决定书").returncode == 0
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(default_path(db))).server.test_client()
    page = client.get("/public").get_data(as_text=True)  # no login
    assert "Where the archives lost points" in page and "文书归档 · Documents and archiving" in page
    assert "3 / 8" in page and "14.2%" in page  # documents: 3 of 8 archives, 17 / 120 of its points
    assert "江苏省知识产权局" in page and "浙江省知识产权局" in page  # one row per province
    assert "整改通知 Notices 2：待整改 open 1 · 已答复待审核 answered 1" in page.replace("\n", " ")


def test_the_appraisal_report_workbook(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    import openpyxl

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    out = tmp_path / "report.xlsx"
    done = ipdash_cli("plan", "report", "R", "-o", str(out), "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["评查结果", "失分项目", "典型问题", "整改"]
    results = [list(r) for r in wb["评查结果"].iter_rows(values_only=True)]
    hz = next(r for r in results if r[0] == "330100")
    assert hz[2:5] == [4, 4, 4] and hz[8] == 2 and hz[12] == 2.0  # 2 unqualified; projected 0 + 2 = 2
    items = [list(r) for r in wb["失分项目"].iter_rows(values_only=True)]
    assert items[1] == ["全部", "文书归档", 17, 3, 8, 0.1417]
    assert ["江苏省知识产权局", "文书归档", 5, 1, 2, 0.1667] in items
    hz = next(n for n in list_notices(OpStore(default_path(db))) if n["office_code"] == "330100")
    k1 = next(a for a in hz["findings"] if a["case_no"] == "K-1")
    assert {i["item"]: i["note"] for i in k1["lost"]} == {
        "acceptance": None,
        "evidence": "证据未编目",
        "facts": None,
        "law": None,
        "procedure": None,
        "documents": "送达回证缺失",
    }
    typical = [list(r) for r in wb["典型问题"].iter_rows(values_only=True)][1:]
    assert typical[:3] == [  # documents: 送达回证缺失 twice (K-1, K-2: 6 + 6), then N-2's; evidence: K-1's
        ["全部", "文书归档", "送达回证缺失", 2, 12],
        ["全部", "文书归档", "卷内目录与文书不符", 1, 5],
        ["全部", "调查取证", "证据未编目", 1, 8],
    ]
    notices = [list(r)[:3] for r in wb["整改"].iter_rows(values_only=True)][1:]
    assert notices == [["R-R-320100", "320100", "待整改"], ["R-R-330100", "330100", "待整改"]]
    unpublished = ipdash_cli("plan", "report", "nope", "-o", str(out), "--db", str(db))
    assert unpublished.returncode == 2 and "not published" in unpublished.stderr


def test_a_correction_is_a_new_dated_publication_and_the_old_one_stays(
    tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    from dashboard.app import create_app
    from inspection.results import published_version

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    same = ipdash_cli("plan", "publish", "R", "--correct", "复核后无变化", "--db", str(db))
    assert same.returncode == 2 and "are those published on" in same.stderr
    # On review K-1's archive is re-scored 100 (an appraisal change, on record), then corrected.
    manifest_rows = ops.read("SELECT inspector_id FROM appraisals WHERE case_no = 'K-1'")
    rows = ["抽查批次,办案机构代码,案号,评查人员,立案受理,调查取证,事实认定,法律适用,办案程序,文书归档,评查日期"]
    rows.append(f"R-D1,330100,K-1,{manifest_rows[0]['inspector_id']},{FULL},2025-02-01")
    (tmp_path / "fix.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert ingest(tree_store, "appraisals", [str(tmp_path / "fix.csv")], progress=False).counts.updated == 1
    fixed = ipdash_cli("plan", "publish", "R", "--correct", "复核后更正K-1评分", "--db", str(db), "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["version"] == 2

    def hz(snapshot: dict) -> int:
        return next(o["unqualified"] for o in snapshot["offices"] if o["office_code"] == "330100")

    assert (hz(published_version(ops, "R", 1)), hz(published_version(ops, "R", 2))) == (2, 1)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(db), ops_path=str(ops.path)).server.test_client()
    page = client.get("/public").get_data(as_text=True)
    assert (
        "Corrected" in page
        and "复核后更正K-1评分" in page
        and "/public/R/v1.json" in page
        and "/public/R/v2.json" in page
    )
    v1 = client.get("/public/R/v1.json")
    assert v1.status_code == 200 and hz(json.loads(v1.data)) == 2  # the original, as it was published
    assert client.get("/public/R/v3.json").status_code == 404
    assert ops.read("SELECT action FROM audit_log ORDER BY seq DESC")[0]["action"] == "plan.correct"
    assert ipdash_cli("audit", "verify", "--db", str(db)).returncode == 0


def test_due_dates_follow_the_official_calendar_and_say_when_they_cannot() -> None:
    # 2025-10-01..08 are the National Day holidays: the first working day after 09-30 is 10-09.
    assert due_date(dt.date(2025, 9, 30), 1) == (dt.date(2025, 10, 9), False)
    # 2025-09-28 (a Sunday) is a make-up working day: 5 working days after 09-26 (Fri) end on 10-10.
    assert due_date(dt.date(2025, 9, 26), 5) == (dt.date(2025, 10, 10), False)
    day, weekdays_only = due_date(dt.date(2026, 12, 21), 20)  # runs into 2027, which the calendar lacks
    assert weekdays_only and day.weekday() < 5

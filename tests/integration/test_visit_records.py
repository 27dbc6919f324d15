"""Return visits on record (issue 18 item 3): a visit plan from the command line end to end, the
figures worked by hand (tests/fixtures/visits/README.md), the notices visits open, and who may
record a visit (the permission policy, through hand-crafted requests)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from access import policy
from access.opstore import OpStore, default_path
from access.users import User
from ingest.run import ingest
from inspection.rectification import list_notices
from inspection.visits import VisitError, figures, figures_by_office, list_visits, record_visit
from queries.store import Store
from tests.conftest import ipdash_cli

HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式,承办人\n"
CASES = [
    "V-1,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,赵六",
    "V-2,330100,假冒专利,发明,依职权,2024-03-01,2024-03-04,2024-04-01,行政处罚,赵六;钱七",
    "V-3,330102,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,孙八",
    "V-4,330102,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,撤回,孙八",
    "V-5,320100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,周九",  # Jiangsu: not in scope
]
PLAN = """plan_id = "VP"
title = "浙江省2024年结案回访"
year = 2024
scope = "330000"
strata = ["office_code"]
[rule]
ratio = 1.0
min_per_stratum = 1
max_per_stratum = 10
[rectification]
due_working_days = 10
"""


def world(tree_store: Store, tmp_path: Path, cases: list[str] = CASES) -> Path:
    (tmp_path / "cases.csv").write_text(HEADER + "\n".join(cases) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "cases.csv")], progress=False).counts.loaded == len(cases)
    (tmp_path / "visits.toml").write_text(PLAN, encoding="utf-8")
    return tree_store.path


def cli(db: Path, *args: str):
    return ipdash_cli("visit", *args, "--db", str(db), "--json")


def drawn(tree_store: Store, tmp_path: Path) -> Path:
    db = world(tree_store, tmp_path)
    for args in (("create", str(tmp_path / "visits.toml")), ("lock", "VP"), ("draw", "VP", "--seed", "7")):
        done = cli(db, *args)
        assert done.returncode == 0, (args, done.stderr)
    return db


def test_a_visit_plan_end_to_end_from_the_command_line(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    """The golden tree's only certified inspector of Zhejiang is INS001 (王伟, of the province's own
    office): the four Zhejiang cases are drawn (ratio 1) and all go to him; Jiangsu's is not in scope.
    An unsatisfied visit of a mediated case whose agreement was partly carried out opens one notice;
    a satisfied one none; the notice's workflow is that of item 1; the audit chain holds."""
    monkeypatch.chdir(tmp_path)
    db = drawn(tree_store, tmp_path)
    manifest = tmp_path / "VP-visit-manifest.json"
    check = ipdash_cli(
        "verify-draw", str(manifest), "--population", str(tmp_path / "data" / "plans" / "VP-population.csv")
    )
    assert check.returncode == 0, check.stdout + check.stderr
    visits = json.loads(cli(db, "list").stdout)["visits"]
    assert [(v["office_code"], v["case_no"], v["visitor_id"], v["mediated"]) for v in visits] == [
        ("330100", "V-1", "INS001", 1),
        ("330100", "V-2", "INS001", 0),
        ("330102", "V-3", "INS001", 1),
        ("330102", "V-4", "INS001", 0),
    ]
    assert json.loads(manifest.read_text(encoding="utf-8"))["handlers"]["330100|V-2"] == ["赵六", "钱七"]
    today = dt.date.today().isoformat()

    def record(case: str, office: str, *extra: str):
        return cli(db, "record", "VP", office, case, "--date", today, *extra)

    bad = [
        (("V-1", "330100", "--reached", "yes", "--satisfaction", "4"), "closed by mediation"),
        (("V-2", "330100", "--reached", "yes", "--satisfaction", "4", "--fulfilment", "yes"), "only for a case"),
        (("V-2", "330100", "--reached", "no", "--satisfaction", "4"), "not reached"),
        (("V-2", "330100", "--reached", "yes"), "satisfaction: 1"),
        (("V-5", "320100", "--reached", "no"), "not a visit of plan VP"),
    ]
    for args, says in bad:
        got = record(*args)
        assert got.returncode == 2 and says in got.stderr and "Traceback" not in got.stderr, (args, got.stderr)
    future = cli(db, "record", "VP", "330100", "V-2", "--date", "2999-01-01", "--reached", "no")
    assert future.returncode == 2 and "future" in future.stderr

    ok = record(
        "V-1",
        "330100",
        "--reached",
        "yes",
        "--satisfaction",
        "2",
        "--fulfilment",
        "partly",
        "--complaint",
        "赔偿款只付了一半",
    )
    assert ok.returncode == 0, ok.stderr
    notice_id = json.loads(ok.stdout)["notice_id"]
    assert notice_id == "V-VP-330100-1"
    again = record("V-1", "330100", "--reached", "no")
    assert again.returncode == 2 and "already recorded" in again.stderr
    assert record("V-3", "330102", "--reached", "yes", "--satisfaction", "5", "--fulfilment", "yes").returncode == 0
    assert record("V-4", "330102", "--reached", "no").returncode == 0

    ops = OpStore(default_path(db))
    notices = list_notices(ops)
    assert [(n["notice_id"], n["office_code"], n["kind"], n["status"]) for n in notices] == [
        (notice_id, "330100", "visit", "open")
    ]
    finding = notices[0]["findings"][0]
    assert finding["case_no"] == "V-1" and finding["visit"]["reasons"] == ["unsatisfied", "agreement_not_carried_out"]
    assert finding["visit"]["complaint"] == "赔偿款只付了一半"
    for args in (("respond", notice_id, "--text", "已督促当事人履行协议"), ("accept", notice_id)):
        step = ipdash_cli("rectify", *args, "--db", str(db), "--json")
        assert step.returncode == 0, step.stderr
    listed = ipdash_cli("rectify", "list", "--db", str(db))
    assert "return visit of V-1 (unsatisfied and agreement not carried out)" in listed.stdout

    got = json.loads(cli(db, "figures").stdout)
    total = got["total"]
    assert (total["drawn"], total["recorded"], total["coverage"]["k"], total["notices"]) == (4, 3, 2, 1)
    assert total["fulfilment"]["k"] == 1 and total["fulfilment"]["n"] == 2
    assert got["offices"]["330102"]["coverage"]["rate"] == pytest.approx(0.5)
    only = json.loads(cli(db, "figures", "--office", "330102").stdout)
    assert set(only["offices"]) == {"330102"}

    actions = [r["action"] for r in ops.read("SELECT action FROM audit_log ORDER BY seq")]
    for expected in ("visit_plan.create", "visit_plan.lock", "visit_plan.draw", "visit.record", "rectification.open"):
        assert expected in actions
    assert actions.count("visit.record") == 3
    verified = ipdash_cli("audit", "verify", "--db", str(db))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    redraw = cli(db, "draw", "VP", "--seed", "8")
    assert redraw.returncode == 2 and "already drawn" in redraw.stderr


def test_a_handler_never_visits_the_case(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    """王伟 (INS001) handled V-9, and nobody else of Zhejiang may visit: the draw fails naming the
    case, and nothing is on record."""
    monkeypatch.chdir(tmp_path)
    db = world(
        tree_store, tmp_path, ["V-9,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-01,2024-03-04,2024-05-06,调解,王伟"]
    )
    assert cli(db, "create", str(tmp_path / "visits.toml")).returncode == 0
    assert cli(db, "lock", "VP").returncode == 0
    failed = cli(db, "draw", "VP", "--seed", "1")
    assert failed.returncode == 2 and "no visitor may take case V-9 of office 330100" in failed.stderr
    assert list_visits(OpStore(default_path(db))) == []


@pytest.mark.parametrize(
    "text, says",
    [
        ("year = 2024\n[inspectors]\nper_office = 1\n", "inspectors: a visit plan assigns visitors"),
        ("year = 2024\n[visits]\nunsatisfied_at_most = 5\n", "unsatisfied_at_most"),
        ('year = 2024\n[visits]\nnotice_on_fulfilment = ["yes"]\n', "notice_on_fulfilment"),
        ("year = 2024\n[visits]\ncap = 3\n", "unknown key cap"),
        ("year = 2024\n[rectification]\ndue_working_days = 0\n", "due_working_days"),
    ],
)
def test_a_bad_visit_plan_is_refused_naming_the_key(tree_store: Store, tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    got = cli(tree_store.path, "create", str(tmp_path / "bad.toml"))
    assert got.returncode == 2 and says in got.stderr and "Traceback" not in got.stderr, got.stderr


def row(
    office: str,
    mediated: bool,
    recorded: bool,
    reached=None,
    satisfaction=None,
    fulfilment=None,
    complaint=None,
    notice=None,
) -> dict:
    return {
        "office_code": office,
        "mediated": int(mediated),
        "recorded_at": "2025-01-01T00:00:00+00:00" if recorded else None,
        "reached": None if reached is None else int(reached),
        "satisfaction": satisfaction,
        "fulfilment": fulfilment,
        "complaint": complaint,
        "notice_id": notice,
    }


FIXTURE = [  # tests/fixtures/visits/README.md
    row("A", True, True, True, 5, "yes"),
    row("A", False, True, True, 4),
    row("A", True, True, True, 2, "partly", "等待太久", "N1"),
    row("A", False, True, False),
    row("A", True, False),
    row("B", True, True, True, 1, "no", "调解偏向对方", "N2"),
    row("B", False, True, True, 3),
    row("B", True, True, True, 5, "no", None, "N3"),
]


def test_figures_worked_by_hand() -> None:
    by = figures_by_office(FIXTURE)
    a, b, total = by["A"], by["B"], figures(FIXTURE)
    assert (a["drawn"], a["recorded"], a["complaints"], a["notices"]) == (5, 4, 1, 1)
    assert (a["coverage"]["k"], a["coverage"]["n"]) == (3, 5)
    assert (a["coverage"]["low"], a["coverage"]["high"]) == (
        pytest.approx(0.1466, abs=5e-5),
        pytest.approx(0.9473, abs=5e-5),
    )
    assert a["satisfaction"]["mean"] == pytest.approx(11 / 3) and a["satisfaction"]["n"] == 3
    assert a["fulfilment"]["rate"] == 0.5
    assert a["fulfilment"]["low"] == pytest.approx(0.012579, abs=1e-6)
    assert a["fulfilment"]["high"] == pytest.approx(0.987421, abs=1e-6)
    assert (b["drawn"], b["recorded"], b["complaints"], b["notices"]) == (3, 3, 1, 2)
    assert b["coverage"]["rate"] == 1.0 and b["coverage"]["high"] == 1.0
    assert b["coverage"]["low"] == pytest.approx(0.292402, abs=1e-6)
    assert b["satisfaction"]["mean"] == 3.0
    assert (b["fulfilment"]["rate"], b["fulfilment"]["low"]) == (0.0, 0.0)
    assert b["fulfilment"]["high"] == pytest.approx(0.841886, abs=1e-6)
    assert (total["drawn"], total["recorded"], total["complaints"], total["notices"]) == (8, 7, 2, 3)
    assert total["coverage"]["rate"] == 0.75
    assert total["coverage"]["low"] == pytest.approx(0.3491, abs=5e-5)
    assert total["coverage"]["high"] == pytest.approx(0.9681, abs=5e-5)
    assert total["satisfaction"]["mean"] == pytest.approx(20 / 6)
    assert total["satisfaction"]["distribution"] == [1, 1, 1, 1, 2]
    assert total["fulfilment"]["rate"] == 0.25
    assert total["fulfilment"]["low"] == pytest.approx(0.006309, abs=1e-6)
    assert total["fulfilment"]["high"] == pytest.approx(0.8059, abs=5e-5)
    assert figures([])["coverage"]["rate"] is None


def user(role: str, scope: str | None) -> User:
    return User(1, role, role, scope, False, 1)


@pytest.mark.parametrize(
    "who, assigned, may",
    [
        (user("national_admin", None), False, True),
        (user("national_leader", None), False, False),
        (user("provincial", "330000"), False, False),
        (user("prefecture", "330100"), False, False),
        (user("inspector", "INS001"), True, True),
        (user("inspector", "INS002"), False, False),
    ],
)
def test_who_may_record_a_visit(who: User, assigned: bool, may: bool) -> None:
    office = policy.Office("330100", ("100000", "330000", "330100"))
    assert policy.allowed(actor=who, action="visit.record", resource=policy.Archive(office, assigned=assigned)) is may


def test_the_page_and_the_form_through_hand_crafted_requests(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    """Zhejiang reads its visits and figures but may not record one; Jiangsu's provincial user reads
    none of them; the visitor (INS001) records his own visit through the form's callback; a refusal
    is audited; the record is the one the command line would make."""
    from access.users import add_user
    from dashboard import ids
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    monkeypatch.chdir(tmp_path)
    db = drawn(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    password = "correct horse battery staple"
    add_user(ops, username="zj", role="provincial", scope_code="330000", scope_level="provincial", password=password)
    add_user(ops, username="js", role="provincial", scope_code="320000", scope_level="provincial", password=password)
    add_user(ops, username="ins", role="inspector", scope_code="INS001", scope_level=None, password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(db), ops_path=str(ops.path))
    clients = {}
    for name in ("zj", "js", "ins"):
        clients[name] = app.server.test_client()
        assert dh.login(clients[name], name, password).status_code == 302

    zj = dh.text(dh.content(clients["zj"], "/visits"))
    assert "V-1" in zj and "V-4" in zj and "王伟" in zj
    js = dh.text(dh.content(clients["js"], "/visits"))
    assert "V-1" not in js and "王伟" not in js
    page = dh.content(clients["ins"], "/visits")
    assert "V-3" in dh.text(page)

    key = next(k for k in app.callback_map if k.startswith(f"{ids.VISIT_MESSAGE}.children"))

    def record(client, pick: str, **values) -> str:
        given = {
            ids.VISIT_PICK: pick,
            ids.VISIT_REACHED: values.get("reached", "yes"),
            ids.VISIT_SATISFACTION: values.get("satisfaction"),
            ids.VISIT_FULFILMENT: values.get("fulfilment"),
            ids.VISIT_COMPLAINT: values.get("complaint"),
            ids.VISIT_DATE: dt.date.today().isoformat(),
            ids.LANG: "en",
            ids.VISIT_RECORD: 1,
        }

        def value_of(_where, _k, dep):
            return given.get(dep["id"])

        body = dh.callback_body(app, key, value_of, changed=f"{ids.VISIT_RECORD}.n_clicks")
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 200, got.data[:300]
        return got.get_data(as_text=True)

    before = len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'"))
    assert "may not" in record(clients["zj"], "VP|330100|V-2", satisfaction=4)
    assert "may not" in record(clients["js"], "VP|330100|V-2", satisfaction=4)
    assert len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'")) == before + 2
    assert "closed by mediation" in record(clients["ins"], "VP|330100|V-1", satisfaction=4)
    said = record(clients["ins"], "VP|330100|V-1", satisfaction=1, fulfilment="no", complaint="对方未付款")
    assert "V-VP-330100-1" in said
    got = {v["case_no"]: v for v in list_visits(ops)}
    assert (got["V-1"]["satisfaction"], got["V-1"]["fulfilment"], got["V-1"]["recorded_by"]) == (1, "no", "ins")
    assert got["V-2"]["recorded_at"] is None
    zj_notices = dh.text(dh.content(clients["zj"], "/rectification/V-VP-330100-1"))
    assert "对方未付款" in zj_notices


def test_record_visit_refuses_without_the_policy(tree_store: Store, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = drawn(tree_store, tmp_path)
    ops = OpStore(default_path(db))
    office = policy.Office("330100", ("100000", "330000", "330100"))

    def attempt(who: User, resource: policy.Archive) -> None:
        record_visit(
            ops,
            "VP",
            "330100",
            "V-2",
            reached=False,
            satisfaction=None,
            fulfilment=None,
            complaint=None,
            visited_on=dt.date.today(),
            actor=who.username,
            user=who,
            resource=resource,
        )

    with pytest.raises(PermissionError):
        attempt(user("provincial", "330000"), policy.Archive(office))
    with pytest.raises(VisitError, match="not of office"):
        attempt(user("national_admin", None), policy.Archive(policy.Office("320100", ("100000", "320000", "320100"))))
    assert list_visits(ops, plan_id="VP")[1]["recorded_at"] is None


def test_one_visit_recorded_at_once_from_two_hosts_counts_once(tmp_path: Path, ops_url) -> None:
    """Two hosts (two operational-store connections, SQLite or PostgreSQL) record the same visit at
    the same moment: exactly one record stands, with its one notice; the other is told it was
    recorded; the audit chain verifies."""
    from concurrent.futures import ThreadPoolExecutor

    from access import audit
    from tests.conftest import INGEST

    db = tmp_path / "data" / "ipdash.duckdb"
    ops = OpStore(default_path(db), url=ops_url)
    store = Store(db, ops=ops)
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("inspectors", "inspectors.csv")):
        ingest(store, kind, [str(INGEST / name)], progress=False)
    (tmp_path / "c.csv").write_text(HEADER + CASES[0] + "\n", encoding="utf-8")
    ingest(store, "cases", [str(tmp_path / "c.csv")], progress=False)
    from inspection.visits import create_visit_plan, draw_visit_plan, lock_visit_plan

    create_visit_plan(ops, store, PLAN, actor="t")
    lock_visit_plan(ops, store, "VP", out_dir=tmp_path, actor="t")
    draw_visit_plan(ops, store, "VP", seed="1", actor="t")
    hosts = [OpStore(default_path(db), url=ops_url), OpStore(default_path(db), url=ops_url)]

    def attempt(k: int) -> str:
        try:
            record_visit(
                hosts[k],
                "VP",
                "330100",
                "V-1",
                reached=True,
                satisfaction=1 + k,
                fulfilment="no",
                complaint=None,
                visited_on=dt.date.today(),
                actor=f"host{k}",
            )
            return "recorded"
        except VisitError as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(attempt, [0, 1]))
    assert answers.count("recorded") == 1, answers
    assert any("recorded" in a and a != "recorded" for a in answers), answers
    assert len(list_notices(ops)) == 1
    assert [r["action"] for r in ops.read("SELECT action FROM audit_log")].count("visit.record") == 1
    assert audit.verify(ops).ok

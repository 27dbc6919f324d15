"""Supervised cases (督办), worked by hand (issue 18 item 2). Office 330100 of the golden tree:

| case | kind | accepted | closed | legal deadline | supervised on | due | status at |
|---|---|---|---|---|---|---|---|
| SUP-1 | infringement | 2024-06-03 | open | 2024-09-03 (3 months) | 2024-06-10 | 2024-12-31 | open at 2024-08-01; overdue at 2024-09-04 (past the legal deadline) |
| SUP-2 | infringement | 2024-03-04 | 2024-05-06 | — | 2024-04-01 | 2024-05-31 | closed_in_time at 2024-12-31 |
| SUP-3 | infringement | 2024-03-04 | 2024-07-15 | — | 2024-04-01 | 2024-06-30 | closed_late at 2024-12-31; open at 2024-06-01 |
| SUP-4 | counterfeit | 2024-10-01 | open | 2024-12-30 (90 days) | 2024-10-08 | 2024-11-15 | overdue at 2024-11-20 (past the due date) |

Closed supervised cases in 2024: SUP-2 and SUP-3 = 2.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from access import policy
from access.opstore import OpStore, default_path
from access.users import User
from ingest.run import ingest
from inspection.supervision import SupervisionError, closed_supervised, conclude, supervise, supervised
from metrics.config import default_config
from queries.store import Store
from tests.conftest import ipdash_cli

D = dt.date
HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式\n"
CASES = [
    "SUP-1,330100,专利侵权纠纷,外观设计,当事人请求,2024-06-03,2024-06-03,,",
    "SUP-2,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-05-06,调解",
    "SUP-3,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-07-15,调解",
    "SUP-4,330100,假冒专利,发明,依职权,2024-10-01,2024-10-01,,",
]
MARKS = [  # case, supervised on, due
    ("SUP-1", D(2024, 6, 10), D(2024, 12, 31)),
    ("SUP-2", D(2024, 4, 1), D(2024, 5, 31)),
    ("SUP-3", D(2024, 4, 1), D(2024, 6, 30)),
    ("SUP-4", D(2024, 10, 8), D(2024, 11, 15)),
]


def world(tree_store: Store, tmp_path: Path) -> OpStore:
    (tmp_path / "c.csv").write_text(HEADER + "\n".join(CASES) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "c.csv")], progress=False).counts.loaded == 4
    ops = OpStore(default_path(tree_store.path))
    for case_no, on, due in MARKS:
        supervise(
            ops,
            tree_store,
            office_code="330100",
            case_no=case_no,
            due_date=due,
            note="群众反映强烈",
            supervisor="330000",
            actor="t",
            today=on,
        )
    return ops


def statuses(ops: OpStore, store: Store, day: dt.date) -> dict[str, str]:
    return {r["case_no"]: r["status"] for r in supervised(ops, store, default_config(), as_of=day)}


def test_status_at_each_date(tree_store: Store, tmp_path: Path) -> None:
    ops = world(tree_store, tmp_path)
    assert statuses(ops, tree_store, D(2024, 6, 1))["SUP-3"] == "open"
    assert statuses(ops, tree_store, D(2024, 8, 1))["SUP-1"] == "open"
    assert statuses(ops, tree_store, D(2024, 9, 4))["SUP-1"] == "overdue"
    assert statuses(ops, tree_store, D(2024, 11, 20))["SUP-4"] == "overdue"
    at_end = statuses(ops, tree_store, D(2024, 12, 31))
    assert (at_end["SUP-2"], at_end["SUP-3"]) == ("closed_in_time", "closed_late")
    got = {r["case_no"]: r for r in supervised(ops, tree_store, default_config(), as_of=D(2024, 8, 1))}
    assert got["SUP-1"]["deadline"] == "2024-09-03" and got["SUP-2"]["closed_date"] == "2024-05-06"
    assert closed_supervised(ops, tree_store, default_config(), year=2024, offices={"330100"}) == 2
    assert closed_supervised(ops, tree_store, default_config(), year=2024, offices={"320100"}) == 0


def test_what_is_refused(tree_store: Store, tmp_path: Path) -> None:
    ops = world(tree_store, tmp_path)
    with pytest.raises(SupervisionError, match="already supervised"):
        supervise(
            ops,
            tree_store,
            office_code="330100",
            case_no="SUP-1",
            due_date=D(2025, 1, 1),
            note="再次督办该案",
            supervisor="330000",
            actor="t",
            today=D(2024, 7, 1),
        )
    with pytest.raises(SupervisionError, match="was closed on 2024-05-06"):
        supervise(
            ops,
            tree_store,
            office_code="330100",
            case_no="SUP-2",
            due_date=D(2025, 1, 1),
            note="结案后督办",
            supervisor="330000",
            actor="t",
            today=D(2024, 7, 1),
        )
    with pytest.raises(SupervisionError, match="no case NOPE"):
        supervise(
            ops,
            tree_store,
            office_code="330100",
            case_no="NOPE",
            due_date=D(2025, 1, 1),
            note="不存在的案件",
            supervisor="330000",
            actor="t",
        )
    with pytest.raises(SupervisionError, match="still open"):
        conclude(ops, tree_store, office_code="330100", case_no="SUP-1", conclusion="已督促办结", actor="t")
    done = conclude(
        ops, tree_store, office_code="330100", case_no="SUP-2", conclusion="已按期办结，督办完成", actor="t"
    )
    assert done["concluded_by"] == "t"
    with pytest.raises(SupervisionError, match="not under a standing supervision"):
        conclude(ops, tree_store, office_code="330100", case_no="SUP-2", conclusion="再次办结该督办案件", actor="t")


def user(role: str, scope: str | None) -> User:
    return User(user_id=1, username=f"{role}-{scope}", role=role, scope_code=scope, disabled=False, session_version=1)


@pytest.mark.parametrize(
    ("role", "scope", "may"),
    [
        ("national_admin", None, True),
        ("national_leader", None, False),
        ("provincial", "330000", True),
        ("provincial", "320000", False),
        ("prefecture", "330100", False),
        ("inspector", None, False),
    ],
)
def test_who_may_supervise(role: str, scope: str | None, may: bool) -> None:
    office = policy.Office("330100", ("100000", "330000", "330100"))
    assert policy.allowed(actor=user(role, scope), action="supervision.manage", resource=office) is may


def test_a_refused_web_supervision_is_audited_and_changes_nothing(tree_store: Store, tmp_path: Path) -> None:
    ops = world(tree_store, tmp_path)
    office = policy.Office("330100", ("100000", "330000", "330100"))
    with pytest.raises(PermissionError):
        conclude(
            ops,
            tree_store,
            office_code="330100",
            case_no="SUP-3",
            conclusion="江苏替浙江办结",
            actor="js",
            user=user("provincial", "320000"),
            office=office,
        )
    assert ops.read("SELECT action FROM audit_log ORDER BY seq DESC")[0]["action"] == "scope.denied"
    assert ops.read("SELECT concluded_at FROM supervisions WHERE case_no = 'SUP-3'")[0]["concluded_at"] is None


def test_the_command_line(tree_store: Store, tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(HEADER + "\n".join(CASES) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "c.csv")], progress=False).counts.loaded == 4
    db = str(tree_store.path)
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    added = ipdash_cli(
        "supervise",
        "add",
        "330100",
        "SUP-4",
        "--due",
        due,
        "--note",
        "重点领域案件",
        "--by",
        "330000",
        "--db",
        db,
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["supervisor"] == "330000"
    listed = json.loads(ipdash_cli("supervise", "list", "--office", "330000", "--db", db, "--json").stdout)[
        "supervised"
    ]
    assert [(r["case_no"], r["status"]) for r in listed] == [("SUP-4", "overdue")]  # its 90 days ran out on 2024-12-30
    refused = ipdash_cli("supervise", "add", "330100", "SUP-2", "--due", due, "--note", "已结案件", "--db", db)
    assert refused.returncode == 2 and "only an open case is supervised" in refused.stderr
    early = ipdash_cli("supervise", "close", "330100", "SUP-4", "--note", "尚未办结", "--db", db)
    assert early.returncode == 2 and "still open" in early.stderr
    assert ipdash_cli("audit", "verify", "--db", db).returncode == 0


def test_the_case_page_form_and_the_list_through_hand_crafted_requests(
    tree_store: Store, tmp_path: Path, monkeypatch
) -> None:
    from access.users import add_user
    from dashboard import ids
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    (tmp_path / "c.csv").write_text(HEADER + "\n".join(CASES) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "c.csv")], progress=False).counts.loaded == 4
    ops = OpStore(default_path(tree_store.path))
    password = "correct horse battery staple"
    for name, role, scope in (
        ("zj", "provincial", "330000"),
        ("js", "provincial", "320000"),
        ("hz", "prefecture", "330100"),
    ):
        add_user(ops, username=name, role=role, scope_code=scope, scope_level=role, password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(tree_store.path), ops_path=str(ops.path))
    clients = {}
    for name in ("zj", "js", "hz"):
        clients[name] = app.server.test_client()
        assert dh.login(clients[name], name, password).status_code == 302

    page = dh.content(clients["zj"], "/case/330100/SUP-1", lang="en")
    assert dh.by_id(page, ids.SUP_ADD) is not None and "This case is not supervised" in dh.text(page)
    assert dh.by_id(dh.content(clients["hz"], "/case/330100/SUP-1"), ids.SUP_ADD) is None  # its own case: no form
    key = next(k for k in app.callback_map if k.startswith(f"..{ids.SUP_MESSAGE}.children"))
    due = (dt.date.today() + dt.timedelta(days=20)).isoformat()

    def mark(client, case: str) -> str:
        values = {
            ids.SUP_CASE: case,
            ids.SUP_DUE: due,
            ids.SUP_NOTE: "群众多次反映，挂牌督办",
            ids.LANG: "en",
            ids.SUP_ADD: 1,
        }
        body = dh.callback_body(app, key, lambda _w, _k, dep: values.get(dep["id"]), changed=f"{ids.SUP_ADD}.n_clicks")
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 200, got.data[:300]
        return got.get_data(as_text=True)

    denied_before = len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'"))
    assert "may not" in mark(clients["js"], "330100|SUP-1")
    assert "may not" in mark(clients["hz"], "330100|SUP-1")
    assert len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'")) == denied_before + 2
    panel_before = dh.text(
        dh.content(clients["zj"], "/monitor", "?office=330000", year=2024, as_of="2024-12-31", lang="en")
    )
    assert "Overdue supervised cases" in panel_before and "SUP-1" not in panel_before  # cached from here on
    versions_before = ops.versions().get("supervisions", 0)
    assert "Done" in mark(clients["zj"], "330100|SUP-1")
    assert ops.versions()["supervisions"] == versions_before + 1  # the panel's cached copy is out of date
    assert "already supervised" in mark(clients["zj"], "330100|SUP-1")
    listed = dh.text(dh.content(clients["zj"], "/supervision", lang="en"))
    assert "SUP-1" in listed and "Overdue" in listed  # opened 2024-06-03: its 3 months ran out long ago
    assert "SUP-1" not in dh.text(dh.content(clients["js"], "/supervision", lang="en"))
    panel = dh.text(dh.content(clients["zj"], "/monitor", "?office=330000", year=2024, as_of="2024-12-31", lang="en"))
    assert "Overdue supervised cases" in panel and "SUP-1" in panel

"""Assessment schemes (issue 19): scored against tests/fixtures/schemes/README.md, worked by hand;
every configuration error named with its file and key; manual scores with their policy; a published
year frozen against later edits."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from access import policy
from access.opstore import OpStore, default_path
from access.users import User
from ingest.run import ingest
from inspection.assessment import AssessmentError, publish, record_manual, results
from metrics.config import default_config
from metrics.schemes import (
    SchemeError,
    assess,
    band_points,
    default_scheme_path,
    load_scheme,
    parse_scheme,
)
from queries.store import Store
from tests import FIXTURES
from tests.conftest import ipdash_cli

FIXTURE = FIXTURES / "schemes"
HEADER = "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式\n"
CASES = [
    "ZA-1,330100,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-05-06,调解",
    "ZA-2,330102,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-05-06,认定侵权",
    "ZA-3,330000,专利侵权纠纷,外观设计,当事人请求,2024-01-10,2024-01-10,2024-06-20,调解",
    "ZP-1,330100,专利侵权纠纷,外观设计,当事人请求,2023-02-01,2023-02-01,2023-04-01,调解",
    "ZP-2,330100,专利侵权纠纷,外观设计,当事人请求,2023-03-01,2023-03-01,2023-05-01,调解",
    "JA-1,320100,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-05-06,调解",
    "JA-2,320102,专利侵权纠纷,外观设计,当事人请求,2024-03-04,2024-03-04,2024-04-06,调解",
]
OUTSIDE = {"supervised_closed": {"330000": 3}}
MANUAL = {("330000", "publicity"): {"self": 5.0, "assessor": 4.0}, ("320000", "publicity"): {"self": 3.0}}


@pytest.fixture
def golden(tree_store: Store, tmp_path: Path) -> Store:
    (tmp_path / "cases.csv").write_text(HEADER + "\n".join(CASES) + "\n", encoding="utf-8")
    assert ingest(tree_store, "cases", [str(tmp_path / "cases.csv")], progress=False).counts.loaded == len(CASES)
    return tree_store


def scored(store: Store, manual=MANUAL, outside=None) -> dict[str, dict]:
    scheme = load_scheme(FIXTURE / "test-scheme.toml")
    with contextlib.closing(store.reader()) as con:
        got = assess(
            con,
            default_config(),
            scheme,
            year=2024,
            manual=manual,
            outside=outside if outside is not None else {"supervised_closed": {"330000": 3}},
        )
    return {o["office_code"]: o for o in got}


def test_the_scheme_scores_the_fixture_as_worked_by_hand(golden: Store) -> None:
    got = scored(golden)
    zj, js = got["330000"], got["320000"]
    assert zj["items"]["disputes"] == {"count": 3, "points": 7.0, "capped": True}
    assert zj["items"]["growth"] == {"count": 3, "base": 2, "growth_pp": 50.0, "points": 4.0, "capped": True}
    assert zj["sections"]["A"] == {"points": 10.0, "uncapped": 11.0, "capped": True}
    assert zj["items"]["supervised"]["points"] == 1.5
    assert zj["items"]["timely"] == {
        "numerator": 2,
        "denominator": 3,
        "value": pytest.approx(0.666667),
        "points": 5.0,
        "capped": False,
    }
    assert zj["items"]["publicity"] == {"self": 5.0, "assessor": 4.0, "points": 4.0, "capped": False, "pending": False}
    assert (zj["sections"]["B"]["points"], zj["total"], zj["rank"]) == (10.5, 20.5, 1)
    assert js["items"]["disputes"] == {"count": 2, "points": 6.0, "capped": False}
    assert js["items"]["growth"] == {"count": 2, "base": 0, "growth_pp": None, "points": 4.0, "capped": False}
    assert js["sections"]["A"] == {"points": 10.0, "uncapped": 10.0, "capped": False}
    assert js["items"]["timely"]["points"] == 10.0 and js["items"]["supervised"]["points"] == 0.0
    assert js["items"]["publicity"]["pending"] is True and js["pending"] == ["publicity"]
    assert (js["total"], js["rank"]) == (20.0, 2)


def test_band_edges_and_growth_rules() -> None:
    scheme = load_scheme(FIXTURE / "test-scheme.toml")
    timely = next(i for i in scheme.items if i.id == "timely")
    edges = {0.9: 10, 0.8999: 9, 0.8: 9, 0.7999: 5, 0.5: 5, 0.4999: 1, 0.0: 1}
    assert {v: band_points(v, timely) for v in edges} == edges
    assert band_points(None, timely) == 0


def test_growth_from_zero_under_the_zero_rule_and_a_fall(golden: Store) -> None:
    text = (FIXTURE / "test-scheme.toml").read_text(encoding="utf-8").replace('zero_base = "cap"', 'zero_base = "zero"')
    scheme = parse_scheme(text, "zero.toml")
    with contextlib.closing(golden.reader()) as con:
        got = {o["office_code"]: o for o in assess(con, default_config(), scheme, year=2024, manual=MANUAL)}
        fell = {o["office_code"]: o for o in assess(con, default_config(), scheme, year=2025, manual=MANUAL)}
    assert got["320000"]["items"]["growth"]["points"] == 0.0  # from nothing: no points under "zero"
    assert fell["330000"]["items"]["growth"] == {
        "count": 0,
        "base": 3,
        "growth_pp": -100.0,
        "points": 0.0,
        "capped": False,
    }  # a fall: never negative


def test_the_indicator_item_is_the_composite_times_its_scale(golden: Store) -> None:
    from metrics.ranking import composites

    text = (FIXTURE / "test-scheme.toml").read_text(encoding="utf-8") + (
        '\n[[item]]\nid = "composite"\nsection = "B"\nkind = "indicator"\nzh = "综合"\nen = "Composite"\nscale = 0.1\n'
    )
    scheme = parse_scheme(text, "with-indicator.toml")
    with contextlib.closing(golden.reader()) as con:
        got = {o["office_code"]: o for o in assess(con, default_config(), scheme, year=2024, manual=MANUAL)}
        expected = composites(con, default_config(), year=2024, level="provincial", within=None)
    for code in ("330000", "320000"):
        value = expected.get(code)
        assert got[code]["items"]["composite"]["points"] == pytest.approx(0.0 if value is None else value * 0.1)


def test_rank_intervals_come_from_the_monte_carlo_of_the_indicator_item(golden: Store, monkeypatch) -> None:
    """rank_interval = true: each run's composite (here four runs given by hand) goes through the
    indicator item's cap (3) into each total; the ranks of each run give the interval (5th–95th
    percentile, the configured one). Totals without the item: 330000 20.5, 320000 20.0.

    | run | 330000 composite → points → total | 320000 | ranks (330000, 320000) |
    |---|---|---|---|
    | 1 | 0 → 0 → 20.5 | 20 → 2 → 22.0 | 2, 1 |
    | 2 | 10 → 1 → 21.5 | 0 → 0 → 20.0 | 1, 2 |
    | 3 | 50 → 3 (cap) → 23.5 | 30 → 3 → 23.0 | 1, 2 |
    | 4 | 25 → 2.5 → 23.0 | 40 → 3 (cap) → 23.0 | 1, 1 (tie) |

    330000's ranks {2, 1, 1, 1} and 320000's {1, 2, 2, 1}: both [1, 2]. With every run at 0 the
    totals are exact and each interval is its rank alone."""
    import numpy as np

    import metrics.schemes as schemes

    text = BASE.replace('level = "provincial"', 'level = "provincial"\nrank_interval = true', 1) + (
        '\n[[item]]\nid = "composite"\nsection = "B"\nkind = "indicator"\nzh = "综合"\nen = "Composite"\nscale = 0.1\ncap = 3\n'
    )
    scheme = parse_scheme(text, "with-interval.toml")
    assert scheme.rank_interval
    runs = np.array([[0.0, 10.0, 50.0, 25.0], [20.0, 0.0, 30.0, 40.0]])
    monkeypatch.setattr(schemes, "composite_runs", lambda con, config, year, level: (["330000", "320000"], runs))
    monkeypatch.setattr(schemes, "composites", lambda *a, **k: {})  # the official composite: none (0 points)
    with contextlib.closing(golden.reader()) as con:
        got = {
            o["office_code"]: o
            for o in assess(con, default_config(), scheme, year=2024, manual=MANUAL, outside=OUTSIDE)
        }
        assert (got["330000"]["rank"], got["330000"]["rank_interval"]) == (1, [1, 2])
        assert (got["320000"]["rank"], got["320000"]["rank_interval"]) == (2, [1, 2])
        monkeypatch.setattr(
            schemes, "composite_runs", lambda con, config, year, level: (["330000", "320000"], runs * 0)
        )
        got = {
            o["office_code"]: o
            for o in assess(con, default_config(), scheme, year=2024, manual=MANUAL, outside=OUTSIDE)
        }
        assert got["330000"]["rank_interval"] == [1, 1] and got["320000"]["rank_interval"] == [2, 2]
    with pytest.raises(SchemeError, match="rank_interval: only a scheme with an indicator item"):
        parse_scheme(BASE.replace('level = "provincial"', 'level = "provincial"\nrank_interval = true', 1), "x.toml")


def test_rank_intervals_from_the_real_monte_carlo_hold_the_rank(golden: Store) -> None:
    text = BASE.replace('level = "provincial"', 'level = "provincial"\nrank_interval = true', 1) + (
        '\n[[item]]\nid = "composite"\nsection = "B"\nkind = "indicator"\nzh = "综合"\nen = "Composite"\nscale = 0.1\n'
    )
    with contextlib.closing(golden.reader()) as con:
        got = assess(con, default_config(), parse_scheme(text, "i.toml"), year=2024, manual=MANUAL)
    for o in got:
        lo, hi = o["rank_interval"]
        assert 1 <= lo <= hi <= len(got)


BASE = (FIXTURE / "test-scheme.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "change, says",
    [
        (('kind = "manual"', 'kind = "sometimes"'), "item[4].kind: unknown item kind 'sometimes'"),
        (("bands = [[0.9, 10], [0.8, 9]", "bands = [[0.8, 10], [0.9, 9]"), "item[3].bands: thresholds must run"),
        (("case_kind = 'infringement_dispute'", "casekind = 'x'"), "item[0].count: unknown column 'casekind'"),
        (("cap = 7", "cap = -1"), "item[0].cap: a number of at least 0"),
        (("cap = 10", "cap = -5"), "section[0].cap: a number of at least 0"),
        (('level = "provincial"', 'level = "city"'), "level: one of provincial, prefecture, county"),
        (('section = "B"\nkind = "manual"', 'section = "C"\nkind = "manual"'), "item[4].section: 'C' is not a section"),
        (("closed_in_year AND case_kind", "(SELECT 1) AND case_kind"), "without queries or tables"),
        (("closed_in_year AND case_kind", "random() > 0 AND case_kind"), "function 'random' is not allowed"),
        (('source = "supervised_closed"', 'source = "rumours"'), "item[2].source: one of supervised_closed"),
        (("points = 3\n", 'points = "3"\n'), "item[0].points: a number of at least 0"),
    ],
)
def test_a_bad_scheme_is_refused_naming_file_and_key(change: tuple[str, str], says: str) -> None:
    assert change[0] in BASE, change
    with pytest.raises(SchemeError) as err:
        parse_scheme(BASE.replace(change[0], change[1], 1), "bad.toml")
    assert str(err.value).startswith("bad.toml: ") and says in str(err.value), str(err.value)


def test_the_shipped_example_scheme_loads_and_names_its_source() -> None:
    scheme = load_scheme(default_scheme_path())
    assert scheme.level == "provincial" and "示例" in scheme.source
    assert {i.kind for i in scheme.items} == {"per_unit", "growth", "band", "manual"}


def user(role: str, scope: str | None) -> User:
    return User(1, role, role, scope, False, 1)


def test_manual_scores_follow_the_policy_and_a_published_year_is_frozen(golden: Store, tmp_path: Path) -> None:
    ops = OpStore(default_path(golden.path))
    scheme = load_scheme(FIXTURE / "test-scheme.toml")
    zj_office = policy.Office("330000", ("100000", "330000"))

    def enter(who: User | None, role: str, score: float, office: str = "330000") -> dict:
        resource = zj_office if office == "330000" else policy.Office(office, ("100000", office))
        return record_manual(
            ops,
            scheme,
            year=2024,
            office_code=office,
            item_id="publicity",
            score=score,
            role=role,
            actor=who.username if who else "cli",
            evidence_dir=tmp_path / "evidence",
            user=who,
            office=resource if who else None,
        )

    enter(user("provincial", "330000"), "self", 5)
    with pytest.raises(PermissionError):  # never the office itself
        enter(user("provincial", "330000"), "assessor", 5)
    with pytest.raises(PermissionError):  # another province
        enter(user("provincial", "320000"), "self", 1)
    enter(user("national_admin", None), "assessor", 4)
    with pytest.raises(AssessmentError, match="between 0 and 5"):
        enter(None, "assessor", 6)
    with pytest.raises(AssessmentError, match="not a manual item"):
        record_manual(
            ops,
            scheme,
            year=2024,
            office_code="330000",
            item_id="timely",
            score=1,
            role="self",
            actor="cli",
            evidence_dir=tmp_path,
        )
    with pytest.raises(AssessmentError, match="still missing"):
        publish(ops, golden, default_config(), scheme, year=2024, actor="t")  # Jiangsu's assessor score
    enter(None, "assessor", 2, office="320000")
    done = publish(ops, golden, default_config(), scheme, year=2024, actor="t")
    # With no supervised case on record here: Zhejiang 20.5 − 1.5 = 19; Jiangsu 20 + the assessor's 2 = 22.
    assert {o["office_code"]: o["total"] for o in done["offices"]} == {"330000": 19.0, "320000": 22.0}
    with pytest.raises(AssessmentError, match="published"):
        enter(None, "assessor", 1)
    edited = replace(scheme, sha256="0" * 64)
    with pytest.raises(AssessmentError, match="another text of the scheme; give the edited scheme a new version"):
        results(ops, golden, default_config(), edited, year=2024)
    again = results(ops, golden, default_config(), scheme, year=2024)
    assert again["published_at"] == done["published_at"] and again["offices"] == done["offices"]
    actions = [r["action"] for r in ops.read("SELECT action FROM audit_log")]
    assert actions.count("assessment.self") == 1 and actions.count("assessment.assess") == 0
    assert actions.count("assessment.assessor") == 2 and actions.count("assessment.publish") == 1
    assert sum(1 for a in actions if a == "scope.denied") == 2


def test_assess_from_the_command_line(golden: Store, tmp_path: Path) -> None:
    db = str(golden.path)
    scheme = str(FIXTURE / "test-scheme.toml")
    got = ipdash_cli("assess", "--year", "2024", "--scheme", scheme, "--db", db, "--json")
    assert got.returncode == 0, got.stderr
    totals = {o["office_code"]: o["total"] for o in json.loads(got.stdout)["offices"]}
    assert totals == {"330000": 15.0, "320000": 20.0}  # no supervised case (−1.5), no manual score (−4) here
    wrong = ipdash_cli("assess", "--year", "2024", "--scheme", scheme, "--level", "county", "--db", db)
    assert wrong.returncode == 2 and "scores provincial offices" in wrong.stderr
    (tmp_path / "bad.toml").write_text(BASE.replace('kind = "band"', 'kind = "bands"'), encoding="utf-8")
    bad = ipdash_cli("assess", "--year", "2024", "--scheme", str(tmp_path / "bad.toml"), "--db", db)
    assert bad.returncode == 2 and "bad.toml: item[3].kind: unknown item kind 'bands'" in bad.stderr
    pdf = tmp_path / "公开清单.pdf"
    pdf.write_bytes(b"%PDF-1.4 evidence")
    entered = ipdash_cli(
        "assess-score",
        "--year",
        "2024",
        "--office",
        "330000",
        "--item",
        "publicity",
        "--self",
        "5",
        "--evidence",
        str(pdf),
        "--scheme",
        scheme,
        "--db",
        db,
        "--json",
    )
    assert entered.returncode == 0, entered.stderr
    assert json.loads(entered.stdout)["evidence"][0]["name"] == "公开清单.pdf"
    assert oct((golden.path.parent / "evidence").stat().st_mode & 0o777) == "0o700"


def test_the_page_shows_the_rows_each_user_may_read(golden: Store, tmp_path: Path, monkeypatch) -> None:
    """Zhejiang reads the provinces' rows (the national ranking its office appears in); Hangzhou, a
    prefecture, reads none of them; the scheme's source and the self/assessor difference show."""
    from access.users import add_user
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    ops = OpStore(default_path(golden.path))
    password = "correct horse battery staple"
    add_user(ops, username="zj", role="provincial", scope_code="330000", scope_level="provincial", password=password)
    add_user(ops, username="hz", role="prefecture", scope_code="330100", scope_level="prefecture", password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(golden.path), ops_path=str(ops.path))
    zj, hz = app.server.test_client(), app.server.test_client()
    assert dh.login(zj, "zj", password).status_code == 302 and dh.login(hz, "hz", password).status_code == 302
    seen = dh.text(dh.content(zj, "/assessment", "?year=2024"))
    assert "浙江省知识产权局" in seen and "江苏省知识产权局" in seen and "示例" in seen
    assert "浙江省知识产权局" not in dh.text(dh.content(hz, "/assessment", "?year=2024"))


def test_manual_scores_through_the_form_by_hand_crafted_requests(golden: Store, monkeypatch) -> None:
    """Zhejiang enters its self-score with evidence; its assessor's score is refused (audited) until
    the national administrator enters it; the page then shows both and their difference."""
    import base64

    from access.users import add_user
    from dashboard import ids
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    ops = OpStore(default_path(golden.path))
    password = "correct horse battery staple"
    add_user(ops, username="zj", role="provincial", scope_code="330000", scope_level="provincial", password=password)
    add_user(ops, username="admin", role="national_admin", password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    app = create_app(db=str(golden.path), ops_path=str(ops.path))
    zj, admin = app.server.test_client(), app.server.test_client()
    assert dh.login(zj, "zj", password).status_code == 302 and dh.login(admin, "admin", password).status_code == 302
    key = next(k for k in app.callback_map if k.startswith(f"{ids.ASSESS_MESSAGE}.children"))
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 list of items published").decode()

    def save(client, role: str, score: float, evidence: bool = False) -> str:
        values = {
            ids.ASSESS_SAVE: 1,
            ids.ASSESS_OFFICE: "330000",
            ids.ASSESS_ITEM: "publicity",
            ids.ASSESS_ROLE: role,
            ids.ASSESS_SCORE: score,
            ids.YEAR: 2024,
            ids.LANG: "en",
        }

        def value_of(_where, _k, dep):
            if dep["id"] == ids.ASSESS_EVIDENCE:
                if not evidence:
                    return None
                return [pdf] if dep["property"] == "contents" else ["公开清单.pdf"]
            return values.get(dep["id"])

        body = dh.callback_body(app, key, value_of, changed=f"{ids.ASSESS_SAVE}.n_clicks")
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 200, got.data[:300]
        return got.get_data(as_text=True)

    assert "Saved: self 8.0" in save(zj, "self", 8, evidence=True) and "1 evidence files" in save(zj, "self", 8)
    before = len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'"))
    assert "may not" in save(zj, "assessor", 10)
    assert len(ops.read("SELECT seq FROM audit_log WHERE action = 'scope.denied'")) == before + 1
    assert "assessor 6.0" in save(admin, "assessor", 6)
    shown = dh.text(dh.content(zj, "/assessment", "?year=2024"))
    assert "8.0" in shown and "6.0" in shown and "-2.0" in shown


def test_the_page_offers_the_schemes_of_the_folder(golden: Store, tmp_path: Path, monkeypatch) -> None:
    """IPDASH_SCHEMES: the page lists the shipped example and the folder's schemes, shows the one
    chosen in the address, and tells the administrator which file cannot be used and why."""
    import shutil

    from access.users import add_user
    from dashboard.app import create_app
    from tests import dash_helpers as dh

    folder = tmp_path / "schemes"
    folder.mkdir()
    shutil.copy(FIXTURE / "test-scheme.toml", folder / "golden.toml")
    (folder / "broken.toml").write_text(BASE.replace('kind = "band"', 'kind = "bands"'), encoding="utf-8")
    monkeypatch.setenv("IPDASH_SCHEMES", str(folder))
    ops = OpStore(default_path(golden.path))
    password = "correct horse battery staple"
    add_user(ops, username="admin", role="national_admin", password=password)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    client = create_app(db=str(golden.path), ops_path=str(ops.path)).server.test_client()
    assert dh.login(client, "admin", password).status_code == 302
    first = dh.text(dh.content(client, "/assessment", "?year=2024"))
    assert "专利行政执法绩效考核评分表（示例，省级）" in first and "测试评分表" in first
    assert "broken.toml: item[3].kind: unknown item kind 'bands'" in first
    chosen = dh.text(dh.content(client, "/assessment", "?year=2024&scheme=golden%201"))
    assert "测试评分表 · 2024" in chosen and "数量" in chosen

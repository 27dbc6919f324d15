"""The dashboard's pages through hand-made HTTP requests on the golden data: every page renders in
both languages, and the numbers shown are the numbers of `ipdash scores`."""

from __future__ import annotations

import json

import pytest

from access.opstore import OpStore
from access.users import add_user
from dashboard import ids
from dashboard.app import create_app
from dashboard.i18n import LABELS
from tests import dash_helpers as dh
from tests.conftest import ipdash_cli, with_appraisals_of
from tests.dash_helpers import by_id, cases, content, rank_rows, text

PAGES = [
    "/",
    "/place/100000",
    "/place/130000",
    "/place/130100",
    "/office/110000",
    "/office/130101",
    "/monitor",
    "/cases",
    "/case/110100/P1b1-01",
    "/methodology",
    "/report",
    "/nowhere",
]


@pytest.fixture(scope="module")
def leader(golden_metrics, tmp_path_factory):
    import os

    os.environ.setdefault("IPDASH_SECRET_KEY", "test-only")
    ops = with_appraisals_of(golden_metrics, OpStore(tmp_path_factory.mktemp("ops") / "ops.sqlite"))
    add_user(ops, username="leader", role="national_leader", password="a-long-password")
    app = create_app(db=str(golden_metrics.path), ops_path=str(ops.path))
    client = app.server.test_client()
    assert dh.login(client, "leader", "a-long-password").status_code == 302
    client.ops = ops  # the app's operational store, for tests that look behind the pages
    client.callback_keys = list(app.callback_map)
    return client


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_both_languages(leader, path: str, lang: str) -> None:
    body = content(leader, path, lang=lang)
    shown = text(body)
    assert shown
    other = "en" if lang == "zh" else "zh"
    # No label of the other language leaks into the page (labels that are the same in both excepted).
    leaked = [
        k
        for k, pair in LABELS.items()
        if pair[0] != pair[1]
        and len(pair[LANGS[other]]) > 3
        and pair[LANGS[other]] in shown
        and pair[LANGS[lang]] not in shown
    ]
    assert not leaked, leaked


LANGS = {"zh": 0, "en": 1}


def test_the_overview_shows_the_headline_figures_and_the_provincial_ranking(leader, golden_metrics) -> None:
    body = content(leader, "/")
    head = text(by_id(body, "headline"))
    # Hand-worked in tests/fixtures/metrics/README.md: 67 + 52 + 32 = 151 accepted, 52 + 42 + 35 = 129 closed.
    assert "151" in head and "129" in head
    got = json.loads(ipdash_cli("scores", "--db", str(golden_metrics.path), "--year", "2024", "--json").stdout)
    expected = [
        (o["office_code"], o["rank"], f"{o['composite']:,.1f}" if o["composite"] is not None else "—")
        for o in got["offices"]
    ]
    assert [(r["code"], r["rank"] if r["rank"] != "—" else None, r["composite"]) for r in rank_rows(body)] == expected


def test_a_province_page_ranks_its_prefectures_as_ipdash_scores_does(leader, golden_metrics) -> None:
    body = content(leader, "/place/130000")
    got = json.loads(
        ipdash_cli(
            "scores",
            "--db",
            str(golden_metrics.path),
            "--year",
            "2024",
            "--level",
            "prefecture",
            "--within",
            "130000",
            "--json",
        ).stdout
    )
    assert {r["code"]: r["composite"] for r in rank_rows(body)} == {
        o["office_code"]: (f"{o['composite']:,.1f}" if o["composite"] is not None else "—") for o in got["offices"]
    }
    # P1's headline: 67 accepted and 52 closed in 2024, T1 = 42 / 52 closed on time.
    p1 = text(by_id(content(leader, "/place/110000"), "headline"))
    assert "67" in p1 and "52" in p1 and f"{42 / 52 * 100:.1f}%" in p1


def test_the_office_profile_shows_every_indicator_with_numerator_and_denominator(leader) -> None:
    body = content(leader, "/office/110000", lang="en")
    table = by_id(body, "profile-indicators")
    rows = {r["props"]["data-id"]: r for r in table["props"]["children"][1]["props"]["children"]}
    assert len(rows) == 16
    e3 = text(rows["E3"])
    assert "83.3%" in e3 and " 10 " in f" {e3} " and " 12 " in f" {e3} "  # 10 / 12, README
    assert "insufficient" in text(rows["L2"])  # 6 of 8: below the minimum
    assert text(by_id(body, ids.PROFILE_RANK)) == "1"  # P1 ranks first of the three provinces (README)


def test_the_case_explorer_pages_sorts_and_filters_on_the_server(leader) -> None:
    first = cases(leader, {"startRow": 0, "endRow": 20, "sortModel": [{"colId": "accepted_date", "sort": "desc"}]})
    assert first["rowCount"] == 157 and len(first["rowData"]) == 20
    dates = [r["accepted_date"] for r in first["rowData"]]
    assert dates == sorted(dates, reverse=True)
    nxt = cases(leader, {"startRow": 20, "endRow": 40, "sortModel": [{"colId": "accepted_date", "sort": "desc"}]})
    assert not {r["case_no"] for r in nxt["rowData"]} & {r["case_no"] for r in first["rowData"]}
    p3 = cases(leader, {"filterModel": {"office_code": {"filterType": "text", "type": "startsWith", "filter": "13"}}})
    assert p3["rowCount"] == sum(1 for _ in p3["rowData"]) and all(
        r["office_code"].startswith("13") for r in p3["rowData"]
    )
    after = cases(
        leader,
        {
            "filterModel": {
                "closed_date": {"filterType": "date", "type": "greaterThan", "dateFrom": "2024-12-01 00:00:00"}
            }
        },
    )
    assert all(r["closed_date"] > "2024-12-01" for r in after["rowData"])
    within = cases(leader, office="130100")
    assert within["rowCount"] == 12 + 8 + 2  # P3a, P3b and P3b2 (README: subtree of 130100)
    from tests.dash_helpers import case_rows

    bad = json.loads(case_rows(leader, {"sortModel": [{"colId": "1; DROP TABLE cases", "sort": "asc"}]}).data)
    assert bad["response"]["cases-grid"]["getRowsResponse"]["rowData"] == []


def test_a_case_shows_its_deadline_and_status(leader) -> None:
    body = content(leader, "/case/110100/P1b1-01", lang="en")
    fields = {
        n["props"]["data-field"]: n["props"]["children"]
        for n in [
            c["props"]["children"][1] for c in by_id(body, "case-fields")["props"]["children"]["props"]["children"]
        ]
    }
    assert fields["deadline"] == "2024-07-12" and fields["closed_date"] == "2024-08-01"  # README: closed late
    assert fields["status"] == "closed late"
    assert fields["case_kind"] == "Infringement dispute"  # by name, not the code
    zh = content(leader, "/case/110100/P1b1-01", lang="zh")
    zh_fields = {
        n["props"]["data-field"]: n["props"]["children"]
        for n in [c["props"]["children"][1] for c in by_id(zh, "case-fields")["props"]["children"]["props"]["children"]]
    }
    assert zh_fields["case_kind"] == "专利侵权纠纷"


def test_the_monitor_lists_open_cases_overdue_first(leader) -> None:
    body = content(leader, "/monitor", "?office=110000", year=2024, lang="en")
    grid = by_id(body, "monitor-grid")
    statuses = [r["status"] for r in grid["props"]["rowData"]]
    assert statuses and statuses[0] == "overdue"
    assert statuses == sorted(statuses, key=["overdue", "warning", "ok", "no_limit"].index)
    assert any("P1f-01" in r["case_no"] for r in grid["props"]["rowData"])  # README: P1f overdue at year end
    assert {r["case_kind"] for r in grid["props"]["rowData"]} <= {
        "Infringement dispute",
        "Counterfeit",
        "Other dispute",
    }


def test_a_what_if_weighting_reranks_without_saving(leader, golden_metrics) -> None:
    base = rank_rows(content(leader, "/"))
    tilted = rank_rows(content(leader, "/", weights={"effort": 100, "level": 0, "timeliness": 0, "quality": 0}))
    got = json.loads(
        ipdash_cli(
            "scores",
            "--db",
            str(golden_metrics.path),
            "--year",
            "2024",
            "--json",
            "--weights",
            "effort=100,level=0,timeliness=0,quality=0",
        ).stdout
    )
    assert [r["code"] for r in tilted] == [o["office_code"] for o in got["offices"]]
    assert [r["code"] for r in tilted] != [r["code"] for r in base]  # the weights did change the order
    assert rank_rows(content(leader, "/")) == base  # nothing saved


def test_health_and_readiness_answer_without_login(golden_metrics, tmp_path) -> None:
    app = create_app(db=str(golden_metrics.path), ops_path=str(tmp_path / "ops.sqlite"))
    client = app.server.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_inspection_actions_are_refused_to_a_non_administrator_on_the_server(leader, golden_metrics) -> None:
    """A national leader may look at plans but a hand-made lock or publish request is refused and logged."""
    from access import audit
    from inspection.plans import create_plan, list_plans

    app_ops = leader.ops
    create_plan(app_ops, golden_metrics, 'plan_id = "NOPE"\nyear = 2024\n', actor="test")
    values = {"plan-current": "NOPE", "lang": "en", "plan-publish-reason": "a reason for it"}
    for confirm in ("plan-lock-confirm", "plan-publish-confirm"):
        deps = json.loads(leader.get("/_dash-dependencies").data)
        dep = next(d for d in deps if any(i["id"] == confirm for i in d["inputs"]))
        got = leader.post(
            "/_dash-update-component",
            json={
                "output": dep["output"],
                "outputs": [{"id": "plan-action-message", "property": "children"}, {"id": "url", "property": "search"}],
                "inputs": [{"id": confirm, "property": "submit_n_clicks", "value": 1}],
                "state": [{**st, "value": values[st["id"]]} for st in dep["state"]],
                "changedPropIds": [f"{confirm}.submit_n_clicks"],
            },
        )
        assert got.status_code == 200
        assert "Administrators only" in got.get_data(as_text=True)
    plan = next(p for p in list_plans(app_ops) if p["plan_id"] == "NOPE")
    assert plan["locked_at"] is None and plan["published_at"] is None
    assert sum(1 for e in audit.recent(app_ops) if e["action"] == "access.denied" and e["actor"] == "leader") >= 2


def test_the_case_explorer_shows_and_filters_kinds_by_name(leader) -> None:
    every = cases(leader, {"endRow": 500})
    kinds = {r["case_kind"] for r in every["rowData"]}
    assert kinds and kinds <= {"Infringement dispute", "Counterfeit", "Other dispute"}, kinds
    zh = cases(leader, {"endRow": 500}, lang="zh")
    assert {r["case_kind"] for r in zh["rowData"]} <= {"专利侵权纠纷", "假冒专利", "其他专利纠纷"}
    n = sum(1 for r in zh["rowData"] if r["case_kind"] == "假冒专利")
    assert 0 < n < zh["rowCount"]
    for typed, lang in (("假冒", "zh"), ("counterf", "en"), ("COUNTERFEIT", "en")):  # a name, or the code
        got = cases(
            leader,
            {"endRow": 500, "filterModel": {"case_kind": {"filterType": "text", "type": "contains", "filter": typed}}},
            lang=lang,
        )
        assert got["rowCount"] == n and {r["case_kind"] for r in got["rowData"]} <= {"假冒专利", "Counterfeit"}
    rest = cases(
        leader,
        {"endRow": 500, "filterModel": {"case_kind": {"filterType": "text", "type": "notContains", "filter": "假冒"}}},
    )
    assert rest["rowCount"] == zh["rowCount"] - n
    none = cases(leader, {"filterModel": {"case_kind": {"filterType": "text", "type": "equals", "filter": "nothing"}}})
    assert none["rowCount"] == 0


@pytest.fixture(scope="module")
def province_users(golden_metrics, leader):
    """Provincial users of P3 (130000) and P1 (110000) signed in on the golden data."""
    out = {}
    for code in ("130000", "110000"):
        add_user(
            leader.ops,
            username=f"p{code}",
            role="provincial",
            password="a-long-password",
            scope_code=code,
            scope_level="provincial",
        )
        client = create_app(db=str(golden_metrics.path), ops_path=str(leader.ops.path)).server.test_client()
        assert dh.login(client, f"p{code}", "a-long-password").status_code == 302
        out[code] = client
    return out


def test_a_provincial_users_first_screen_says_where_it_stands_and_why(province_users, golden_metrics) -> None:
    """P3's home (tests/fixtures/metrics/README.md): 2nd of the 3 provinces, its interval and change
    as `ipdash scores` gives them; the indicators furthest below the peers' median score are L1
    (0 vs 100), T1 (0 vs 58.1197) and E1 (0 vs 54.2857); E2, E4 and L3 are the median itself and
    not named. P1's open cases: the 3 overdue P1f cases are its own (本级), none below it."""
    got = json.loads(ipdash_cli("scores", "--db", str(golden_metrics.path), "--year", "2024", "--json").stdout)
    p3 = next(o for o in got["offices"] if o["office_code"] == "130000")
    lo, hi = p3["rank_interval"]
    body = content(province_users["130000"], "/", year=2024)
    said = text(by_id(body, ids.STANDING_RANK))
    assert "在全国 3 个省级知识产权局中排第 2 位" in said
    change = p3["rank_change"]
    assert ("上年无可比排名" if change is None else "与上年名次相同" if change == 0 else f"{abs(change)} 位") in said
    assert f"排名区间第 {lo}–{hi} 位" in text(by_id(body, ids.STANDING)) or lo == hi
    weakest = [li["props"]["children"] for li in by_id(body, ids.STANDING_WEAKEST)["props"]["children"]]
    assert [w.split("：")[0] for w in weakest] == ["实体结案率", "按期结案率", "办案量"]
    en = text(by_id(content(province_users["130000"], "/", year=2024, lang="en"), ids.STANDING_RANK))
    assert "Ranked 2 of 3 provincial offices nationwide" in en

    p1 = content(province_users["110000"], "/", year=2024)
    chart = by_id(p1, ids.STANDING_OPEN)["props"]["figure"]
    overdue, warning = chart["data"]
    assert (overdue["y"], overdue["x"], warning["x"]) == (["本级"], [3], [0])


def test_the_viewers_own_row_is_highlighted_and_ranks_read_of_how_many(province_users) -> None:
    rows = rank_rows(content(province_users["130000"], "/place/100000", year=2024))
    assert {r["code"]: r["mine"] for r in rows} == {"110000": False, "130000": True, "120000": False}
    assert {r["of"] for r in rows} == {3}


def test_headline_changes_are_coloured_better_or_worse_not_by_sign(leader) -> None:
    """More overdue cases than last year is worse, more closed cases better; open cases are neither."""
    from dashboard.widgets import _tile

    up = {"value": 10, "previous": 4, "change": 6}
    assert _tile("x", up, "zh", better=-1).children[2].children[0].className == "delta worse"
    assert _tile("x", up, "zh", better=1).children[2].children[0].className == "delta better"
    assert _tile("x", up, "zh", better=0).children[2].children[0].className == "delta"


@pytest.mark.parametrize(
    ("search", "applied"),
    [
        ("?year=2024&as_of=2024-06-30&method=zscore&w=0,25,25,25&lang=en&palette=okabe", True),
        ("?office=110000", False),  # a page's own parameter only: every control keeps its value
        ("?year=1999&method=nonsense&w=1,2&lang=fr", False),  # values no control accepts are not applied
    ],
)
def test_the_controls_take_the_view_of_the_address(leader, search: str, applied: bool) -> None:
    from dashboard.request_checks import output_parts

    key = f"..{ids.YEAR}.value...{ids.AS_OF}.date...{ids.METHOD}.value...{ids.PEER}.value..."
    callback = next(k for k in leader.callback_keys if k.startswith(key))
    dims = ("effort", "level", "timeliness", "quality")
    outputs = [
        [{"id": {"type": ids.WEIGHT, "dim": d}, "property": p} for d in dims]
        if isinstance(i, dict)
        else {"id": i, "property": p}
        for i, p in output_parts(callback)
    ]
    body = {
        "output": callback,
        "outputs": outputs,
        "inputs": [
            {"id": ids.URL, "property": "search", "value": search},
            {"id": ids.WEIGHTS_RESET, "property": "n_clicks", "value": 0},
        ],
        "state": [{"id": ids.YEAR, "property": "options", "value": [{"label": "2024", "value": 2024}]}],
        "changedPropIds": [f"{ids.URL}.search"],
    }
    got = leader.post("/_dash-update-component", json=body)
    assert got.status_code in (200, 204), got.data[:300]
    response = json.loads(got.data)["response"] if got.status_code == 200 else {}
    if applied:
        assert response[ids.YEAR]["value"] == 2024 and response[ids.AS_OF]["date"] == "2024-06-30"
        assert response[ids.METHOD]["value"] == "zscore" and response[ids.LANG]["value"] == "en"
        assert [response[json.dumps({"dim": d, "type": ids.WEIGHT}, separators=(",", ":"))]["value"] for d in dims] == [
            0,
            25,
            25,
            25,
        ]
    else:
        assert response == {}


def test_the_banner_names_every_setting_that_differs_from_the_official_one() -> None:
    from dashboard.shell import unofficial
    from metrics.config import default_config

    config = default_config()
    official = [config.scoring.dimension_weights[d] for d in ("effort", "level", "timeliness", "quality")]
    assert unofficial(config, 2024, None, config.scoring.method, official, "zh") == []
    assert unofficial(config, 2024, "2024-12-31", config.scoring.method, official, "zh") == []
    said = unofficial(config, 2024, "2024-06-30", "zscore", [0, *official[1:]], "en")
    assert said[0] == "scoring method Z-score (official: Min–max)"
    assert said[1].startswith("dimension weights Effort 0, Level") and "(official: Effort 25" in said[1]
    assert said[2] == "open cases judged on 2024-06-30 (official: 31 December)"
    assert len(unofficial(config, 2024, None, "percentile", official, "zh")) == 1


def _monitor_export(client, lang: str, button: str = ids.MONITOR_EXPORT) -> dict:
    body = {
        "output": f"{ids.MONITOR_DOWNLOAD}.data",
        "outputs": {"id": ids.MONITOR_DOWNLOAD, "property": "data"},
        "inputs": [
            {"id": ids.MONITOR_EXPORT, "property": "n_clicks", "value": int(button == ids.MONITOR_EXPORT)},
            {"id": ids.MONITOR_EXPORT_XLSX, "property": "n_clicks", "value": int(button == ids.MONITOR_EXPORT_XLSX)},
        ],
        "state": [
            {"id": ids.URL, "property": "search", "value": "?office=110000&status=overdue"},
            {"id": ids.YEAR, "property": "value", "value": 2024},
            {"id": ids.AS_OF, "property": "date", "value": None},
            {"id": ids.LANG, "property": "value", "value": lang},
        ],
        "changedPropIds": [f"{button}.n_clicks"],
    }
    got = client.post("/_dash-update-component", json=body)
    assert got.status_code == 200, got.data[:300]
    return json.loads(got.data)["response"][ids.MONITOR_DOWNLOAD]["data"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_open_cases_export_speaks_words_not_codes(leader, lang: str) -> None:
    """P1's open cases at 2024-12-31 (tests/fixtures/metrics/README.md): the three P1f cases are
    overdue infringement disputes; the CSV names columns, kinds and statuses in words."""
    import csv
    import io
    import re

    content = _monitor_export(leader, lang)["content"]
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    head, data = rows[0], rows[1:]
    assert head[:4] == (
        ["机构代码", "机构", "案号", "案件类型"] if lang == "zh" else ["Office code", "Office", "Case no.", "Kind"]
    )
    assert len(data) == 3
    status = head.index("状态" if lang == "zh" else "Status")
    kind = head.index("案件类型" if lang == "zh" else "Kind")
    assert {r[status] for r in data} == {"超期未结" if lang == "zh" else "overdue"}
    assert {r[kind] for r in data} == {"专利侵权纠纷" if lang == "zh" else "Infringement dispute"}
    assert not re.search(r"\b[a-z]+(?:_[a-z0-9]+)+\b", content)


def _search(client, text: str) -> list[str]:
    body = {
        "output": f"{ids.OFFICE_SEARCH}.options",
        "outputs": {"id": ids.OFFICE_SEARCH, "property": "options"},
        "inputs": [{"id": ids.OFFICE_SEARCH, "property": "search_value", "value": text}],
        "changedPropIds": [f"{ids.OFFICE_SEARCH}.search_value"],
    }
    got = client.post("/_dash-update-component", json=body)
    assert got.status_code == 200, got.data[:300]
    return [o["value"] for o in json.loads(got.data)["response"][ids.OFFICE_SEARCH]["options"]]


def test_the_office_search_finds_by_name_initials_and_code_within_what_the_user_may_open(
    leader, province_users
) -> None:
    assert _search(leader, "130000")[0] == "130000"  # the code itself first
    assert _search(leader, "P3") == ["130000", "130100", "130200", "130101", "130201"]  # by level, then code
    assert "130000" in _search(leader, "p3sj")  # pinyin initials of "P3 省局"
    assert set(_search(leader, "省局")) == {"110000", "120000", "130000"}
    p3 = province_users["130000"]
    assert set(_search(p3, "省局")) == {"130000"}  # another province's office is not offered
    assert "100000" in _search(p3, "100000")  # its own chain: the nation's ranking rows
    assert _search(p3, "110000") == []
    # each option is matched in the browser against its own name, code and pinyin (not another office's)
    got = leader.post(
        "/_dash-update-component",
        json={
            "output": f"{ids.OFFICE_SEARCH}.options",
            "outputs": {"id": ids.OFFICE_SEARCH, "property": "options"},
            "inputs": [{"id": ids.OFFICE_SEARCH, "property": "search_value", "value": "P3"}],
            "changedPropIds": [f"{ids.OFFICE_SEARCH}.search_value"],
        },
    )
    options = json.loads(got.data)["response"][ids.OFFICE_SEARCH]["options"]
    assert all(o["value"] in o["search"].split(" ") for o in options)
    assert next(o for o in options if o["value"] == "130100")["search"] == "P3 甲市局 130100 p3jsj p3jiashiju"


def test_the_profile_trend_shows_the_peers_median(leader) -> None:
    """2024 composites (tests/fixtures/metrics/README.md): P1 53.0196, P3 47.9088, P2 39.7976; the
    peers' median is P3's 47.9088."""
    body = content(leader, "/office/110000", year=2024)
    mine, median = by_id(body, ids.PROFILE_TREND)["props"]["figure"]["data"]
    at = mine["x"].index("2024")
    assert mine["y"][at] == pytest.approx(53.0196, abs=1e-3)
    assert median["y"][median["x"].index("2024")] == pytest.approx(47.9088, abs=1e-3)


def test_every_headline_figure_opens_the_cases_behind_it(leader) -> None:
    body = content(leader, "/place/130000")
    shown = [n["props"]["href"] for n in dh.walk(by_id(body, ids.HEADLINE)) if n.get("type") == "Link"]
    assert len(shown) == 6
    assert "/monitor?office=130000&status=overdue" in shown and "/cases?office=130000" in shown


def test_the_case_explorer_follows_the_year(leader, golden_metrics) -> None:
    """The chosen year keeps the cases handled at some time in it: P1g-01 (accepted 2025-02-05) is a
    2025 case, not a 2024 one; P3b2-01 (accepted 2023, closed 2024) is in both 2023 and 2024."""
    import contextlib

    def numbers(year: int | None) -> set[str]:
        got = dh.cases(leader, {"endRow": 500, "filterModel": {}}, year=year)
        return {r["case_no"] for r in got["rowData"]}

    assert "P1g-01" in numbers(2025) and "P1g-01" not in numbers(2024)
    assert "P3b2-01" in numbers(2024) and "P3b2-01" in numbers(2023)
    with contextlib.closing(golden_metrics.reader()) as con:
        (expected,) = con.execute(
            "SELECT count(*) FROM cases WHERE accepted_date <= DATE '2024-12-31' "
            "AND (closed_date IS NULL OR closed_date >= DATE '2024-01-01')"
        ).fetchone()
    assert dh.cases(leader, {"endRow": 1}, year=2024)["rowCount"] == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offices_side_by_side(leader, lang: str) -> None:
    """P1 and P3 (tests/fixtures/metrics/README.md): ranks 1 and 2 of 3, composites 53.0 and 47.9."""
    body = content(leader, "/compare", "?offices=110000,130000", lang=lang)
    table = by_id(body, ids.COMPARE_TABLE)
    rows = [[text(c) for c in tr["props"]["children"]] for tr in dh.walk(table) if tr.get("type") == "Tr"]
    assert rows[0][1:] == ["P1 省局", "P3 省局"]
    of = "/" if lang == "zh" else "of"
    assert rows[1][1:] == [f"1 {of} 3", f"2 {of} 3"]
    assert rows[2][1:] == ["53.0", "47.9"]
    assert len(by_id(body, ids.COMPARE_CHART)["props"]["figure"]["data"]) == 2


def _control_states(lang: str) -> list:
    """The controls of the official 2024 view, as a callback's states (control_deps' order)."""
    dims = ("effort", "level", "timeliness", "quality")
    return [
        {"id": ids.YEAR, "property": "value", "value": 2024},
        {"id": ids.AS_OF, "property": "date", "value": None},
        {"id": ids.METHOD, "property": "value", "value": "minmax"},
        {"id": ids.PEER, "property": "value", "value": "siblings"},
        [{"id": {"type": ids.WEIGHT, "dim": d}, "property": "value", "value": 25} for d in dims],
        {"id": ids.LANG, "property": "value", "value": lang},
        {"id": ids.PALETTE, "property": "value", "value": "viridis"},
    ]


def _ranking_xlsx(client, path: str, lang: str = "zh"):
    body = {
        "output": f"{ids.TABLE_DOWNLOAD}.data",
        "outputs": {"id": ids.TABLE_DOWNLOAD, "property": "data"},
        "inputs": [{"id": ids.TABLE_XLSX, "property": "n_clicks", "value": 1}],
        "state": [{"id": ids.URL, "property": "pathname", "value": path}, *_control_states(lang)],
        "changedPropIds": [f"{ids.TABLE_XLSX}.n_clicks"],
    }
    return client.post("/_dash-update-component", json=body)


def test_the_ranking_exports_as_an_excel_workbook_within_the_policy(leader, province_users, golden_metrics) -> None:
    """The national ranking as `ipdash scores` gives it; another province's page exports nothing."""
    import base64
    import io

    import openpyxl

    got = _ranking_xlsx(leader, "/place/100000")
    assert got.status_code == 200, got.data[:300]
    data = json.loads(got.data)["response"][ids.TABLE_DOWNLOAD]["data"]
    assert data["filename"] == "ranking-100000-2024.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"]))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("排名", "参与排名机构数", "代码", "机构", "综合得分")
    scores = json.loads(ipdash_cli("scores", "--db", str(golden_metrics.path), "--year", "2024", "--json").stdout)
    expected = {o["office_code"]: (o["rank"], round(o["composite"], 4)) for o in scores["offices"]}
    assert {r[2]: (r[0], round(r[4], 4)) for r in rows[1:]} == expected
    assert {r[1] for r in rows[1:]} == {3}
    refused = _ranking_xlsx(province_users["130000"], "/place/110000")
    assert refused.status_code in (200, 204)
    assert not (json.loads(refused.data).get("response") if refused.status_code == 200 else None)  # nothing sent


def test_the_configured_peer_groups_rank_as_ipdash_scores_does_and_say_among_whom(leader, golden_metrics) -> None:
    """Configured peer groups (SPEC §3.3 item 4): prefectures nationally, counties within their
    province. The page ranks its children's one peer group on its own and gets the ranks of the
    nationwide command; a note says which offices the ranks are among."""

    def scores(level: str) -> dict[str, dict]:
        out = ipdash_cli("scores", "--db", str(golden_metrics.path), "--year", "2024", "--level", level, "--json")
        return {o["office_code"]: o for o in json.loads(out.stdout)["offices"]}

    prefectures = scores("prefecture")
    ranked = sum(1 for o in prefectures.values() if o["rank"] is not None)
    body = content(leader, "/place/130000", peer="configured")
    assert {r["code"]: (r["rank"], r["of"]) for r in rank_rows(body) if r["rank"] != "—"} == {
        c: (o["rank"], ranked) for c, o in prefectures.items() if c.startswith("13") and o["rank"] is not None
    }
    assert text(by_id(body, ids.RANK_AMONG)) == f"名次为在全国地市级知识产权局中的排名（共 {ranked} 个参与排名）"

    counties = scores("county")
    hebei = {c: o for c, o in counties.items() if o["province_code"] == "130000" and o["rank"] is not None}
    body = content(leader, "/place/130100", peer="configured", lang="en")
    got = {r["code"]: (r["rank"], r["of"]) for r in rank_rows(body) if r["rank"] != "—"}
    assert got and got == {c: (o["rank"], len(hebei)) for c, o in hebei.items() if c.startswith("1301")}
    assert text(by_id(body, ids.RANK_AMONG)) == f"Ranks within the county offices of P3 省局 ({len(hebei)} ranked)"
    siblings = text(by_id(content(leader, "/place/130100", lang="en"), ids.RANK_AMONG))
    assert siblings == "Ranks within the county offices of P3 甲市局 (1 ranked)"


def _table_xlsx(client, table: str, path: str, search: str = "", lang: str = "zh", keys=None):
    button = {"type": ids.TABLE_XLSX_ANY, "table": table}
    key = next(k for k in (keys or client.callback_keys) if k.startswith(f"{ids.TABLE_DOWNLOAD}.data@"))
    body = {
        "output": key,
        "outputs": {"id": ids.TABLE_DOWNLOAD, "property": "data"},
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "state": [
            {"id": ids.URL, "property": "pathname", "value": path},
            {"id": ids.URL, "property": "search", "value": search},
            *_control_states(lang),
        ],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
    }
    got = client.post("/_dash-update-component", json=body)
    assert got.status_code in (200, 204), got.data[:300]
    sent = json.loads(got.data)["response"] if got.status_code == 200 else {}
    return sent.get(ids.TABLE_DOWNLOAD, {}).get("data")  # None: nothing sent


def _sheet_rows(data: dict) -> list[tuple]:
    import base64
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"]))).active
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def test_any_table_exports_as_an_excel_workbook_as_the_page_shows_it(leader, province_users, golden_metrics) -> None:
    """The comparison table: the page's rows, its figures as numbers (rates as rates); the policy
    decides as for the page itself (another province's offices export nothing)."""
    import base64
    import io

    import openpyxl

    data = _table_xlsx(leader, ids.COMPARE_TABLE, "/compare", "?offices=110000,130000")
    assert data["filename"] == f"{ids.COMPARE_TABLE}-2024.xlsx"
    rows = {r[0]: r[1:] for r in _sheet_rows(data)}
    assert rows["项目"] == ("P1 省局", "P3 省局")
    assert rows["排名"] == ("1 / 3", "2 / 3")
    scores = json.loads(ipdash_cli("scores", "--db", str(golden_metrics.path), "--year", "2024", "--json").stdout)
    composite = {o["office_code"]: round(o["composite"], 1) for o in scores["offices"]}
    assert rows["综合得分"] == (composite["110000"], composite["130000"])
    # T1 on time: P1 42 of 52 closed on time (README), shown as 80.8%, exported as the rate 0.808
    assert rows["T1 按期结案率"][0] == pytest.approx(round(42 / 52, 3))
    assert rows["L2 复议诉讼维持率"] == ("数据不足", "数据不足")  # insufficient data stays in words
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"]))).active
    t1 = next(row for row in ws.iter_rows() if row[0].value == "T1 按期结案率")
    assert t1[1].number_format == "0.0%"
    assert leader.ops.read("SELECT count(*) AS n FROM audit_log WHERE action = 'export.table'")[0]["n"] >= 1

    # the profile's indicators, in English: the same figures the page shows
    profile = {r[0]: r for r in _sheet_rows(_table_xlsx(leader, ids.PROFILE_INDICATORS, "/office/110000", lang="en"))}
    assert profile["E1"][3:5] == (67, 67)  # value and numerator: 67 cases accepted (README)
    # another province's offices: the page refuses them, so nothing is exported
    p3 = province_users["130000"]
    assert _table_xlsx(p3, ids.COMPARE_TABLE, "/compare", "?offices=110000", keys=leader.callback_keys) is None
    # a table no Excel button names: nothing
    assert _table_xlsx(leader, "not-a-table", "/compare", "?offices=110000") is None


def test_shown_figures_become_numbers_in_the_workbook() -> None:
    from dashboard.table_export import cell_value
    from reports.sheet import Styled

    assert cell_value("1,234") == 1234 and cell_value("60.7") == 60.7 and cell_value("−3") == -3
    rate = cell_value("80.8%")
    assert isinstance(rate, Styled) and rate.value == 0.808 and rate.number_format == "0.0%"
    assert cell_value("7 / 55") == "7 / 55" and cell_value("—") == "—" and cell_value("数据不足") == "数据不足"


def test_the_open_cases_and_the_case_explorer_export_as_excel_workbooks(leader, province_users, monkeypatch) -> None:
    """The monitor's Excel export holds the rows of its CSV (P1's three overdue cases); the case
    explorer exports every case its filters select, all pages, in words, as CSV or Excel, within
    the user's scope; more than an export holds is refused with a message, not cut off."""
    import csv
    import io

    from dashboard import case_views

    data = _monitor_export(leader, "zh", ids.MONITOR_EXPORT_XLSX)
    assert data["filename"] == "open-cases-110000.xlsx"
    rows = _sheet_rows(data)
    assert rows[0][:4] == ("机构代码", "机构", "案号", "案件类型") and len(rows) == 1 + 3
    assert {r[3] for r in rows[1:]} == {"专利侵权纠纷"}

    def export(client, button: str, request: dict | None = None, office: str | None = None):
        body = {
            "output": f"..{ids.CASES_DOWNLOAD}.data...{ids.CASES_EXPORT_NOTE}.children..",
            "outputs": [
                {"id": ids.CASES_DOWNLOAD, "property": "data"},
                {"id": ids.CASES_EXPORT_NOTE, "property": "children"},
            ],
            "inputs": [
                {"id": ids.CASES_EXPORT_XLSX, "property": "n_clicks", "value": int(button == ids.CASES_EXPORT_XLSX)},
                {"id": ids.CASES_EXPORT_CSV, "property": "n_clicks", "value": int(button == ids.CASES_EXPORT_CSV)},
            ],
            "state": [
                {"id": ids.CASES_GRID, "property": "getRowsRequest", "value": request},
                {"id": ids.CASES_OFFICE, "property": "data", "value": office},
                {"id": ids.LANG, "property": "value", "value": "zh"},
                {"id": ids.YEAR, "property": "value", "value": 2024},
            ],
            "changedPropIds": [f"{button}.n_clicks"],
        }
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code in (200, 204), got.data[:300]
        return json.loads(got.data)["response"] if got.status_code == 200 else {}

    kind = {"case_kind": {"filterType": "text", "type": "equals", "filter": "专利侵权纠纷"}}
    grid = json.loads(dh.case_rows(leader, {"filterModel": kind, "endRow": 10}, lang="zh", year=2024).data)["response"][
        ids.CASES_GRID
    ]["getRowsResponse"]
    assert grid["rowCount"] > 10  # more than the one page the grid asked for
    sent = export(leader, ids.CASES_EXPORT_XLSX, {"filterModel": kind, "sortModel": []})
    rows = _sheet_rows(sent[ids.CASES_DOWNLOAD]["data"])
    assert rows[0][:4] == ("机构代码", "机构", "案号", "案件类型")
    assert len(rows) == 1 + grid["rowCount"] and {r[3] for r in rows[1:]} == {"专利侵权纠纷"}
    text = export(leader, ids.CASES_EXPORT_CSV, {"filterModel": kind})[ids.CASES_DOWNLOAD]["data"]["content"]
    assert len(list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))) == 1 + grid["rowCount"]

    p3 = province_users["130000"]  # its own subtree only, as its grid shows it
    mine = json.loads(dh.case_rows(p3, lang="zh", year=2024).data)["response"][ids.CASES_GRID]["getRowsResponse"]
    rows = _sheet_rows(export(p3, ids.CASES_EXPORT_XLSX)[ids.CASES_DOWNLOAD]["data"])
    assert len(rows) == 1 + mine["rowCount"] and {str(r[0])[:2] for r in rows[1:]} == {"13"}
    assert export(p3, ids.CASES_EXPORT_XLSX, office="110000").get(ids.CASES_DOWNLOAD) is None  # not its office

    monkeypatch.setattr(case_views, "EXPORT_MOST", 5)
    refused = export(leader, ids.CASES_EXPORT_CSV)
    assert ids.CASES_DOWNLOAD not in refused
    assert refused[ids.CASES_EXPORT_NOTE]["children"].endswith("超过一次导出的上限 5 件：请先用筛选缩小范围")

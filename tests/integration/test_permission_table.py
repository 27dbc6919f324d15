"""Every page and route × every role, as a table written by hand from SPEC §5 (not derived from
the policy's own grants), checked with hand-crafted requests.

The golden tree: national 100000; P1 110000 > 110100 > 110101; P2 120000 > …; P3 130000 > 130100 >
130101 and 130000 > 130200 > 130201. Users: leader (national leader), admin (national
administrator), p1 (provincial, 110000), pref (prefecture, 130100), insp (inspector I-1, nothing
assigned), and anonymous."""

from __future__ import annotations

import json
import re

import pytest

from access import policy
from access.users import User, add_user
from dashboard import ids
from tests import dash_helpers as dh
from tests.conftest import SITE_PASSWORD

ROLES = ("leader", "admin", "p1", "pref", "insp")
V, D = "shown", "denied"

PAGES = {  # path: outcome for leader, admin, p1, pref, insp
    "/": (V, V, V, V, V),
    "/place/100000": (V, V, V, D, D),  # p1 sees the nation's ranking rows (its parent)
    "/place/110000": (V, V, V, D, D),
    "/place/120000": (V, V, D, D, D),
    "/place/130000": (V, V, D, V, D),  # pref sees its province's ranking rows
    "/place/130100": (V, V, D, V, D),
    "/office/110000": (V, V, V, D, D),
    "/office/130000": (V, V, D, D, D),  # a profile needs the full view: not the parent's
    "/office/130101": (V, V, D, V, D),
    "/monitor?office=110000": (V, V, V, D, D),
    "/monitor?office=130100": (V, V, D, V, D),
    "/cases": (V, V, V, V, V),  # an inspector's grid holds only the archives assigned
    "/case/110100/P1b1-01": (V, V, V, D, D),
    "/case/130100/P3a-01": (V, V, D, V, D),
    "/report": (V, V, V, V, D),
    "/inspection": (V, V, D, D, D),
    "/methodology": (V, V, V, V, V),
    "/archives": (D, D, D, D, V),
    "/rectification": (V, V, V, V, D),
    "/rectification/R-nosuch-110000": (D, D, D, D, D),  # no such notice: nothing shown, to anyone
    "/supervision": (V, V, V, V, D),
    "/visits": (V, V, V, V, V),  # an inspector sees only the visits assigned to them as visitor
    "/subscriptions": (V, V, V, V, V),  # each user their own; the administrator everyone's
    "/assessment": (V, V, V, V, D),
    "/compare?offices=110000": (V, V, V, D, D),  # each chosen office is asked of the policy
    "/compare?offices=130100": (V, V, D, V, D),  # the rows each user may read, as on the ranking pages
}

ROUTES = {  # (method, path): status for anonymous, leader, admin, p1, pref, insp
    ("GET", "/login"): (200, 200, 200, 200, 200, 200),
    ("GET", "/public"): (200, 200, 200, 200, 200, 200),
    ("GET", "/healthz"): (200, 200, 200, 200, 200, 200),
    ("GET", "/audit"): (302, 403, 200, 403, 403, 403),
    ("GET", "/_dash-layout"): (401, 200, 200, 200, 200, 200),
    ("GET", "/_dash-dependencies"): (401, 200, 200, 200, 200, 200),
    ("GET", "/place/110000"): (302, 200, 200, 200, 200, 200),  # the index page; its data come by callback
    ("POST", "/_dash-update-component"): (401, 400, 400, 400, 400, 400),  # an empty body: malformed
}


@pytest.fixture
def clients(site):
    app, ops = site
    add_user(ops, username="admin", role="national_admin", password=SITE_PASSWORD)
    add_user(ops, username="insp", role="inspector", password=SITE_PASSWORD, scope_code="I-1")
    out = {"anonymous": app.server.test_client()}
    for name in ROLES:
        out[name] = app.server.test_client()
        assert dh.login(out[name], name, SITE_PASSWORD).status_code == 302
    return app, ops, out


def _outcome(client, target: str) -> str:
    path, _, search = target.partition("?")
    got = dh.page(client, path, "?" + search if search else "")
    assert got.status_code == 200, (target, got.status_code)
    content = got.get_json()["response"][ids.CONTENT]["children"]
    text = json.dumps(content, ensure_ascii=False)
    return D if (ids.DENIED in text or '"denied"' in text) else V


@pytest.mark.parametrize("target", list(PAGES))
def test_every_page_for_every_role(clients, target: str) -> None:
    _, _, by_name = clients
    got = tuple(_outcome(by_name[name], target) for name in ROLES)
    assert got == PAGES[target], dict(zip(ROLES, got))


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_route_for_every_role(clients, route: tuple[str, str]) -> None:
    _, _, by_name = clients
    method, path = route
    got = tuple(
        (by_name[n].get(path) if method == "GET" else by_name[n].post(path, json={})).status_code
        for n in ("anonymous", *ROLES)
    )
    assert got == ROUTES[route], dict(zip(("anonymous", *ROLES), got))


def test_every_refusal_is_on_record(clients) -> None:
    _, ops, by_name = clients
    from access import audit

    before = len(audit.recent(ops, 100_000))
    refusals = sum(outcomes.count(D) for outcomes in PAGES.values())
    for target, outcomes in PAGES.items():
        for name, outcome in zip(ROLES, outcomes):
            if outcome == D:
                _outcome(by_name[name], target)
    logged = [
        e
        for e in audit.recent(ops, 100_000)[: len(audit.recent(ops, 100_000)) - before]
        if e["action"] in ("access.denied", "scope.denied")
    ]
    assert len(logged) >= refusals


def test_the_policy_itself_decides_offices_by_the_chain() -> None:
    p1 = User(2, "p1", "provincial", "110000", False, 1)
    insp = User(3, "i", "inspector", "I-1", False, 1)
    nation = policy.Office("100000", ("100000",), frozenset({"110000", "120000"}))
    county = policy.Office("110101", ("100000", "110000", "110100", "110101"))
    assert policy.allowed(actor=p1, action="office.read", resource=county)
    assert not policy.allowed(actor=p1, action="office.read", resource=nation)
    assert policy.allowed(actor=p1, action="office.rows", resource=nation)
    assert not policy.allowed(actor=insp, action="office.rows", resource=county)
    assert not policy.allowed(actor=None, action="office.rows", resource=county)
    disabled = User(4, "x", "national_leader", None, True, 1)
    assert not policy.allowed(actor=disabled, action="methodology")
    assert policy.scope_for(insp).archives_only and policy.scope_for(p1).office_code == "110000"
    with pytest.raises(KeyError):
        policy.allowed(actor=p1, action="office.delete")


CALLBACKS = {  # what each role gets from a state-changing or data callback: allowed (A) or refused (R)
    "archive rows": ("R", "R", "R", "R", "A"),
    "case grid": ("all", "all", "110000", "130100", "none"),  # the rows the scope leaves
    "lock a plan": ("R", "A", "R", "R", "R"),
}


def _lock_body(app, plan_id: str) -> dict:
    key = next(k for k in app.callback_map if k.startswith(f"..{ids.PLAN_ACTION_MESSAGE}.children...{ids.URL}.search"))
    return {
        "output": key,
        "outputs": [
            {"id": ids.PLAN_ACTION_MESSAGE, "property": "children"},
            {"id": ids.URL, "property": "search"},
        ],
        "inputs": [{"id": ids.PLAN_LOCK_CONFIRM, "property": "submit_n_clicks", "value": 1}],
        "state": [
            {"id": ids.PLAN_CURRENT, "property": "data", "value": plan_id},
            {"id": ids.LANG, "property": "value", "value": "en"},
        ],
        "changedPropIds": [f"{ids.PLAN_LOCK_CONFIRM}.submit_n_clicks"],
    }


def test_every_guarded_callback_for_every_role(clients, golden) -> None:
    from access import audit
    from inspection.plans import create_plan, list_plans

    app, ops, by_name = clients
    got: dict[str, list[str]] = {name: [] for name in CALLBACKS}
    for name in ROLES:
        client = by_name[name]
        last = audit.recent(ops, 1)[0]["seq"]
        dh.archive_rows(client)
        refused = any(
            e["action"] == "access.denied" and e["actor"] == name for e in audit.recent(ops, 10) if e["seq"] > last
        )
        got["archive rows"].append("R" if refused else "A")
        rows = dh.cases(client, {"endRow": 500})
        offices = {r["office_code"] for r in rows["rowData"]}
        if rows["rowCount"] == 157 and len(rows["rowData"]) == 157:  # every case of the golden data
            got["case grid"].append("all")
        elif not offices:
            got["case grid"].append("none")
        else:
            prefix = (
                "11"
                if all(o.startswith("11") for o in offices)
                else "1301"
                if all(o.startswith("1301") for o in offices)
                else "?"
            )
            got["case grid"].append({"11": "110000", "1301": "130100"}.get(prefix, "?"))
        plan_id = f"T-{name}"
        create_plan(ops, golden, f'plan_id = "{plan_id}"\nyear = 2024\nscope = "110000"\n', actor="test")
        client.post("/_dash-update-component", json=_lock_body(app, plan_id))
        locked = next(p for p in list_plans(ops) if p["plan_id"] == plan_id)["locked_at"]
        got["lock a plan"].append("A" if locked else "R")
    assert {k: tuple(v) for k, v in got.items()} == CALLBACKS


# Every callback of the app, classified by hand: the action it needs, or why it needs none. A new
# callback fails `test_every_callback_is_classified` until it is entered here.
CALLBACK_NEEDS = {
    f"..{ids.TITLE}.children": None,  # the page's words in the chosen language
    f"..{ids.YEAR}.value": None,  # the controls from the address (a link, the back button); the what-if reset
    f"{ids.ADDRESS}.data": None,  # the controls written to the address (in the browser)
    f"{ids.OFFICE_SEARCH}.options": None,  # offers only the offices the policy lets the user open (views.access)
    f"{ids.PRESENT}.className": None,  # presentation mode, in the browser
    f"..{ids.UNOFFICIAL}.children": None,  # the what-if banner: how the controls differ from the official ones
    f"{ids.CHECKLIST_DOWNLOAD}.data": "archives",
    f"{ids.CHECKLIST_UPLOAD_RESULT}.children": "archives",
    '..{"item":["ALL"],"type":"appraisal-item"}.value': "archives",
    f"..{ids.APPRAISAL_RESULT}.children...": "archives",
    f"{ids.APPRAISAL_RESULT}.children@": "archives",
    f"..{ids.CASES_GRID}.getRowsResponse": "cases",
    f"..{ids.CASES_DOWNLOAD}.data": "cases",
    f"..{ids.PLAN_PREVIEW}.children": "inspection.manage",
    f"..{ids.PLAN_ACTION_MESSAGE}.children...": "inspection.manage",
    f"..{ids.PLAN_ACTION_MESSAGE}.children@": "inspection.manage",
    f"{ids.DRAW_MANIFEST_DOWNLOAD}.data": "inspection",
    f"{ids.URL}.search": None,  # rewrites the query string: the monitor's filter, the offices compared
    f"{ids.MONITOR_DOWNLOAD}.data": "monitor",
    f"{ids.TABLE_DOWNLOAD}.data": "rankings",  # and the office's page, through views.place
    f"{ids.TILE_MAP}.figure": "rankings",
    f"{ids.URL}.href": None,  # a click on the map, or an office chosen in the search box, opens its address
    f"..{ids.REPORT_STATUS}.children": "report",
    f"..{ids.REPORT_PROGRESS}.value": "report",
    f"..{ids.CONTENT}.children": "rankings",  # the router: each page is checked by the page table above
    f"{ids.ARCHIVES_TABLE}.getRowsResponse": "archives",
    f"..{ids.RECT_MESSAGE}.children": "rectification",  # and per office: rectification.respond / .review
    f"..{ids.SUP_MESSAGE}.children": "supervision",  # and per office: supervision.manage
    f"{ids.VISIT_MESSAGE}.children": "visits",  # and per case: visit.record
    f"..{ids.SUB_MESSAGE}.children": "subscriptions",  # and per recipient: subscriptions.manage
    f"{ids.NOTIF_LIST}.children": "subscriptions",
    f"..{ids.SUB_FOR_WORKBOOK}.style": None,  # shows the inputs of the chosen kind; reads nothing
    f"{ids.ASSESS_MESSAGE}.children": "rankings",  # and per office: assessment.self / assessment.assess
}


def _needs(key: str) -> object:
    found = [k for k in CALLBACK_NEEDS if key.startswith(k)]
    assert len(found) == 1, (key, found)
    return CALLBACK_NEEDS[found[0]]


def test_every_callback_is_classified(clients) -> None:
    app, _, _ = clients
    for key in app.callback_map:
        _needs(key)


PLAUSIBLE = {  # a value a browser would send for each input or state, by component id and property
    ("n_clicks", None): 1,
    ("submit_n_clicks", None): 1,
    ("n_intervals", None): 1,
    ("value", ids.LANG): "zh",
    ("data", ids.PLAN_CURRENT): "T-plan",
    ("contents", None): "data:application/octet-stream;base64,UEsDBA==",
    ("filename", None): "checklist.xlsx",
    ("value", ids.APPRAISAL_ARCHIVE): "T-D1|110100|P1b1-01",
    ("getRowsRequest", None): {"startRow": 0, "endRow": 10, "sortModel": [], "filterModel": {}},
    ("value", ids.MAP_KEY): "composite",
    ("value", ids.YEAR): 2024,
    ("pathname", None): "/",
    ("href", None): "/",
    ("search", None): "?office=110000",
    ("value", ids.DRAW_SEED_INPUT): "1",
    ("value", None): None,
}


def _value(dep: dict) -> object:
    ident = dep["id"] if not dep["id"].startswith("{") else None
    for key in ((dep["property"], ident), (dep["property"], None)):
        if key in PLAUSIBLE:
            return PLAUSIBLE[key]
    return None


def _body(app, key: str) -> dict:
    return dh.callback_body(app, key, lambda _where, _k, dep: _value(dep))


def test_every_guarded_callback_refuses_a_role_without_its_action_and_says_so(clients) -> None:
    """For each callback that needs an action, every role without it is refused: the response
    carries nothing of the store, and the refusal is in the audit log under the user's name."""
    from access import audit
    from access.policy import GRANTS

    app, ops, by_name = clients
    roles = {
        "leader": "national_leader",
        "admin": "national_admin",
        "p1": "provincial",
        "pref": "prefecture",
        "insp": "inspector",
    }
    silent, leaked = [], []
    for key in app.callback_map:
        action = _needs(key)
        if action is None or key.startswith(f"..{ids.CONTENT}.children"):
            continue
        for name, role in roles.items():
            if action in GRANTS[role]:
                continue
            last = audit.recent(ops, 1)[0]["seq"]
            got = by_name[name].post("/_dash-update-component", json=_body(app, key))
            assert got.status_code in (200, 204, 400), (key, name, got.status_code)
            text = got.get_data(as_text=True)
            if any(code in text for code in ("110100", "P1b1", "P1 市局")):
                leaked.append((name, key[:50]))
            new = [e for e in audit.recent(ops, 20) if e["seq"] > last and e["actor"] == name]
            if not any(e["action"].endswith("denied") for e in new):
                silent.append((name, key[:50]))
    assert (leaked, silent) == ([], []), json.dumps({"leaked": leaked, "silent": silent}, ensure_ascii=False)


SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # an identifier such as infringement_dispute
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\bUTC\b")  # a recorded time not said in Beijing time


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_shows_a_code_to_any_role(clients, lang: str) -> None:
    """Every page of the table above, for every role, in both languages: the words shown contain
    no identifier (enumeration codes and column names are written in snake_case)."""
    _, _, by_name = clients
    found = []
    for target in PAGES:
        path, _, search = target.partition("?")
        for name in ROLES:
            got = dh.page(by_name[name], path, "?" + search if search else "", lang=lang)
            shown = dh.text(got.get_json()["response"][ids.CONTENT]["children"])
            found += [(name, target, code) for code in sorted(set(SNAKE.findall(shown)))]
            found += [(name, target, time) for time in sorted(set(UTC_TIME.findall(shown)))]
    assert not found, found[:20]

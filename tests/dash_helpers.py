"""Hand-crafted Dash requests: render a page through the router callback as the browser would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from dashboard import ids

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page_html: str) -> str:
    """The CSRF token of a sign-in (or sign-out) form."""
    found = CSRF_FIELD.search(page_html)
    assert found, "the page has no CSRF token field"
    return found.group(1)


def login(client, username: str, password: str, **post):
    """Sign in with a Flask test client as a browser does: fetch the form (its CSRF token), post it.
    `post`: more keywords for client.post (e.g. environ_base); `data` adds form fields."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    data = {"username": username, "password": password, "csrf_token": token, **post.pop("data", {})}
    return client.post("/login", data=data, **post)


def login_http(session, base: str, username: str, password: str, **post):
    """The same over HTTP with a requests.Session (no redirects followed)."""
    token = csrf_token(session.get(base + "/login", timeout=60).text)
    data = {"username": username, "password": password, "csrf_token": token, **post.pop("data", {})}
    return session.post(base + "/login", data=data, allow_redirects=False, timeout=post.pop("timeout", 60), **post)


ROUTE = f"..{ids.CONTENT}.children...{ids.WHATIF_NOTE}.children.."
DIMS = ("effort", "level", "timeliness", "quality")


def route_body(
    path: str,
    search: str = "",
    *,
    year: int = 2024,
    lang: str = "zh",
    as_of: str | None = None,
    method: str = "minmax",
    peer: str = "siblings",
    weights: dict | None = None,
    palette: str = "viridis",
) -> dict:
    """The router callback's request for `path` with these controls, as the browser sends it."""
    w = weights or {}
    return {
        "output": ROUTE,
        "outputs": [{"id": ids.CONTENT, "property": "children"}, {"id": ids.WHATIF_NOTE, "property": "children"}],
        "inputs": [
            {"id": ids.URL, "property": "pathname", "value": path},
            {"id": ids.URL, "property": "search", "value": search},
            {"id": ids.YEAR, "property": "value", "value": year},
            {"id": ids.AS_OF, "property": "date", "value": as_of},
            {"id": ids.METHOD, "property": "value", "value": method},
            {"id": ids.PEER, "property": "value", "value": peer},
            [{"id": {"type": ids.WEIGHT, "dim": d}, "property": "value", "value": w.get(d, 25)} for d in DIMS],
            {"id": ids.LANG, "property": "value", "value": lang},
            {"id": ids.PALETTE, "property": "value", "value": palette},
        ],
        "changedPropIds": ["url.pathname"],
    }


def page(client, path: str, search: str = "", **controls):
    """POST the router callback for `path` (controls as for route_body); returns the Flask response."""
    return client.post("/_dash-update-component", json=route_body(path, search, **controls))


def content(client, path: str, search: str = "", **kw) -> dict:
    got = page(client, path, search, **kw)
    assert got.status_code == 200, got.data[:500]
    return json.loads(got.data)["response"][ids.CONTENT]["children"]


def walk(node) -> Iterator[dict]:
    if isinstance(node, dict):
        if "props" in node:
            yield node
            yield from walk(node["props"].get("children"))
        else:
            for v in node.values():
                yield from walk(v)
    elif isinstance(node, list):
        for n in node:
            yield from walk(n)


def by_id(node, ident: str) -> dict | None:
    return next((n for n in walk(node) if n["props"].get("id") == ident), None)


def text(node) -> str:
    """Every string in the component tree, joined."""
    out: list[str] = []

    def go(n):
        if isinstance(n, str):
            out.append(n)
        elif isinstance(n, (int, float)) and not isinstance(n, bool):
            out.append(str(n))
        elif isinstance(n, dict):
            if "props" in n:
                go(n["props"].get("children"))
            else:
                for v in n.values():
                    go(v)
        elif isinstance(n, list):
            for x in n:
                go(x)

    go(node)
    return " ".join(out)


def rank_rows(node) -> list[dict]:
    """The ranking table's rows: code, rank (and of how many), composite, whether the office name is a
    link and whether the row is the viewer's own office."""
    rows = []
    for n in walk(node):
        if n["props"].get("className") in ("rank-row", "rank-row mine"):
            cells = n["props"]["children"]
            name = cells[1]["props"]["children"][0]
            shown = str(cells[0]["props"]["children"])  # "3 / 32" (zh) or "3 of 32" (en), "—" unranked
            parts = shown.replace(" of ", " / ").split(" / ")
            rows.append(
                {
                    "code": n["props"]["data-code"],
                    "rank": int(parts[0]) if parts[0].isdigit() else parts[0],
                    "of": int(parts[1]) if len(parts) > 1 else None,
                    "mine": n["props"]["className"] == "rank-row mine",
                    "composite": cells[2]["props"]["children"],
                    "link": name.get("props", {}).get("href") if name.get("type") == "Link" else None,
                }
            )
    return rows


def links(node) -> list[str]:
    return [n["props"]["href"] for n in walk(node) if n.get("type") == "Link"]


def cases_body(
    request: dict | None = None, office: str | None = None, lang: str = "en", year: int | None = None
) -> dict:
    """The case explorer's server-side row request, as AG Grid sends it (`year`: the chosen year;
    None, as before a year is chosen: every year)."""
    req = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}, **(request or {})}
    return {
        "output": f"..{ids.CASES_GRID}.getRowsResponse...{ids.CASES_TOTAL}.children..",
        "outputs": [
            {"id": ids.CASES_GRID, "property": "getRowsResponse"},
            {"id": ids.CASES_TOTAL, "property": "children"},
        ],
        "inputs": [{"id": ids.CASES_GRID, "property": "getRowsRequest", "value": req}],
        "state": [
            {"id": ids.CASES_OFFICE, "property": "data", "value": office},
            {"id": ids.LANG, "property": "value", "value": lang},
            {"id": ids.YEAR, "property": "value", "value": year},
        ],
        "changedPropIds": ["cases-grid.getRowsRequest"],
    }


def case_rows(client, request: dict | None = None, office: str | None = None, lang: str = "en", year=None):
    """POST the case explorer's server-side row request; returns the Flask response."""
    return client.post("/_dash-update-component", json=cases_body(request, office, lang, year))


def cases(client, request: dict | None = None, office: str | None = None, lang: str = "en", year=None) -> dict:
    got = case_rows(client, request, office, lang, year)
    assert got.status_code == 200, got.data[:500]
    return json.loads(got.data)["response"][ids.CASES_GRID]["getRowsResponse"]


def _items() -> tuple[str, ...]:
    from ingest.contract import default_contract

    return tuple(i.id for i in default_contract().checklist.items)


APPRAISAL_ITEMS = _items()  # the checklist's items, in the form's order


def appraisal_body(
    archive: str,
    scores: list,
    *,
    day: str = "2025-01-15",
    confirm_output: str | None = None,
    notes: list | None = None,
) -> dict:
    """The inspection page's online-entry request for one archive (`archive` as the drop-down's value,
    "draw|office|case"), as the browser sends it: the submit button, or with `confirm_output` (the
    overwrite callback's output key, from /_dash-dependencies) the confirmed overwrite."""
    states = [
        {"id": ids.APPRAISAL_ARCHIVE, "property": "value", "value": archive},
        [
            {"id": {"type": ids.APPRAISAL_ITEM, "item": i}, "property": "value", "value": v}
            for i, v in zip(APPRAISAL_ITEMS, scores)
        ],
        {"id": ids.APPRAISAL_VETO, "property": "value", "value": []},
        {"id": ids.APPRAISAL_DATE, "property": "value", "value": day},
        [
            {"id": {"type": ids.APPRAISAL_NOTE, "item": i}, "property": "value", "value": n}
            for i, n in zip(APPRAISAL_ITEMS, notes or [None] * len(APPRAISAL_ITEMS))
        ],
        {"id": ids.LANG, "property": "value", "value": "zh"},
        [  # the form's items, in their order (the scores and notes above follow it)
            {
                "id": {"type": ids.APPRAISAL_ITEM, "item": i},
                "property": "id",
                "value": {"type": ids.APPRAISAL_ITEM, "item": i},
            }
            for i in APPRAISAL_ITEMS
        ],
    ]
    if confirm_output:
        return {
            "output": confirm_output,
            "outputs": {"id": ids.APPRAISAL_RESULT, "property": "children"},
            "inputs": [{"id": ids.APPRAISAL_OVERWRITE, "property": "submit_n_clicks", "value": 1}],
            "state": states,
            "changedPropIds": ["appraisal-overwrite.submit_n_clicks"],
        }
    return {
        "output": f"..{ids.APPRAISAL_RESULT}.children...{ids.APPRAISAL_OVERWRITE}.displayed...{ids.APPRAISAL_OVERWRITE}.message..",
        "outputs": [
            {"id": ids.APPRAISAL_RESULT, "property": "children"},
            {"id": ids.APPRAISAL_OVERWRITE, "property": "displayed"},
            {"id": ids.APPRAISAL_OVERWRITE, "property": "message"},
        ],
        "inputs": [{"id": ids.APPRAISAL_SUBMIT, "property": "n_clicks", "value": 1}],
        "state": states,
        "changedPropIds": ["appraisal-submit.n_clicks"],
    }


def archive_rows(client, request: dict | None = None, lang: str = "zh") -> dict:
    """The inspector's archive grid as the browser asks for it, page by page: {rowData, rowCount}."""
    req = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}, **(request or {})}
    body = {
        "output": f"{ids.ARCHIVES_TABLE}.getRowsResponse",
        "outputs": {"id": ids.ARCHIVES_TABLE, "property": "getRowsResponse"},
        "inputs": [{"id": ids.ARCHIVES_TABLE, "property": "getRowsRequest", "value": req}],
        "state": [{"id": ids.LANG, "property": "value", "value": lang}],
        "changedPropIds": [f"{ids.ARCHIVES_TABLE}.getRowsRequest"],
    }
    got = client.post("/_dash-update-component", json=body)
    assert got.status_code == 200, got.get_data(as_text=True)[:300]
    return json.loads(got.data)["response"][ids.ARCHIVES_TABLE]["getRowsResponse"]


WILDCARD_VALUES = {"dim": "effort", "plan": "P-X", "item": "I1"}  # a concrete id for each pattern key


def concrete(pattern: dict) -> dict:
    """A component id matching a pattern id (["ALL"], ["MATCH"] … replaced by a value)."""
    return {k: (WILDCARD_VALUES.get(k, "x") if isinstance(v, list) else v) for k, v in pattern.items()}


def callback_body(app, key: str, value_of, *, changed: str | None = None) -> dict:
    """A request for the callback `key` of `app`, built from its callback map as the renderer does:
    `value_of(where, index, dep)` gives each input's and state's value ("inputs"/"state", position,
    the declared dependency). `changed`: the changedPropIds entry (default: the first input)."""
    from dashboard.request_checks import output_parts

    cb = app.callback_map[key]

    def entry(where: str, k: int, dep: dict):
        value = value_of(where, k, dep)
        if dep["id"].startswith("{"):
            return [{"id": concrete(json.loads(dep["id"])), "property": dep["property"], "value": value}]
        return {"id": dep["id"], "property": dep["property"], "value": value}

    outputs = [
        [{"id": concrete(i), "property": p}] if isinstance(i, dict) else {"id": i, "property": p}
        for i, p in output_parts(key)
    ]
    first = cb["inputs"][0]
    if changed is None:
        ident = first["id"]
        if ident.startswith("{"):
            ident = json.dumps(concrete(json.loads(ident)), separators=(",", ":"))
        changed = f"{ident}.{first['property']}"
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": [entry("inputs", k, d) for k, d in enumerate(cb["inputs"])],
        "state": [entry("state", k, d) for k, d in enumerate(cb.get("state", []))],
        "changedPropIds": [changed],
    }

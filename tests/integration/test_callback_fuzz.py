"""Malformed input to any callback or route answers a clear 4xx (or the callback's own message),
never a 500: every callback of the app (read from its callback map, so a new one is covered
without editing this file), every input and state, each replaced by values of the wrong type,
size or shape, as an administrator, an office user and an inspector would send them by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from access.users import add_user
from tests import dash_helpers as dh
from tests.conftest import SITE_PASSWORD

BAD_VALUES: list[Any] = [
    None,
    "",
    "x" * 5000,
    "../../etc/passwd",
    "' OR 1=1 --",
    10**30,
    -1,
    1.5,
    True,
    [],
    [1, "a", None],
    {"a": {"b": 1}},
    {"startRow": 10**30, "endRow": "z", "sortModel": "x", "filterModel": [1]},
    "data:text/csv;base64,!!!",
]


def bodies(app) -> Iterator[tuple[str, dict]]:
    """One request per callback × input-or-state × bad value (the others None). changedPropIds
    names the first input as declared, a pattern id unresolved: a hand-made request may."""
    for key, cb in app.callback_map.items():
        deps = [("inputs", k) for k in range(len(cb["inputs"]))] + [("state", k) for k in range(len(cb["state"]))]
        for where, k in deps:
            for n, bad in enumerate(BAD_VALUES):
                body = dh.callback_body(
                    app,
                    key,
                    lambda w, j, _d, bad=bad, where=where, k=k: bad if (w, j) == (where, k) else None,
                    changed=f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}",
                )
                yield f"{key[:60]} {where}[{k}] value#{n}", body


@pytest.fixture
def clients(site):
    app, ops = site
    add_user(ops, username="admin", role="national_admin", password=SITE_PASSWORD)
    add_user(ops, username="insp", role="inspector", password=SITE_PASSWORD, scope_code="I-1")
    out = {}
    for name in ("admin", "p1", "insp"):
        client = app.server.test_client()
        assert dh.login(client, name, SITE_PASSWORD).status_code == 302
        out[name] = client
    return app, out


def test_no_malformed_callback_request_answers_500(clients) -> None:
    app, by_user = clients
    failures: list[str] = []
    sent = 0
    for user, client in by_user.items():
        for what, body in bodies(app):
            got = client.post("/_dash-update-component", json=body)
            sent += 1
            if got.status_code >= 500:
                failures.append(f"{user}: {what}: {got.status_code}")
            elif got.status_code >= 400:
                message = got.get_data(as_text=True)
                assert re.search(r"[\u4e00-\u9fff]", message) or "error" in message, (what, message[:200])
    assert sent > 2000
    assert failures == [], f"{len(failures)} of {sent}:\n" + "\n".join(failures[:40])


def test_malformed_envelopes_and_routes_answer_4xx(clients) -> None:
    app, by_user = clients
    client = by_user["admin"]
    envelopes: list[Any] = [
        None,
        [],
        "x",
        {"output": "no-such-output.children", "outputs": {"id": "x", "property": "y"}, "inputs": []},
        {"output": dh.ROUTE},
        {"output": dh.ROUTE, "outputs": "x", "inputs": "y"},
        {**dh.route_body("/"), "inputs": [{"id": "url"}]},
    ]
    for body in envelopes:
        got = client.post("/_dash-update-component", json=body)
        assert 400 <= got.status_code < 500, (body, got.status_code)
    got = client.post("/_dash-update-component", data=b"{not json", content_type="application/json")
    assert 400 <= got.status_code < 500
    for path in ("/public/NOPE/manifest.json", "/public/%00/population.csv", "/public/x/population.csv"):
        assert client.get(path).status_code in (400, 404), path
    anonymous = app.server.test_client()
    for path in ("/public/..%2F..%2Fetc/manifest.json", "/public/" + "x" * 3000 + "/manifest.json"):
        got = anonymous.get(path)
        assert got.status_code < 500 and b"office_code" not in got.data, path

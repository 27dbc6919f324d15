"""Access control through hand-crafted HTTP requests: the guard, scope, injection, sessions, throttling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from access import audit
from access.opstore import OpStore
from access.users import add_user, reset_password, set_disabled
from queries.store import Store
from tests import dash_helpers as dh
from tests.conftest import SITE_PASSWORD as PASSWORD


def login(client, username: str, password: str = PASSWORD, **post):
    return dh.login(client, username, password, **post)


def callback(client, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]]):
    body = {
        "output": "...".join(f"{i}.{p}" for i, p in outputs).join(["..", ".."]),
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
    }
    return client.post("/_dash-update-component", json=body)


def overview(client, year: int = 2024):
    return dh.page(client, "/", year=year)


def test_every_dash_endpoint_refuses_an_anonymous_request(site) -> None:
    app, _ = site
    client = app.server.test_client()
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    for path in ("/_dash-layout", "/_dash-dependencies"):
        got = client.get(path)
        assert got.status_code == 401, path
        assert b"110000" not in got.data
    for path in ("/_reload-hash", "/any/page", "/download/report.xlsx"):
        got = client.get(path)
        assert got.status_code == 302 and "/login" in got.headers["Location"], path
    for got in (overview(client), dh.page(client, "/place/110000"), dh.page(client, "/case/110100/P1b1-01")):
        assert got.status_code == 401
        assert b"110100" not in got.data and b"props" not in got.data
    assert client.get("/login").status_code == 200
    assert client.get("/assets/style.css").status_code == 200


def test_login_sets_safe_cookies_and_logout_ends_the_session(site) -> None:
    app, ops = site
    client = app.server.test_client()
    assert login(client, "leader", "wrong-password-xx").status_code == 401
    done = login(client, "leader")
    assert done.status_code == 302
    cookie = done.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/_dash-layout").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/_dash-layout").status_code == 401
    actions = [e["action"] for e in audit.recent(ops)]
    assert {"login", "login.failed", "logout"} <= set(actions)
    assert login(client, "leader", "x").status_code == 401
    # An open redirect after login is refused: only local paths.
    done = login(client, "leader", data={"next": "https://evil.example/"})
    assert done.headers["Location"] == "/"


def test_a_provincial_user_sees_only_its_subtree(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "p1")
    home = dh.content(client, "/")
    assert [r["code"] for r in dh.rank_rows(home)] == ["110100"]  # its prefecture, nothing else
    assert "67" in dh.text(home)  # P1's 67 cases accepted in 2024
    # The nation's page: the provinces' ranking rows only, no national figures, no way into the others.
    peers = dh.content(client, "/place/100000")
    rows = dh.rank_rows(peers)
    assert {r["code"] for r in rows} == {"110000", "120000", "130000"}
    assert [r["link"] for r in rows if r["link"]] == ["/place/110000"]
    assert "headline" not in json.dumps(peers)
    assert not any(h.startswith(("/place/12", "/place/13", "/office/12", "/office/13")) for h in dh.links(peers))
    for other in ("120000", "130000", "130100"):
        for path in (f"/place/{other}", f"/office/{other}", f"/monitor?office={other}"):
            got = dh.content(client, path.split("?")[0], "?" + path.split("?")[1] if "?" in path else "")
            assert "120100" not in json.dumps(got) and "130200" not in json.dumps(got) and "P2 " not in dh.text(got)
            assert "denied" in json.dumps(got)
    other_case = dh.content(client, "/case/120100/P2a1-01")
    assert "denied" in json.dumps(other_case) and "P2a1" not in dh.text(other_case)
    denied = [e for e in audit.recent(ops) if e["action"] == "scope.denied"]
    assert {"120000", "130000", "130100", "120100"} <= {e["target"] for e in denied}
    assert all(e["actor"] == "p1" for e in denied)


def test_a_prefecture_user_sees_its_prefecture_and_not_its_province(site) -> None:
    app, _ = site
    client = app.server.test_client()
    login(client, "pref")
    home = dh.content(client, "/")
    assert [r["code"] for r in dh.rank_rows(home)] == ["130101"]
    province = dh.content(client, "/place/130000")  # its province: the prefectures' ranking rows only
    assert {r["code"] for r in dh.rank_rows(province)} == {"130100", "130200"}
    assert "headline" not in json.dumps(province)
    assert [r["link"] for r in dh.rank_rows(province) if r["link"]] == ["/place/130100"]
    assert "denied" in json.dumps(dh.content(client, "/place/100000"))
    assert "denied" in json.dumps(dh.content(client, "/office/130200"))


INJECTIONS = [
    "' OR '1'='1",
    "110000' OR '1'='1",
    "120000' --",
    "110000; DROP TABLE cases; --",
    "1) OR (1=1",
    "$scope_code",
    "'; ATTACH '/tmp/x' AS x; --",
    "120000\x00",
    "%",
    "_" * 2000,
    "120000' UNION SELECT * FROM cases --",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_in_the_office_input_changes_and_leaks_nothing(site, golden: Store, text: str) -> None:
    app, _ = site
    before = golden.path.read_bytes()
    client = app.server.test_client()
    login(client, "p1")
    for path in (f"/place/{text}", f"/office/{text}", f"/case/{text}/x", "/monitor"):
        got = dh.page(client, path, f"?office={text}")
        assert got.status_code == 200
        body = json.loads(got.data)["response"]["content"]["children"]
        assert not any(r["code"] != "110100" for r in dh.rank_rows(body))
        assert "120100" not in json.dumps(body) and "130100" not in json.dumps(body)
    assert golden.path.read_bytes() == before


def test_a_disabled_user_or_a_reset_password_ends_the_session(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "p1")
    assert overview(client).status_code == 200
    set_disabled(ops, "p1")
    assert overview(client).status_code == 401
    assert login(client, "p1").status_code == 401  # and it cannot sign in again
    other = app.server.test_client()
    login(other, "leader")
    assert overview(other).status_code == 200
    reset_password(ops, "leader", "a-brand-new-password")
    assert overview(other).status_code == 401


def test_the_tenth_wrong_password_in_a_minute_is_refused_without_checking_it(site, monkeypatch) -> None:
    app, _ = site
    import dashboard.auth as auth_module

    checked = []
    real = auth_module.authenticate

    def counting(ops, username, password):
        checked.append(username)
        return real(ops, username, password)

    monkeypatch.setattr(auth_module, "authenticate", counting)
    client = app.server.test_client()
    for _ in range(9):
        assert login(client, "leader", "not-the-password").status_code == 401
    tenth = login(client, "leader", PASSWORD)  # even the right password waits
    assert tenth.status_code == 429
    assert len(checked) == 9
    # Another account from elsewhere is not blocked by this account's limit.
    assert login(app.server.test_client(), "p1", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302


def test_the_audit_page_is_for_administrators_only(site) -> None:
    app, ops = site

    add_user(ops, username="root", role="national_admin", password=PASSWORD)
    client = app.server.test_client()
    assert client.get("/audit").status_code == 302  # anonymous: to the login page
    login(client, "leader")
    assert client.get("/audit").status_code == 403
    admin = app.server.test_client()
    login(admin, "root")
    page = admin.get("/audit")
    assert page.status_code == 200 and b"Hash chain intact" in page.data
    assert b"access.denied" in page.data and b"leader" in page.data


def _write_many(path: str, url: str | None, who: str) -> None:
    ops = OpStore(path, url=url)
    for i in range(25):
        audit.record(ops, actor=who, action="concurrent", detail={"i": i})


def test_several_processes_append_to_the_audit_log_without_breaking_the_chain(tmp_path: Path, ops_url) -> None:
    import multiprocessing as mp

    path = str(tmp_path / "ops.sqlite")
    OpStore(path, url=ops_url)
    procs = [mp.get_context("spawn").Process(target=_write_many, args=(path, ops_url, f"w{k}")) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    verdict = audit.verify(OpStore(path, url=ops_url))
    assert verdict.ok and verdict.entries == 100

"""The web basics of issue #16, each with hand-crafted requests: redirects, formula injection,
sign-in throttling, sign-out, security headers, cross-site requests, data rendered as text, the
parent office's refusals audited, files created owner-only.

Each test here failed on the code before it (see the issue for what was reproduced)."""

from __future__ import annotations

import json
import stat
import threading
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import polars as pl
import pytest

from access import audit
from access.cells import csv_value
from dashboard.auth import safe_next
from dashboard.widgets import case_href
from inspection.checklist import write_checklist
from tests import ROOT
from tests import dash_helpers as dh
from tests.conftest import INGEST, ipdash_cli
from tests.conftest import SITE_PASSWORD as PASSWORD
from tests.integration.test_access import login

EVIL_CASE = "=cmd|' /C calc'!A0"
EVIL_NAME = '=HYPERLINK("https://evil.example","点此")'
MARKDOWN_CASE = "a](https://evil.example/phish) [b"


# --- redirects after sign-in -----------------------------------------------------------------

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    " //evil.example",
    "",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_to_another_site(site, target: str) -> None:
    app, _ = site
    done = login(app.server.test_client(), "leader", data={"next": target})
    assert done.status_code == 302
    location = done.headers["Location"]
    assert location == "/", (target, location)


def test_sign_in_keeps_a_local_path_and_its_query() -> None:
    assert safe_next("/place/110000?year=2024") == "/place/110000?year=2024"
    assert safe_next("/case/110100/P1b1-01#x") == "/case/110100/P1b1-01"
    for target in OFF_SITE:
        got = safe_next(target)
        assert not urlsplit(got).netloc and got.startswith("/") and not got.startswith("//")


# --- formula injection ----------------------------------------------------------------------


def test_the_checklist_workbook_writes_data_that_looks_like_a_formula_as_text(tmp_path: Path) -> None:
    path = tmp_path / "checklist.xlsx"
    write_checklist(
        path,
        draw_id="P-D1",
        inspector_id="=1+1",
        archives=[("110100", EVIL_NAME, EVIL_CASE, "infringement_dispute"), ("110100", "P1 市局", "+1", "-2")],
    )
    ws = openpyxl.load_workbook(path).active
    cells = [c for row in ws.iter_rows(min_row=4) for c in row if c.value is not None]
    by_value = {c.value: c for c in cells}
    for text in (EVIL_CASE, EVIL_NAME, "=1+1"):
        assert by_value[text].data_type == "s", text  # text, shown as typed, never evaluated
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere in the cells


def test_every_csv_the_product_writes_defuses_formulas() -> None:
    from dashboard.data import safe_csv

    assert csv_value(EVIL_CASE) == "'" + EVIL_CASE and csv_value("@SUM(A1)") == "'@SUM(A1)"
    assert csv_value("P1b1-01") == "P1b1-01" and csv_value(-3) == -3
    text = safe_csv(pl.DataFrame({"case_no": [EVIL_CASE, "ok"], "n": [1, 2]}))
    assert "\n'=cmd|" in text and "\nok,2" in text


def test_spreadsheet_writers_all_use_the_one_defusing_module() -> None:
    """Every product module that writes CSV or XLSX imports access.cells, except the files that are
    data for a program (their bytes must stay exact) — listed here with the reason."""
    exact = {
        "inspection/draw.py": "the population file: hashed, recomputed by the verifier",
        "dashboard/inspection_views.py": "the online form's row, read straight back by the appraisal ingest",
        "ingest/demo.py": "the demo's input files, read back by the ingest",
    }
    root = ROOT
    offenders = []
    for path in sorted(root.glob("*/*.py")) + sorted(root.glob("dashboard/pages/*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("tests/", "benchmarks/", "scripts/")) or rel == "access/cells.py":
            continue
        text = path.read_text(encoding="utf-8")
        writes = "csv.writer" in text or "Workbook(" in text or "write_csv" in text
        # A module that writes only through reports.sheet.Sheet (which defuses every cell) writes no
        # cell of its own: no append, no .cell(.
        through_sheet = "from reports.sheet import" in text and ".append(" not in text and ".cell(" not in text
        if writes and "access.cells" not in text and not through_sheet and rel not in exact:
            offenders.append(rel)
    assert offenders == []


# --- sign-in throttling ---------------------------------------------------------------------


def add_office_users(ops, prefix: str, n: int) -> None:
    """`n` provincial users of 110000 named <prefix>0 … (many accounts behind one address)."""
    from access.users import add_user

    for k in range(n):
        add_user(
            ops,
            username=f"{prefix}{k}",
            role="provincial",
            password=PASSWORD,
            scope_code="110000",
            scope_level="provincial",
        )


def test_a_correct_password_is_not_refused_when_only_the_address_is_over_its_limit(site) -> None:
    app, ops = site
    add_office_users(ops, "user", 31)
    client = app.server.test_client()
    shared = {"REMOTE_ADDR": "10.1.1.1"}  # everyone behind one NAT
    statuses = [login(client, f"user{k}", "wrong-password", environ_base=shared).status_code for k in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429  # the address is over its limit …
    assert login(app.server.test_client(), "leader", environ_base=shared).status_code == 302  # … not its users
    assert "login.failed" in {e["action"] for e in audit.recent(ops)}


def test_concurrent_failures_check_no_more_passwords_than_the_limit(site, monkeypatch) -> None:
    app, _ = site
    import dashboard.auth as auth_module

    checked = []
    real = auth_module.authenticate
    gate = threading.Barrier(16)

    def counting(ops, username, password):
        checked.append(username)
        return real(ops, username, password)

    monkeypatch.setattr(auth_module, "authenticate", counting)
    statuses: list[int] = []

    def attempt(k: int) -> None:
        client = app.server.test_client()
        token = dh.csrf_token(client.get("/login").get_data(as_text=True))
        gate.wait()
        got = client.post(
            "/login",
            data={"username": "leader", "password": f"guess-{k}", "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"10.2.0.{k}"},
        )
        statuses.append(got.status_code)

    threads = [threading.Thread(target=attempt, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(checked) == 9  # counted before checking: never more than the nine allowed
    assert sorted(statuses) == [401] * 9 + [429] * 7


def test_the_address_is_taken_through_the_trusted_proxies_only(golden, tmp_path, monkeypatch) -> None:
    from access.opstore import OpStore
    from dashboard.app import create_app

    monkeypatch.setenv("IPDASH_SECRET_KEY", "test-secret-not-for-production")

    def failures_until_refused(proxies: str, forwarded: list[str]) -> list[int]:
        monkeypatch.setenv("IPDASH_TRUSTED_PROXIES", proxies)
        ops = OpStore(tmp_path / f"ops-{proxies}.sqlite")
        add_office_users(ops, "u", 31)
        app = create_app(db=str(golden.path), ops_path=str(ops.path))
        out = []
        for k in range(31):
            env = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded[k % len(forwarded)]}
            out.append(login(app.server.test_client(), f"u{k}", "wrong-password", environ_base=env).status_code)
        return out

    # Behind one proxy, two clients are two addresses: 31 failures stay under each one's limit.
    assert failures_until_refused("1", ["203.0.113.7", "198.51.100.9"]) == [401] * 31
    # Without a trusted proxy the header is the client's own claim and is ignored: one address.
    assert failures_until_refused("0", ["203.0.113.7", "198.51.100.9"])[-1] == 429


def test_a_bad_proxy_setting_is_refused_with_its_name(golden, tmp_path, monkeypatch) -> None:
    from core.settings import SettingError
    from dashboard.app import create_app

    monkeypatch.setenv("IPDASH_SECRET_KEY", "x")
    monkeypatch.setenv("IPDASH_TRUSTED_PROXIES", "all")
    with pytest.raises(SettingError, match="IPDASH_TRUSTED_PROXIES='all' is not accepted: a whole number from 0 to 5"):
        create_app(db=str(golden.path), ops_path=str(tmp_path / "ops.sqlite"))


# --- sign-out -------------------------------------------------------------------------------


def test_sign_out_is_a_post_and_ends_the_session_on_the_server(site) -> None:
    app, ops = site
    client = app.server.test_client()
    assert login(client, "leader").status_code == 302
    captured = client.get_cookie("session").value
    thief = app.server.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/_dash-layout").status_code == 200  # the copy works while the session lasts
    page = client.get("/logout")  # a GET only asks
    assert page.status_code == 200 and b'method="post"' in page.data
    assert client.get("/_dash-layout").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/_dash-layout").status_code == 401
    assert thief.get("/_dash-layout").status_code == 401  # the captured cookie is dead too
    assert [e["action"] for e in audit.recent(ops, 1)] == ["logout"]


def test_the_session_store_keeps_only_a_hash_of_the_session_id(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "leader")
    rows = ops.read("SELECT session_hash, ended_at FROM sessions")
    assert len(rows) == 1 and len(rows[0]["session_hash"]) == 64 and rows[0]["ended_at"] is None
    assert rows[0]["session_hash"] not in json.dumps(dict(client.get_cookie("session").__dict__), default=str)


# --- security headers -----------------------------------------------------------------------


def test_every_response_carries_the_security_headers(site) -> None:
    app, _ = site
    client = app.server.test_client()
    anonymous = [client.get("/login"), client.get("/assets/style.css"), client.get("/public"), client.get("/healthz")]
    login(client, "leader")
    signed_in = [client.get("/"), client.get("/_dash-layout"), dh.page(client, "/place/110000")]
    for got in anonymous + signed_in:
        csp = got.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, got.request.path
        assert "'unsafe-eval'" not in csp
        assert got.headers.get("X-Frame-Options") == "DENY"
        assert got.headers.get("X-Content-Type-Options") == "nosniff"
        assert got.headers.get("Referrer-Policy") == "same-origin"
    # Dash's own inline script is allowed by its hash, no other inline script is.
    index = signed_in[0]
    assert (
        "sha256-" in index.headers["Content-Security-Policy"]
        and "'unsafe-inline'" not in (index.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0])
    )


# --- cross-site requests --------------------------------------------------------------------


def test_a_callback_from_another_site_is_refused_and_audited(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "leader")
    body = dh.route_body("/place/110000")
    assert client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"}).status_code == 200
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"}, {"Origin": "null"}):
        got = client.post("/_dash-update-component", json=body, headers=headers)
        assert got.status_code == 403 and b"props" not in got.data, headers
    refused = [e for e in audit.recent(ops, 10) if e["action"] == "request.cross_site_refused"]
    assert len(refused) == 3 and {e["actor"] for e in refused} == {"leader"}
    assert client.post("/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/_dash-layout").status_code == 200  # a foreign page cannot sign the user out


def test_sign_in_needs_the_form_token_and_this_site(site) -> None:
    app, ops = site
    client = app.server.test_client()
    without = client.post("/login", data={"username": "leader", "password": PASSWORD})
    assert without.status_code == 400 and client.get("/_dash-layout").status_code == 401
    token = dh.csrf_token(client.get("/login").get_data(as_text=True))
    foreign = client.post(
        "/login",
        data={"username": "leader", "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and client.get("/_dash-layout").status_code == 401  # no login CSRF
    assert "login.csrf_refused" in {e["action"] for e in audit.recent(ops, 5)}


# --- data rendered as text ------------------------------------------------------------------


def test_case_numbers_are_rendered_as_text_with_a_quoted_address(site) -> None:
    assert case_href("110100", MARKDOWN_CASE) == "/case/110100/a%5D%28https%3A%2F%2Fevil.example%2Fphish%29%20%5Bb"
    assert case_href("110100", "a/b?c#d") == "/case/110100/a%2Fb%3Fc%23d"
    app, _ = site
    client = app.server.test_client()
    login(client, "leader")
    pages = [dh.page(client, "/cases"), dh.page(client, "/monitor", "?office=100000")]
    for got in pages:
        assert b'"markdown"' not in got.data and b"CaseLink" in got.data
    rows = json.loads(dh.case_rows(client).data)["response"]["cases-grid"]["getRowsResponse"]["rowData"]
    assert rows and all("](" not in r["case_no"] for r in rows)
    assert all(r["case_href"] == case_href(r["office_code"], r["case_no"]) for r in rows)
    renderer = (ROOT / "assets" / "dashAgGridComponentFunctions.js").read_text()
    assert "innerHTML" not in renderer and "dangerouslySetInnerHTML" not in renderer


# --- refusals audited -----------------------------------------------------------------------


def test_a_refused_request_for_the_parent_office_is_audited(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "p1")
    for path, search in (("/office/100000", ""), ("/monitor", "?office=100000")):
        got = dh.content(client, path, search)
        assert "denied" in json.dumps(got)
    denied = [e for e in audit.recent(ops, 10) if e["action"] == "scope.denied" and e["target"] == "100000"]
    assert {json.loads(e["detail"])["what"] for e in denied} >= {"profile", "monitor"}
    peers = dh.content(client, "/place/100000")  # its parent's ranking rows: allowed, not a refusal
    assert "denied" not in json.dumps(peers)


# --- files owner-only -----------------------------------------------------------------------


def test_the_files_the_product_writes_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "store" / "ipdash.duckdb"
    got = ipdash_cli("ingest", "cases", str(INGEST / "cases_errors.csv"), "--db", str(db))
    assert got.returncode in (0, 2), got.stderr
    made = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in made) and any("sqlite" in p.name for p in made)
    assert any("reject" in p.name for p in made), [p.name for p in made]
    for p in [*made, *(p for p in tmp_path.rglob("*") if p.is_dir())]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o077 == 0, (p, oct(mode))

"""The workbook download through hand-crafted callback requests: scoped, audited, one at a time."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import openpyxl

from access import audit
from tests.integration.test_access import login

pytest_plugins = ["tests.integration.test_access"]  # its fixtures `site` and `golden`


def start(client, year: int = 2024, lang: str = "zh"):
    body = {
        "output": "..report-status.children...report-poll.disabled..",
        "outputs": [{"id": "report-status", "property": "children"}, {"id": "report-poll", "property": "disabled"}],
        "inputs": [{"id": "report-button", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "year", "property": "value", "value": year},
            {"id": "report-lang", "property": "value", "value": lang},
        ],
        "changedPropIds": ["report-button.n_clicks"],
    }
    return json.loads(client.post("/_dash-update-component", json=body).data)["response"]


def poll(client):
    outputs = [
        ("report-progress", "value"),
        ("report-status", "children"),
        ("report-poll", "disabled"),
        ("report-download", "data"),
    ]
    deps = client.get("/_dash-dependencies")
    if deps.status_code != 200:
        return {}
    # Outputs allowed twice carry a hash suffix; take the key Dash itself publishes.
    key = next(d["output"] for d in json.loads(deps.data) if "report-download.data" in d["output"])
    body = {
        "output": key,
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": "report-poll", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["report-poll.n_intervals"],
    }
    got = client.post("/_dash-update-component", json=body)
    return json.loads(got.data)["response"] if got.status_code == 200 else {}


def wait_for_file(client, seconds: float = 60) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = poll(client)
        if "report-download" in got:
            return got["report-download"]["data"]
        time.sleep(0.2)
    raise AssertionError("no report within the time limit")


def test_a_provincial_user_downloads_a_workbook_of_its_own_subtree(site) -> None:
    app, ops = site
    client = app.server.test_client()
    login(client, "p1")
    assert "building" in start(client)["report-status"]["children"]
    data = wait_for_file(client)
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])))
    codes = {r[1] for r in wb["排名"].iter_rows(min_row=2, values_only=True)}
    assert codes == {"110100"}  # P1 ranks its prefecture, nothing else
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(c, str) and c.startswith(("120", "130", "P2", "P3")) for c in row), ws.title
    exports = [e for e in audit.recent(ops) if e["action"] == "export.report"]
    assert exports and exports[0]["actor"] == "p1" and exports[0]["target"] == "110000"


def test_a_second_request_while_one_runs_is_refused(site, monkeypatch) -> None:
    app, _ = site
    import dashboard.report_jobs as rj

    gate = threading.Event()
    real = rj.annual_workbook

    def slow(*args, **kwargs):
        gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(rj, "annual_workbook", slow)
    client = app.server.test_client()
    login(client, "leader")
    assert "building" in start(client)["report-status"]["children"]
    second = start(client)
    assert "already being built" in second["report-status"]["children"]
    other = app.server.test_client()  # another user is not blocked
    login(other, "p1")
    assert "building" in start(other)["report-status"]["children"]
    gate.set()
    data = wait_for_file(client)
    assert "-national-" in data["filename"]
    wait_for_file(other)


def test_anonymous_cannot_start_or_poll_a_report(site) -> None:
    app, _ = site
    client = app.server.test_client()
    body = {
        "output": "..report-status.children...report-poll.disabled..",
        "outputs": [{"id": "report-status", "property": "children"}, {"id": "report-poll", "property": "disabled"}],
        "inputs": [{"id": "report-button", "property": "n_clicks", "value": 1}],
        "state": [],
        "changedPropIds": ["report-button.n_clicks"],
    }
    assert client.post("/_dash-update-component", json=body).status_code == 401
    assert poll(client) == {}


def test_the_download_reuses_the_pages_indicator_tables_and_keeps_the_cli_figures(
    site,
    golden,
    tmp_path,
    monkeypatch,
) -> None:
    import metrics.ranking as ranking_module
    from tests import dash_helpers as dh
    from tests.conftest import ipdash_cli

    app, _ = site
    client = app.server.test_client()
    login(client, "leader")
    dh.content(client, "/", year=2024)  # the overview computes the 2024 and 2023 tables
    computed = []
    real = ranking_module.compute_indicators

    def counting(con, config, *, year, as_of=None):
        computed.append(year)
        return real(con, config, year=year, as_of=as_of)

    monkeypatch.setattr(ranking_module, "compute_indicators", counting)
    assert "building" in start(client)["report-status"]["children"]
    data = wait_for_file(client)
    assert 2024 not in computed and 2023 not in computed  # taken from the dashboard's cache
    got = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])))
    done = ipdash_cli("report", "--year", "2024", "-o", str(tmp_path / "cli.xlsx"), "--db", str(golden.path), "--quiet")
    assert done.returncode == 0, done.stderr  # the configured Monte Carlo runs, as the download
    cli = openpyxl.load_workbook(tmp_path / "cli.xlsx")
    for name in ("排名", "办案力度", "办案水平", "办案时效", "案卷质量", "趋势"):
        assert list(got[name].iter_rows(values_only=True)) == list(cli[name].iter_rows(values_only=True)), name

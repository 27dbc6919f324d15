"""The landing page and the provincial case-count table, through hand-made HTTP requests."""

from __future__ import annotations

import json

from dashboard.app import create_app
from ingest.run import ingest
from queries.store import Store
from tests.conftest import INGEST


def test_landing_page_and_counts_callback(tree_store: Store, tmp_path, monkeypatch) -> None:
    from access.opstore import OpStore
    from access.users import add_user

    monkeypatch.setenv("IPDASH_SECRET_KEY", "test-only")
    ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    ops = OpStore(tmp_path / "ops.sqlite")
    add_user(ops, username="leader", role="national_leader", password="a-long-password")
    client = create_app(db=str(tree_store.path), ops_path=str(ops.path)).server.test_client()
    assert client.post("/login", data={"username": "leader", "password": "a-long-password"}).status_code == 302
    page = client.get("/")
    assert page.status_code == 200 and b"react-entry-point" in page.data
    layout = json.loads(client.get("/_dash-layout").data)
    assert "专利行政执法绩效评估与监督" in json.dumps(layout, ensure_ascii=False)
    body = {"output": "..province-table.rowData...totals.children..",
            "outputs": [{"id": "province-table", "property": "rowData"}, {"id": "totals", "property": "children"}],
            "inputs": [{"id": "year", "property": "value", "value": 2024}], "changedPropIds": ["year.value"]}
    got = json.loads(client.post("/_dash-update-component", json=body).data)["response"]
    table = {r["office_code"]: r for r in got["province-table"]["rowData"]}
    # Zhejiang's subtree accepted three of the five golden cases in 2024 and closed two; one is open.
    assert {k: table["330000"][k] for k in ("offices", "accepted", "closed", "open_at_year_end")} == {
        "offices": 3, "accepted": 3, "closed": 2, "open_at_year_end": 1}
    assert {k: table["320000"][k] for k in ("accepted", "closed", "open_at_year_end")} == {
        "accepted": 2, "closed": 2, "open_at_year_end": 0}
    assert "5 accepted, 4 closed, 1 open" in got["totals"]["children"]

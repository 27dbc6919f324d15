"""The page registry: a page added as one module appears in the navigation of the roles that may open
it, its permission is enforced on the server (with an audit entry), and its callbacks are registered."""

from __future__ import annotations

import json

import pytest

from access import audit, policy
from access.opstore import OpStore
from access.users import add_user
from dashboard import ids
from dashboard.app import create_app
from dashboard.page import Page
from dashboard.registry import Registry
from tests import dash_helpers as dh
from tests.fixtures.pages.hello import HELLO_ID

pytestmark = pytest.mark.integration
PASSWORD = "correct-horse-battery"


@pytest.fixture
def hello_site(golden_metrics, tmp_path, monkeypatch):
    monkeypatch.setenv("IPDASH_SECRET_KEY", "test")
    ops = OpStore(tmp_path / "ops.sqlite")
    add_user(ops, username="admin", role="national_admin", password=PASSWORD)
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    app = create_app(db=str(golden_metrics.path), ops_path=str(ops.path), extra_pages=["tests.fixtures.pages.hello"])
    clients = {}
    for name in ("admin", "leader"):
        c = app.server.test_client()
        assert dh.login(c, name, PASSWORD).status_code == 302
        clients[name] = c
    return app, ops, clients


def nav_of(client, lang: str = "zh") -> list[str]:
    """The hrefs of the navigation the shell callback returns, as the browser asks for it."""
    deps = json.loads(client.get("/_dash-dependencies").data)
    dep = next(d for d in deps if f"{ids.NAV}.children" in d["output"])
    got = client.post(
        "/_dash-update-component",
        json={
            "output": dep["output"],
            "outputs": [
                {"id": o.split(".")[0], "property": o.split(".")[1]} for o in dep["output"].strip(".").split("...")
            ],
            "inputs": [{"id": ids.LANG, "property": "value", "value": lang}],
            "changedPropIds": [f"{ids.LANG}.value"],
        },
    )
    assert got.status_code == 200, got.data[:300]
    nav = json.loads(got.data)["response"][ids.NAV]["children"]
    return [link["props"]["href"] for link in nav]


def test_a_page_module_appears_in_the_navigation_of_the_roles_that_may_open_it(hello_site) -> None:
    _, _, clients = hello_site
    assert "/hello" in nav_of(clients["admin"])
    assert nav_of(clients["admin"])[-1] == "/hello"  # ordered by the page's `order`
    assert "/hello" not in nav_of(clients["leader"])
    assert "/inspection" in nav_of(clients["leader"]) and "/archives" not in nav_of(clients["leader"])


def test_its_permission_is_enforced_on_the_server_and_refusals_are_audited(hello_site) -> None:
    _, ops, clients = hello_site
    page = dh.content(clients["admin"], "/hello/world")
    assert dh.text(page) == "hello admin world"
    refused = dh.content(clients["leader"], "/hello/world")  # a hand-crafted request, not a link
    assert ids.DENIED in json.dumps(refused) and HELLO_ID not in json.dumps(refused)
    entry = next(e for e in audit.recent(ops) if e["action"] == "access.denied")
    assert entry["actor"] == "leader" and entry["target"] == "/hello/world"


def test_its_callbacks_are_registered(hello_site) -> None:
    app, _, _ = hello_site
    assert "hello-echo.children" in app.callback_map


def test_an_unknown_path_says_so_and_two_pages_on_one_path_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        Page("/x", "nonsense", lambda req: None)
    reg = Registry.discover()
    assert reg.resolve(None, ["no", "such", "page"]) is None
    with pytest.raises(ValueError, match="two pages answer"):
        Registry.discover(["tests.fixtures.pages.hello", "tests.fixtures.pages.hello"])


def test_every_role_has_grants_and_the_policy_refuses_unknown_permissions() -> None:
    assert set(policy.GRANTS) == set(__import__("access.users", fromlist=["ROLES"]).ROLES)
    with pytest.raises(KeyError):
        policy.allowed(actor=None, action="no-such-permission")
    assert not policy.allowed(actor=None, action="methodology")

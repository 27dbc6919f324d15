"""Browser tests: headless Debian chromium through chromium-driver, driven by dash[testing]'s dash_duo.

They click through the dashboard as a user would: sign in, open the overview, drill from the nation
to a county office and back, open an office profile and a case, switch the language, and check that
the numbers on the screen are those of `ipdash scores`. CI installs chromium (.ci/run) and sets
IPDASH_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from access.opstore import OpStore
from access.users import add_user
from dashboard import ids
from dashboard.app import create_app
from tests.conftest import ipdash_cli, with_appraisals_of

# Imported with this module, not inside a test: Python 3.11.7's AST checker keeps its recursion count
# in state the threads share (CPython gh-106905, fixed in 3.11.8), and pytest rewriting a module
# mid-test while the test's server threads run can trip it ("AST constructor recursion depth
# mismatch"), which failed the browser run twice.
from tests.integration.test_notify import PASSWORD as NOTIFY_PASSWORD
from tests.integration.test_notify import build_world
from tests.integration.test_rectification import published_world

pytestmark = pytest.mark.browser

if not (shutil.which("chromedriver") and shutil.which("chromium")):
    if os.environ.get("IPDASH_REQUIRE_BROWSER") == "1":
        raise RuntimeError("IPDASH_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed")
    pytest.skip(
        "no chromium/chromedriver here: apt-get install chromium chromium-driver fonts-noto-cjk (CI does)",
        allow_module_level=True,
    )

PASSWORD = "browser-test-password"


@pytest.fixture
def site(golden_metrics, tmp_path, monkeypatch):
    monkeypatch.setenv("IPDASH_SECRET_KEY", "browser-test-secret")
    ops = with_appraisals_of(golden_metrics, OpStore(tmp_path / "ops.sqlite"))
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    add_user(ops, username="p3", role="provincial", password=PASSWORD, scope_code="130000", scope_level="provincial")
    return create_app(db=str(golden_metrics.path), ops_path=str(ops.path))


def start(dash_duo, app) -> str:
    """Serve `app`; the root redirects to the login page, so Dash's wait for its entry point is skipped."""
    dash_duo.start_server(app, navigate=False)
    return dash_duo.server.url.rstrip("/")


def sign_in(dash_duo, base: str, user: str, landing: str = "#ranking") -> None:
    """Sign in through the login form and wait for `landing` on the first page."""
    dash_duo.driver.get(base + "/login")
    dash_duo.find_element("#username").send_keys(user)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element(landing, timeout=60)


def settled(dash_duo) -> None:
    dash_duo.wait_for_no_elements('[data-dash-is-loading="true"]', timeout=60)


def rows(dash_duo) -> dict[str, dict]:
    out = {}
    for tr in dash_duo.find_elements("#ranking tr.rank-row"):
        cells = tr.find_elements("css selector", "td")
        # the rank reads "3 / 32" (of how many are ranked): the rank is its first part
        out[tr.get_attribute("data-code")] = {"rank": cells[0].text.split(" ")[0], "composite": cells[2].text}
    return out


def path_of(dash_duo) -> str:
    """The page's path (its address also carries the view's controls as a query string)."""
    from urllib.parse import urlparse

    return urlparse(dash_duo.driver.current_url).path


def click_link(dash_duo, text: str) -> None:
    """Click the link `text`, finding it again if the page was drawn anew in between (a callback
    that answers after the link was found replaces it)."""
    from selenium.common.exceptions import StaleElementReferenceException

    end = time.time() + 30
    while True:
        try:
            dash_duo.driver.find_element("link text", text).click()
            return
        except StaleElementReferenceException:
            if time.time() > end:
                raise
            time.sleep(0.2)


def scores(db, *args: str) -> dict[str, dict]:
    got = json.loads(ipdash_cli("scores", "--db", str(db), "--year", "2024", "--json", *args).stdout)
    return {o["office_code"]: o for o in got["offices"]}


def fmt(x) -> str:
    return "—" if x is None else f"{x:,.1f}"


def confirm(dash_duo) -> str:
    """Accept the confirmation dialog the last click opened; return what it said."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    alert = WebDriverWait(dash_duo.driver, 10).until(expected_conditions.alert_is_present())
    text = alert.text
    alert.accept()
    return text


def choose_year(dash_duo, year: int) -> None:
    dash_duo.select_dcc_dropdown("#year", value=str(year))
    settled(dash_duo)


def test_drill_down_profile_case_and_language(dash_duo, site, golden_metrics) -> None:
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "leader")
    choose_year(dash_duo, 2024)
    dash_duo.wait_for_text_to_equal("#place-title", "国家知识产权局", timeout=30)
    national = scores(golden_metrics.path)
    shown = rows(dash_duo)
    assert {c: r["composite"] for c, r in shown.items()} == {c: fmt(o["composite"]) for c, o in national.items()}
    assert {c: r["rank"] for c, r in shown.items()} == {c: str(o["rank"] or "—") for c, o in national.items()}

    # Nation -> province -> prefecture -> county, each a URL of its own.
    click_link(dash_duo, "P3 省局")
    dash_duo.wait_for_text_to_equal("#place-title", "P3 省局", timeout=30)
    assert path_of(dash_duo) == "/place/130000"
    prefectures = scores(golden_metrics.path, "--level", "prefecture", "--within", "130000")
    settled(dash_duo)
    assert {c: r["composite"] for c, r in rows(dash_duo).items()} == {
        c: fmt(o["composite"]) for c, o in prefectures.items()
    }
    click_link(dash_duo, "P3 甲市局")
    dash_duo.wait_for_text_to_equal("#place-title", "P3 甲市局", timeout=30)
    click_link(dash_duo, "P3 甲县局")
    dash_duo.wait_for_element("#profile-title", timeout=30)
    assert path_of(dash_duo) == "/office/130101"
    county = scores(golden_metrics.path, "--level", "county", "--within", "130100")["130101"]
    dash_duo.wait_for_text_to_equal("#profile-composite", fmt(county["composite"]), timeout=30)
    assert dash_duo.find_element("#profile-rank").text == str(county["rank"] or "—")

    # The back button returns to the prefecture, then to the province.
    dash_duo.driver.back()
    dash_duo.wait_for_text_to_equal("#place-title", "P3 甲市局", timeout=30)
    dash_duo.driver.back()
    dash_duo.wait_for_text_to_equal("#place-title", "P3 省局", timeout=30)

    # A provincial office's profile, its numbers equal to the national ranking of provinces.
    dash_duo.driver.get(base + "/office/110000")
    dash_duo.wait_for_element("#profile-composite", timeout=30)
    choose_year(dash_duo, 2024)
    dash_duo.wait_for_text_to_equal("#profile-composite", fmt(national["110000"]["composite"]), timeout=30)
    interval = national["110000"]["rank_interval"]
    assert dash_duo.find_element("#profile-interval").text == f"{interval[0]}–{interval[1]}"

    # Switch to English: labels change, numbers do not.
    english = dash_duo.find_element("#lang input[value='en']")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", english)
    dash_duo.wait_for_text_to_equal("#label-year", "Year", timeout=30)
    settled(dash_duo)
    assert "Office profile" in dash_duo.find_element("#profile-title").text
    assert dash_duo.find_element("#profile-composite").text == fmt(national["110000"]["composite"])

    # A case from the case explorer (server-side rows), with its timeline.
    dash_duo.driver.get(base + "/cases?office=110100")
    dash_duo.wait_for_element("#cases-grid .ag-row a", timeout=60)
    link = dash_duo.find_elements("#cases-grid .ag-row a")[0]
    case_no = link.text
    link.click()
    dash_duo.wait_for_element("#case-title", timeout=30)
    assert case_no in dash_duo.find_element("#case-title").text
    assert "Deadline" in dash_duo.find_element("#case-fields").text
    # Under the Content-Security-Policy nothing was blocked (a blocked script or style is SEVERE).
    logs = dash_duo.get_logs() or []
    assert all(e["level"] != "SEVERE" for e in logs), logs

    # Signing out is a form POST; afterwards the pages ask for a sign-in again.
    dash_duo.find_element(f"#{ids.SIGN_OUT}").click()
    dash_duo.wait_for_element("#username", timeout=30)
    dash_duo.driver.get(base + "/cases")
    dash_duo.wait_for_element("#username", timeout=30)


def test_a_provincial_browser_session_never_shows_another_province(dash_duo, site) -> None:
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "p3")
    choose_year(dash_duo, 2024)
    dash_duo.wait_for_text_to_equal("#place-title", "P3 省局", timeout=30)
    seen = [dash_duo.driver.find_element("tag name", "body").text]
    assert set(rows(dash_duo)) == {"130100", "130200"}
    # The nation's page: every province as a ranking row, but no way below the other rows.
    click_link(dash_duo, "国家 · 国家知识产权局")
    dash_duo.wait_for_text_to_equal("#place-title", "国家知识产权局", timeout=30)
    settled(dash_duo)
    assert set(rows(dash_duo)) == {"110000", "120000", "130000"}
    hrefs = [a.get_attribute("href") for a in dash_duo.find_elements("#content a")]
    assert not [h for h in hrefs if "/110" in h or "/120" in h], hrefs
    # Typed-in addresses of another province show nothing of it.
    for path in (
        "/place/120000",
        "/office/120100",
        "/monitor?office=110000",
        "/case/110100/P1b1-01",
        "/cases?office=120000",
    ):
        dash_duo.driver.get(base + path)
        dash_duo.wait_for_element("#content", timeout=30)
        settled(dash_duo)
        seen.append(dash_duo.driver.find_element("tag name", "body").text)
    dash_duo.driver.get(base + "/cases")
    dash_duo.wait_for_element("#cases-grid .ag-row", timeout=60)
    seen.append(dash_duo.find_element("#cases-grid").text)
    page_text = "\n".join(seen)
    for marker in ("P1 市局", "P1 县局", "P2 市局", "P2 县局", "110100", "120100", "P1b1", "P2a1"):
        assert marker not in page_text, marker


def test_a_plan_from_form_to_public_page(dash_duo, golden_metrics, tmp_path, monkeypatch) -> None:
    """An administrator creates, locks and draws a plan; one inspector records through the online form,
    another through the checklist workbook round trip; the administrator publishes; an anonymous
    visitor sees the results."""
    import glob
    import time

    import openpyxl

    from inspection.results import standing_draw

    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "browser-test-secret")
    ops = OpStore(tmp_path / "ops.sqlite")
    add_user(ops, username="admin", role="national_admin", password=PASSWORD)
    base = start(dash_duo, create_app(db=str(db), ops_path=str(ops.path)))
    sign_in(dash_duo, base, "admin")

    dash_duo.driver.get(base + "/inspection")
    dash_duo.wait_for_element("#plan-year", timeout=30)
    dash_duo.select_dcc_dropdown("#plan-year", value="2024")
    dash_duo.find_element("#plan-id").send_keys("WEB1")
    for box in dash_duo.find_elements("#plan-strata input"):
        if box.get_attribute("value") == "case_kind" and box.is_selected():
            box.click()  # strata: office only
    for ident, value in (("#plan-min", "1"), ("#plan-max", "2"), ("#plan-per-office", "1"), ("#plan-cap", "10")):
        field = dash_duo.find_element(ident)
        field.clear()
        field.send_keys(value)
    dash_duo.find_element("#plan-preview-button").click()
    dash_duo.wait_for_contains_text("#plan-preview-result", "129", timeout=30)  # 129 closed in 2024 (README)
    dash_duo.find_element("#plan-create-button").click()
    dash_duo.wait_for_element("#plan-created a", timeout=30).click()
    dash_duo.wait_for_text_to_equal("#plan-locked", "未锁定", timeout=30)
    dash_duo.find_element("#plan-lock-button").click()
    assert "不能再改变" in confirm(dash_duo)
    dash_duo.wait_for_element("#plan-population-hash", timeout=30)
    dash_duo.wait_for_element("#draw-seed-input", timeout=30).send_keys("20250110")
    dash_duo.find_element("#draw-button").click()
    assert "种子" in confirm(dash_duo)
    dash_duo.wait_for_element("#draw-manifest-hash", timeout=60)
    manifest = standing_draw(ops, "WEB1")["manifest"]
    assert dash_duo.find_element("#draw-seed").text == "20250110"
    inspectors = sorted({a["inspector_id"] for a in manifest["assignments"]})
    assert len(inspectors) >= 2
    first, second = inspectors[:2]
    for ins in (first, second):
        add_user(ops, username=f"user-{ins.lower()}", role="inspector", password=PASSWORD, scope_code=ins)

    def mine(ins):
        offices = {a["office_code"] for a in manifest["assignments"] if a["inspector_id"] == ins}
        return [s for s in manifest["sample"] if s["office_code"] in offices]

    # The first inspector records one archive through the online form.
    dash_duo.driver.get(base + "/logout")
    sign_in(dash_duo, base, f"user-{first.lower()}", landing="#appraisal-submit")
    for item, score in (
        ("acceptance", 9),
        ("evidence", 18),
        ("facts", 18),
        ("law", 18),
        ("procedure", 13),
        ("documents", 14),
    ):
        dash_duo.find_element(f'input[id*=\'"item":"{item}"\']').send_keys(str(score))
    dash_duo.find_element("#appraisal-submit").click()
    dash_duo.wait_for_contains_text("#appraisal-result", "新增 1", timeout=60)

    # The second downloads the workbook, fills every assigned row and uploads it.
    dash_duo.driver.get(base + "/logout")
    sign_in(dash_duo, base, f"user-{second.lower()}", landing="#appraisal-submit")
    dash_duo.find_element("[id*='checklist-download-button']").click()
    deadline = time.time() + 30
    while time.time() < deadline and not glob.glob(f"{dash_duo.download_path}/*.xlsx"):
        time.sleep(0.3)
    path = glob.glob(f"{dash_duo.download_path}/*.xlsx")[0]
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[3]]
    for row in ws.iter_rows(min_row=4):
        if row[0].value is None:
            continue
        for k, name in enumerate(header):
            if name in ("立案受理", "调查取证", "事实认定", "法律适用", "办案程序", "文书归档"):
                row[k].value = {"立案受理": 8, "调查取证": 15}.get(name, 12)
            if name == "评查日期":
                row[k].value = "2025-01-12"
    wb.save(path)
    dash_duo.find_element("#checklist-upload input[type=file]").send_keys(path)
    dash_duo.wait_for_contains_text("#checklist-upload-result", f"新增 {len(mine(second))}", timeout=60)

    # The administrator publishes; an anonymous visitor sees the results.
    dash_duo.driver.get(base + "/logout")
    sign_in(dash_duo, base, "admin")
    dash_duo.driver.get(base + "/inspection/WEB1")
    dash_duo.wait_for_element("#plan-results", timeout=30)
    pending = len(manifest["sample"]) - 1 - len(mine(second))
    assert f"尚有 {pending} 件未评查" in dash_duo.find_element("#plan-appraisal-progress").text
    dash_duo.find_element("#plan-publish-button").click()  # a partial publication needs a reason
    assert f"尚有 {pending} 件抽中案卷未评查" in confirm(dash_duo)
    dash_duo.wait_for_contains_text("#plan-action-message", "reason", timeout=30)
    dash_duo.find_element("#plan-publish-reason").send_keys("先公开已评查部分")
    dash_duo.find_element("#plan-publish-button").click()
    confirm(dash_duo)
    dash_duo.wait_for_element("#plan-published", timeout=30)
    dash_duo.driver.get(base + "/logout")
    dash_duo.driver.get(base + "/public")
    body = dash_duo.driver.find_element("tag name", "body").text
    assert "WEB1" in body and "先公开已评查部分" in body
    for s in mine(first)[:1] + mine(second):
        assert s["office_code"] in body


def test_a_rectification_notice_answered_and_accepted_in_the_browser(
    dash_duo, tree_store, tmp_path, monkeypatch
) -> None:
    """Issue 18: after a publication, Zhejiang answers Hangzhou's notice with an attachment; the
    national administrator accepts it; every step shows on the notice's page."""

    monkeypatch.chdir(tmp_path)
    db, _ = published_world(tree_store, tmp_path)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "browser-test-secret")
    ops = OpStore(db.parent / "ipdash-ops.sqlite")
    add_user(ops, username="zj", role="provincial", password=PASSWORD, scope_code="330000", scope_level="provincial")
    add_user(ops, username="admin", role="national_admin", password=PASSWORD)
    base = start(dash_duo, create_app(db=str(db), ops_path=str(ops.path)))
    sign_in(dash_duo, base, "zj", landing="#content")

    dash_duo.driver.get(base + "/rectification")
    dash_duo.wait_for_element("#rect-list", timeout=30)
    assert "R-R-320100" not in dash_duo.find_element("#rect-list").text  # Jiangsu's is not Zhejiang's
    click_link(dash_duo, "R-R-330100")
    dash_duo.wait_for_element("#rect-text", timeout=30).send_keys("已重新制作决定书并归档")
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 rectification report")
    dash_duo.find_element("#rect-upload input[type=file]").send_keys(str(report))
    time.sleep(1)  # the upload's contents reach the page before the click
    dash_duo.find_element("#rect-respond").click()
    dash_duo.wait_for_contains_text("#rect-message", "已办理", timeout=30)
    dash_duo.wait_for_contains_text("#rect-detail", "已答复，待审核", timeout=30)
    assert "report.pdf" in dash_duo.find_element("#rect-detail").text

    dash_duo.driver.get(base + "/logout")
    sign_in(dash_duo, base, "admin", landing="#content")
    dash_duo.driver.get(base + "/rectification/R-R-330100")
    dash_duo.wait_for_element("#rect-accept", timeout=30).click()
    dash_duo.wait_for_contains_text("#rect-detail", "已通过", timeout=30)
    listed = json.loads(ipdash_cli("rectify", "list", "--db", str(db), "--json").stdout)["notices"]
    assert {n["notice_id"]: n["status"] for n in listed} == {"R-R-320100": "open", "R-R-330100": "accepted"}
    from inspection.rectification import notice

    assert [e["action"] for e in notice(ops, "R-R-330100")["events"]] == ["open", "respond", "accept"]
    assert settled(dash_duo) is None
    logs = [e for e in dash_duo.get_logs() if e.get("level") == "SEVERE"]
    assert logs == [], logs


def test_a_subscription_managed_and_its_notification_read_in_both_languages(dash_duo, tmp_path, monkeypatch) -> None:
    """Issue 21: Zhejiang subscribes to the weekly digest in the app; the delivery run computes it as
    Zhejiang (its own offices' overdue cases only) and it appears in the in-app list, unread until
    marked read; in English, the same page unsubscribes."""
    import datetime as dt

    from selenium.webdriver.support.ui import WebDriverWait

    from metrics.config import default_config
    from notify.run import Mailer, run
    from notify.subscriptions import BEIJING
    from queries.store import Store

    ops, store = build_world(tmp_path, None)
    monkeypatch.setenv("IPDASH_SECRET_KEY", "browser-test-secret")
    base = start(dash_duo, create_app(db=str(store.path), ops_path=str(ops.path)))
    dash_duo.driver.get(base + "/login")
    dash_duo.find_element("#username").send_keys("zj")
    dash_duo.find_element("#password").send_keys(NOTIFY_PASSWORD)
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element("#content", timeout=60)
    dash_duo.driver.get(base + "/subscriptions")
    dash_duo.wait_for_contains_text("#sub-list", "还没有订阅", timeout=30)
    assert not dash_duo.find_element("#sub-user").is_displayed()  # a provincial user subscribes only themself
    dash_duo.find_element("#sub-add").click()
    dash_duo.wait_for_contains_text("#sub-message", "已订阅", timeout=30)
    dash_duo.wait_for_contains_text("#sub-list", "逾期与临近期限案件摘要", timeout=30)
    assert "每周一 08:00" in dash_duo.find_element("#sub-list").text

    day = dt.date.today() + dt.timedelta(days=7)
    monday = day + dt.timedelta(days=(7 - day.weekday()) % 7)
    at = dt.datetime.combine(monday, dt.time(8, 5), tzinfo=BEIJING)
    got = run(ops, Store(store.path, ops=ops), default_config(), at=at, mailer=Mailer(outbox=tmp_path / "outbox"))
    assert len(got.sent) == 1
    dash_duo.driver.get(base + "/subscriptions")
    dash_duo.wait_for_contains_text("#notif-list", "未读", timeout=30)
    listed = dash_duo.find_element("#notif-list").text
    assert "逾期与临近期限案件" in listed and "Z-3" in listed and "J-1" not in listed
    dash_duo.find_element("#notif-read").click()
    WebDriverWait(dash_duo.driver, 30).until(lambda d: "未读" not in d.find_element("id", "notif-list").text)

    dash_duo.find_element("#lang input[value='en']").click()
    dash_duo.wait_for_contains_text("#sub-list", "Digest of overdue and near-deadline cases", timeout=30)
    assert "Mondays 08:00" in dash_duo.find_element("#sub-list").text
    assert "Mark all as read" in dash_duo.find_element("#notif-read").text
    dash_duo.driver.find_element("xpath", "//button[text()='Unsubscribe']").click()
    dash_duo.wait_for_contains_text("#sub-message", "Unsubscribed", timeout=30)
    dash_duo.wait_for_contains_text("#sub-list", "No subscriptions yet", timeout=30)
    actions = [e["action"] for e in ops.read("SELECT action FROM audit_log")]
    assert actions.count("subscription.add") == 1 and actions.count("subscription.remove") == 1


def until(check, timeout: float = 30.0):
    """Wait until `check()` returns something true; return it (fail after `timeout` seconds)."""
    end = time.time() + timeout
    while True:
        got = check()
        if got or time.time() > end:
            assert got, "timed out"
            return got
        time.sleep(0.3)


def test_a_shared_link_reproduces_the_view_and_says_it_is_not_official(dash_duo, site, golden_metrics) -> None:
    """Every control lives in the address: a link opens the same view (its ranking that of
    `ipdash scores` with the same method and weights), a banner says how it differs from the
    official settings, a change is written back to the address, and the back button returns to it;
    an as-of date outside the year is refused with a message."""
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "leader")
    dash_duo.driver.get(base + "/place/100000?year=2024&method=zscore&w=0,25,25,25&lang=en&palette=okabe")
    expected = scores(golden_metrics.path, "--method", "zscore", "--weights", "effort=0,level=1,timeliness=1,quality=1")
    want = {c: fmt(o["composite"]) for c, o in expected.items()}
    until(lambda: {c: r["composite"] for c, r in rows(dash_duo).items()} == want)
    banner = until(lambda: dash_duo.find_element("#unofficial").text)
    assert "What-if view" in banner and "Z-score" in banner and "Effort 0" in banner, banner
    assert dash_duo.find_element("#place-title").text == "国家知识产权局"
    assert "Rank change" in dash_duo.find_element("#ranking").text  # the page is in English
    for part in ("year=2024", "method=zscore", "w=0%2C25%2C25%2C25", "lang=en", "palette=okabe"):
        assert part in dash_duo.driver.current_url, (part, dash_duo.driver.current_url)

    # A change is written to the address in place; a drill-down keeps the view; back returns to it.
    dash_duo.find_element("#lang input[value='zh']").click()
    until(lambda: "lang=zh" in dash_duo.driver.current_url)
    until(lambda: "模拟视图" in dash_duo.find_element("#unofficial").text)
    click_link(dash_duo, "P3 省局")
    dash_duo.wait_for_text_to_equal("#place-title", "P3 省局", timeout=30)
    until(lambda: "method=zscore" in dash_duo.driver.current_url and "/place/130000" in dash_duo.driver.current_url)
    dash_duo.driver.back()
    dash_duo.wait_for_text_to_equal("#place-title", "国家知识产权局", timeout=30)
    until(lambda: {c: r["composite"] for c, r in rows(dash_duo).items()} == want)

    # The official settings: no banner.
    dash_duo.driver.get(base + "/place/100000?year=2024&method=minmax&w=25,25,25,25&lang=zh")
    until(lambda: not dash_duo.find_element("#unofficial").is_displayed())
    # An as-of date outside the year is refused, with a message saying what is accepted.
    dash_duo.driver.get(base + "/place/100000?year=2024&as_of=2023-06-30")
    refused = until(lambda: dash_duo.find_elements("#as-of-refused"))
    assert "2024-01-01 至 2024-12-31" in refused[0].text


def test_a_provincial_users_home_shows_its_own_national_rank(dash_duo, site, golden_metrics) -> None:
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "p3")
    choose_year(dash_duo, 2024)
    p3 = scores(golden_metrics.path)["130000"]
    said = until(lambda: dash_duo.find_element("#standing-rank").text)
    assert f"在全国 3 个省级知识产权局中排第 {p3['rank']} 位" in said
    assert dash_duo.find_element("#standing-weakest").text.startswith("实体结案率")
    dash_duo.driver.get(base + "/place/100000?year=2024")
    mine = until(lambda: dash_duo.find_elements("#ranking tr.rank-row.mine"))
    assert [tr.get_attribute("data-code") for tr in mine] == ["130000"]


def test_sort_a_ranking_find_an_office_and_present(dash_duo, site, golden_metrics) -> None:
    """A click on a heading sorts the ranking; the search box finds "P3 省局" by its pinyin initials
    and opens it; presentation mode hides the controls."""
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "leader")
    choose_year(dash_duo, 2024)
    national = scores(golden_metrics.path)
    by_rank = [c for c, _ in sorted(national.items(), key=lambda kv: kv[1]["rank"] or 99)]
    until(lambda: list(rows(dash_duo)) == by_rank)
    composite = next(th for th in dash_duo.find_elements("#ranking thead th") if th.text == "综合得分")
    composite.click()  # ascending: the lowest composite first
    until(lambda: list(rows(dash_duo)) == by_rank[::-1])
    composite.click()
    until(lambda: list(rows(dash_duo)) == by_rank)

    dash_duo.find_element("#office-search").click()
    menu = dash_duo.find_element(".dash-dropdown-options")
    menu.find_element("css selector", "input").send_keys("p3sj")  # the menu's search box
    option = until(lambda: [o for o in dash_duo.find_elements(".dash-dropdown-option") if "P3 省局" in o.text])
    option[0].click()
    dash_duo.wait_for_text_to_equal("#place-title", "P3 省局", timeout=30)
    assert path_of(dash_duo) == "/place/130000"

    dash_duo.find_element("#present").click()
    until(lambda: not dash_duo.find_element(".controls").is_displayed())
    dash_duo.find_element("#present").click()
    until(lambda: dash_duo.find_element(".controls").is_displayed())


def test_the_calendar_and_the_charts_speak_the_pages_language(dash_duo, site) -> None:
    """The date picker's weekday names and the chart button's tooltip follow the language control
    (assets/locale.js), also after a switch without a reload."""
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "leader")
    dash_duo.driver.get(base + "/place/100000?year=2024&lang=zh")
    settled(dash_duo)

    def weekdays() -> list[str]:
        dash_duo.find_element(f"#{ids.AS_OF}").click()
        cells = until(lambda: dash_duo.find_elements(".dash-datepicker-calendar-wrapper thead th"))
        names = [c.text for c in cells]
        dash_duo.find_element("body").send_keys("\ue00c")  # Escape closes the calendar
        return names

    def button_title() -> str:
        return until(lambda: dash_duo.find_elements(".modebar-btn"))[0].get_attribute("data-title")

    assert weekdays() == ["一", "二", "三", "四", "五", "六", "日"]
    until(lambda: button_title() == "下载图表（PNG 图片）")
    dash_duo.find_element("#lang input[value='en']").click()
    dash_duo.wait_for_contains_text("#ranking", "Rank change", timeout=30)
    settled(dash_duo)
    until(lambda: button_title() == "Download plot as a PNG")
    assert weekdays() == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]

    # a drop-down list's own words ("2 selected") follow the language too
    dash_duo.driver.get(base + "/compare?year=2024&offices=110000,130000&lang=zh")
    dash_duo.wait_for_contains_text(".compare-pick", "已选 2 项", timeout=30)
    dash_duo.find_element("#lang input[value='en']").click()
    dash_duo.wait_for_contains_text(".compare-pick", "2 selected", timeout=30)  # the page is drawn anew


def test_signing_out_forgets_the_views_controls(dash_duo, site) -> None:
    """The view a user chose (year, as-of, method, peer group, weights) is kept for their tab while
    signed in, and forgotten at sign-out: the next user to sign in there starts from the official
    view. (Language and palette are the device's preference and stay.)"""
    base = start(dash_duo, site)
    sign_in(dash_duo, base, "leader")
    dash_duo.driver.get(base + "/place/100000?year=2024")
    settled(dash_duo)
    dash_duo.find_element(f"#{ids.METHOD}").click()  # chosen by the user: kept for the tab
    option = until(lambda: [o for o in dash_duo.find_elements(".dash-dropdown-option") if "Z" in o.text])
    option[0].click()
    until(lambda: "method=zscore" in dash_duo.driver.current_url)
    dash_duo.driver.get(base + "/place/100000")
    until(lambda: "method=zscore" in dash_duo.driver.current_url)
    dash_duo.find_element("#sign-out").click()
    dash_duo.wait_for_element("#username", timeout=30)
    sign_in(dash_duo, base, "p3")
    settled(dash_duo)
    until(lambda: "method=minmax" in dash_duo.driver.current_url)

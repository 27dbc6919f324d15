"""Past one host: `ipdash serve` processes sharing PostgreSQL and Redis behave as one service, and a
browser behind nginx, whose every request may reach another worker, gets its workbook every time.

Needs PostgreSQL ($IPDASH_TEST_DATABASE_URL), Redis ($IPDASH_TEST_REDIS_URL) and nginx; `.ci/run`
installs and starts them from Debian's packages and sets IPDASH_REQUIRE_REDIS and IPDASH_REQUIRE_NGINX so that none is skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from access import audit
from access.opstore import OpStore, default_path
from access.users import add_user
from queries.store import Store
from tests import FIXTURES
from tests.dash_helpers import login_http, route_body
from tests.fixtures.metrics.build import load_golden
from tests.integration.test_serving import free_port, launch, stop

pytestmark = pytest.mark.slow
PASSWORD = "multihost-test-password"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("IPDASH_TEST_REDIS_URL")
    if not url:
        if os.environ.get("IPDASH_REQUIRE_REDIS") == "1":
            pytest.fail("IPDASH_REQUIRE_REDIS=1 but IPDASH_TEST_REDIS_URL is not set")
        pytest.skip("no Redis server: set IPDASH_TEST_REDIS_URL (CI does)")
    import redis

    redis.Redis.from_url(url).flushdb()  # counts of an earlier run must not throttle this one
    return url


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        if os.environ.get("IPDASH_REQUIRE_NGINX") == "1":
            pytest.fail("IPDASH_REQUIRE_NGINX=1 but nginx is not installed")
        pytest.skip("no nginx here: apt-get install nginx-light (CI does)")
    return found


def start_nginx(tmp: Path, upstream: str) -> tuple[subprocess.Popen, str]:
    """nginx on a free port in front of `upstream`, as docs/serving.md deploys it: no keep-alive towards
    the upstream, so consecutive requests of one browser reach whichever worker accepts them."""
    port = free_port()
    for d in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 30m;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 300s;
        }}
    }}
}}
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [nginx_binary(), "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            requests.get(base + "/healthz", timeout=2)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("nginx did not start: " + proc.stderr.read().decode()[-2000:])


def sign_in(base: str, user: str, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    got = login_http(s, base, user, password)
    assert got.status_code == 302, got.text[:300]
    return s


def dash_output(s: requests.Session, base: str, needle: str) -> dict:
    deps = s.get(base + "/_dash-dependencies").json()
    return next(d for d in deps if needle in d["output"])


def start_report(s: requests.Session, base: str) -> str:
    got = s.post(
        base + "/_dash-update-component",
        json={
            "output": "..report-status.children...report-poll.disabled..",
            "outputs": [{"id": "report-status", "property": "children"}, {"id": "report-poll", "property": "disabled"}],
            "inputs": [{"id": "report-button", "property": "n_clicks", "value": 1}],
            "state": [
                {"id": "year", "property": "value", "value": 2024},
                {"id": "report-lang", "property": "value", "value": "zh"},
            ],
            "changedPropIds": ["report-button.n_clicks"],
        },
    )
    assert got.status_code == 200, got.text[:300]
    return got.json()["response"]["report-status"]["children"]


def poll_report(s: requests.Session, base: str, seconds: float = 120) -> dict:
    key = dash_output(s, base, "report-download.data")["output"]
    body = {
        "output": key,
        "outputs": [
            {"id": i, "property": p}
            for i, p in (
                ("report-progress", "value"),
                ("report-status", "children"),
                ("report-poll", "disabled"),
                ("report-download", "data"),
            )
        ],
        "inputs": [{"id": "report-poll", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["report-poll.n_intervals"],
    }
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = s.post(base + "/_dash-update-component", json=body)
        if got.status_code == 200 and "report-download" in got.json()["response"]:
            return got.json()["response"]["report-download"]["data"]
        time.sleep(0.3)
    raise AssertionError("the workbook did not arrive")


def test_two_hosts_on_postgresql_and_redis_behave_as_one_service(tmp_path: Path, pg_url: str, redis_url: str) -> None:
    db = tmp_path / "shared" / "ipdash.duckdb"  # the store directory every host mounts
    db.parent.mkdir()
    ops = OpStore(default_path(db), url=pg_url)
    load_golden(Store(db, ops=ops), tmp_path / "in")
    for name, role, scope, level in (
        ("leader", "national_leader", None, None),
        ("p1", "provincial", "110000", "provincial"),
        ("pref", "prefecture", "130100", "prefecture"),
    ):
        add_user(ops, username=name, role=role, password=PASSWORD, scope_code=scope, scope_level=level)
    env = {"IPDASH_DATABASE_URL": pg_url, "IPDASH_RATELIMIT_STORAGE": redis_url}
    a, base_a = launch("serve", "--db", str(db), "--workers", "1", env=env)
    try:
        b, base_b = launch("serve", "--db", str(db), "--workers", "1", env=env)
        try:
            # A user signed in on one host continues on the other.
            s = sign_in(base_a, "leader")
            got = s.post(base_b + "/_dash-update-component", json=route_body("/", lang="en"))
            assert got.status_code == 200 and "P1" in got.text

            # A report started on one host is fetched from the other.
            assert "building" in start_report(s, base_a)
            data = poll_report(s, base_b)
            assert "-national-" in data["filename"] and len(data["content"]) > 1000

            # Failed sign-ins count once across both hosts: 9 in a minute, then even the right password waits.
            for k in range(9):
                r = login_http(requests.Session(), (base_a, base_b)[k % 2], "p1", "wrong-password")
                assert r.status_code == 401, r.status_code
            for base in (base_a, base_b):
                assert login_http(requests.Session(), base, "p1", PASSWORD).status_code == 429

            # 200 concurrent audited actions from both hosts leave one contiguous, verifiable chain.
            before = len(audit.recent(ops, 100000))
            sessions = [sign_in(base_a, "pref"), sign_in(base_b, "pref")]

            def denied(k: int) -> int:
                host = k % 2
                return (
                    sessions[host]
                    .post(
                        (base_a, base_b)[host] + "/_dash-update-component", json=route_body("/place/110000", lang="en")
                    )
                    .status_code
                )

            with ThreadPoolExecutor(16) as pool:
                assert set(pool.map(denied, range(200))) == {200}
        finally:
            stop(b)
    finally:
        stop(a)
    verdict = audit.verify(ops)
    assert verdict.ok, verdict
    entries = audit.recent(ops, 100000)
    assert [e["seq"] for e in reversed(entries)] == list(range(1, len(entries) + 1))
    refused = [e for e in entries[: len(entries) - before] if e["actor"] == "pref" and "denied" in e["action"]]
    assert len(refused) == 200


def test_the_workbook_download_through_nginx_arrives_every_time(dash_br, golden_metrics, tmp_path: Path) -> None:
    from tests.conftest import with_appraisals_of

    db = tmp_path / "store" / "ipdash.duckdb"
    db.parent.mkdir()
    shutil.copyfile(golden_metrics.path, db)
    ops = with_appraisals_of(golden_metrics, OpStore(default_path(db)))
    add_user(ops, username="leader", role="national_leader", password=PASSWORD)
    server, upstream = launch("serve", "--db", str(db), "--workers", "2", env={"IPDASH_TRUSTED_PROXIES": "1"})
    try:
        proxy, base = start_nginx(tmp_path / "nginx", upstream)
        try:
            workers = {requests.get(base + "/healthz", timeout=10).json()["worker"] for _ in range(40)}
            assert len(workers) == 2  # consecutive requests do reach different workers
            driver = dash_br.driver
            driver.get(base + "/login")
            dash_br.find_element("#username").send_keys("leader")
            dash_br.find_element("#password").send_keys(PASSWORD)
            dash_br.find_element("button[type=submit]").click()
            dash_br.wait_for_element("#ranking", timeout=60)
            driver.get(base + "/report")
            dash_br.wait_for_element("#report-button", timeout=60)
            for k in range(1, 11):
                dash_br.find_element("#report-button").click()
                deadline = time.time() + 120
                while time.time() < deadline and len(glob.glob(f"{dash_br.download_path}/*.xlsx")) < k:
                    time.sleep(0.3)
                assert len(glob.glob(f"{dash_br.download_path}/*.xlsx")) == k, (
                    f"download {k} did not arrive: {dash_br.find_element('#report-status').text}, "
                    f"{os.listdir(dash_br.download_path)}"
                )
                dash_br.wait_for_contains_text("#report-status", "完成", timeout=30)
        finally:
            proxy.terminate()
            proxy.wait(10)
    finally:
        stop(server)


def test_two_reviewers_on_two_hosts_act_on_a_notice_once(tmp_path: Path, pg_url: str) -> None:
    """Issue 18: the same answered notice accepted from one host and returned from the other at the
    same moment — exactly one step is taken (the version check of the operational store), the other
    reviewer is told the notice changed, and the audit chain holds one step."""
    import datetime as dt

    from ingest.run import ingest
    from inspection.plans import create_plan, lock_plan, run_draw
    from inspection.rectification import act, notice
    from inspection.results import publish

    db = tmp_path / "shared" / "ipdash.duckdb"
    db.parent.mkdir()
    ops = OpStore(default_path(db), url=pg_url)
    store = Store(db, ops=ops)
    fixtures = FIXTURES / "ingest"
    for kind, name in (("offices", "offices.csv"), ("staffing", "staffing.csv"), ("inspectors", "inspectors.csv")):
        ingest(store, kind, [str(fixtures / name)], progress=False)
    (tmp_path / "c.csv").write_text(
        "案号,办案机构代码,案件类型,专利类型,案件来源,收到日期,立案日期,结案日期,结案方式\n"
        "K-1,330100,假冒专利,发明,依职权,2024-03-01,2024-03-04,2024-04-01,行政处罚\n",
        encoding="utf-8",
    )
    ingest(store, "cases", [str(tmp_path / "c.csv")], progress=False)
    create_plan(
        ops,
        store,
        'plan_id = "M"\nyear = 2024\nscope = "330000"\n[rule]\nmin_per_stratum = 1\n[inspectors]\nper_office = 1\n',
        actor="t",
    )
    lock_plan(ops, store, "M", out_dir=tmp_path, actor="t")
    manifest = run_draw(ops, store, "M", seed="1", actor="t")
    inspector = manifest["assignments"][0]["inspector_id"]
    (tmp_path / "a.csv").write_text(
        "抽查批次,办案机构代码,案号,评查人员,立案受理,调查取证,事实认定,法律适用,办案程序,文书归档,评查日期\n"
        f"M-D1,330100,K-1,{inspector},6,12,12,12,9,9,{dt.date(2025, 1, 10)}\n",
        encoding="utf-8",
    )
    assert ingest(store, "appraisals", [str(tmp_path / "a.csv")], progress=False).counts.loaded == 1
    publish(ops, store, "M", actor="t")
    act(ops, "R-M-330100", "respond", actor="t", text="已重新制作决定书", attachment_dir=tmp_path)
    add_user(ops, username="admin", role="national_admin", password=PASSWORD)
    env = {"IPDASH_DATABASE_URL": pg_url}
    a, base_a = launch("serve", "--db", str(db), "--workers", "1", env=env)
    try:
        b, base_b = launch("serve", "--db", str(db), "--workers", "1", env=env)
        try:
            sessions = {base_a: sign_in(base_a, "admin"), base_b: sign_in(base_b, "admin")}
            dep = dash_output(sessions[base_a], base_a, "rect-message.children")

            def step(base: str, button: str) -> str:
                values = {"rect-notice": "R-M-330100", "rect-text": "送达回证缺失，请补充", "lang": "en", button: 1}
                body = {
                    "output": dep["output"],
                    "outputs": [
                        {"id": "rect-message", "property": "children"},
                        {"id": "rect-detail", "property": "children"},
                    ],
                    "inputs": [{**i, "value": values.get(i["id"], 0)} for i in dep["inputs"]],
                    "state": [{**st, "value": values.get(st["id"])} for st in dep["state"]],
                    "changedPropIds": [f"{button}.n_clicks"],
                }
                got = sessions[base].post(base + "/_dash-update-component", json=body)
                assert got.status_code == 200, got.text[:300]
                return got.text

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda job: step(*job), [(base_a, "rect-accept"), (base_b, "rect-return")]))
        finally:
            stop(b)
    finally:
        stop(a)
    assert sum("Done" in text for text in answers) == 1, answers
    assert any("changed meanwhile" in text or "applies to a notice that is responded" in text for text in answers)
    steps = [e["action"] for e in notice(ops, "R-M-330100")["events"]]
    assert steps[:2] == ["open", "respond"] and len(steps) == 3 and steps[2] in ("accept", "return")
    assert audit.verify(ops).ok

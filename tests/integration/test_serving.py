"""Production serving (SPEC §7): several gunicorn workers, an ingest published while users click,
a worker killed during writes, and a write that fails for want of disk space."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from access import audit
from access.opstore import OpStore, default_path
from access.users import add_user
from ingest.run import ingest
from queries.store import Store, StoreError
from tests.conftest import INGEST
from tests.dash_helpers import login_http, route_body

pytestmark = pytest.mark.slow
PASSWORD = "serving-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, workers: int = 2) -> tuple[subprocess.Popen, str]:
    return launch("serve", "--db", str(db), "--workers", str(workers))


def launch(*args: str, ready_within: float = 120, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """Run `ipdash <args> --port P` (with `env` added to the environment) and wait until every worker
    says ready; (process, base URL)."""
    port = free_port()
    env = {**os.environ, "IPDASH_SECRET_KEY": "serving-test-secret", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipdash.cli", *args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + ready_within
    while time.time() < deadline:
        try:
            if requests.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)  # the workers too: they hold the stderr pipe open
    raise AssertionError("server did not become ready: " + proc.stderr.read().decode()[-2000:])


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def session(base: str, user: str) -> requests.Session:
    s = requests.Session()
    got = login_http(s, base, user, PASSWORD)
    assert got.status_code == 302, got.text[:300]
    return s


def headline_accepted(s: requests.Session, base: str) -> str:
    from tests.dash_helpers import by_id, text

    body = route_body("/place/110000", lang="en")
    got = s.post(base + "/_dash-update-component", json=body, timeout=60)
    assert got.status_code == 200, got.text[:300]
    tile = by_id(json.loads(got.content)["response"]["content"]["children"], "headline")["props"]["children"][0]
    return text(tile).split()[1]  # "Accepted <n> <change> vs last year"


def test_an_ingest_published_while_users_click_is_seen_whole_by_every_worker(golden_metrics, tmp_path) -> None:
    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    add_user(OpStore(default_path(db)), username="leader", role="national_leader", password=PASSWORD)
    proc, base = start_server(db, workers=2)
    try:
        sessions = [session(base, "leader") for _ in range(4)]
        before = headline_accepted(sessions[0], base)
        assert before == "67"  # README: P1 accepted 67 cases in 2024
        seen: list[str] = []
        failures: list[str] = []
        stop_flag = threading.Event()

        def click(s):
            while not stop_flag.is_set():
                try:
                    seen.append(headline_accepted(s, base))
                except Exception as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=click, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        time.sleep(1.0)
        # Five more P1 cases accepted in 2024, published atomically while the clicks go on.
        extra = tmp_path / "extra.csv"
        extra.write_text(
            "office_code,case_no,case_kind,patent_type,source,received_date,accepted_date\n"
            + "".join(
                f"110000,EXTRA-{k},infringement_dispute,invention,request,2024-05-0{k + 1},2024-05-0{k + 2}\n"
                for k in range(5)
            ),
            encoding="utf-8",
        )
        summary = ingest(Store(db), "cases", [str(extra)], progress=False)
        assert summary.counts.loaded == 5, summary.as_json()
        deadline = time.time() + 30
        while time.time() < deadline and not (seen and seen[-1] == "72" and seen.count("72") >= 8):
            time.sleep(0.2)
        stop_flag.set()
        for t in threads:
            t.join(60)
        assert not failures, failures[:3]
        assert set(seen) <= {"67", "72"}, set(seen)  # wholly old or wholly new, never a mix
        assert "72" in seen and seen[-1] == "72"
        first_new = seen.index("72")
        assert all(v == "72" for v in seen[first_new + 8 :])  # once published, every worker has it
    finally:
        stop(proc)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_a_worker_killed_during_writes_loses_no_acknowledged_entry(golden_metrics, tmp_path) -> None:
    db = tmp_path / "ipdash.duckdb"
    shutil.copyfile(golden_metrics.path, db)
    ops = OpStore(default_path(db))
    for k in range(6):
        add_user(ops, username=f"u{k}", role="national_leader", password=PASSWORD)
    proc, base = start_server(db, workers=2)
    acknowledged: list[str] = []
    try:
        workers = _children(proc.pid)
        assert len(workers) == 2, workers
        stop_flag = threading.Event()

        def sign_in_repeatedly(k: int):
            while not stop_flag.is_set():
                try:
                    got = login_http(requests.Session(), base, f"u{k}", PASSWORD, timeout=30)
                    if got.status_code == 302:  # the login was acknowledged: its audit entry must exist
                        acknowledged.append(f"u{k}")
                except (requests.RequestException, AssertionError):
                    # the killed worker's requests fail, or its login page comes back cut off (no
                    # CSRF field to read): not acknowledged either way
                    pass

        threads = [threading.Thread(target=sign_in_repeatedly, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        os.kill(workers[0], signal.SIGKILL)  # kill -9 one worker in the middle of the writes
        time.sleep(3.0)
        stop_flag.set()
        for t in threads:
            t.join(60)
        assert len(_children(proc.pid)) == 2  # gunicorn replaced the killed worker
        assert requests.get(base + "/healthz", timeout=10).status_code == 200
    finally:
        stop(proc)
    verdict = audit.verify(ops)
    assert verdict.ok, verdict
    logins = [e for e in audit.recent(ops, limit=100_000) if e["action"] == "login"]
    for user in set(acknowledged):
        assert sum(1 for e in logins if e["actor"] == user) >= acknowledged.count(user), user


@pytest.mark.parametrize("where", ["copy", "fsync"])
def test_a_full_disk_fails_the_ingest_cleanly(tree_store: Store, monkeypatch, where: str) -> None:
    import queries.store as store_module

    before = tree_store.path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "copy":
        real = shutil.copyfile

        def half_then_full(src, dst, *a, **kw):  # writes part of the copy, then the disk is full
            real(src, dst)
            with open(dst, "r+b") as fh:
                fh.truncate(os.path.getsize(dst) // 2)
            full()

        monkeypatch.setattr(store_module.shutil, "copyfile", half_then_full)
    else:
        monkeypatch.setattr(store_module, "_fsync", full)
    with pytest.raises(StoreError, match="No space left on device") as got:
        ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    assert "nothing was changed" in str(got.value)
    assert tree_store.path.read_bytes() == before
    assert not list(tree_store.path.parent.glob(tree_store.path.name + ".tmp-*"))


def test_a_second_web_writer_waits_for_the_first(tree_store: Store) -> None:
    """Two writes at once: the command line's refuses at once, the web's waits for the lock."""
    release = threading.Event()
    entered = threading.Event()

    def hold():
        with tree_store.writer():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    entered.wait(10)
    with pytest.raises(StoreError, match="another ingest"):
        ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False)
    threading.Timer(0.5, release.set).start()
    summary = ingest(tree_store, "cases", [str(INGEST / "cases_gb18030.csv")], progress=False, wait=20)
    t.join(10)
    assert summary.counts.loaded > 0


def test_the_demo_command_builds_then_serves_figures(tmp_path) -> None:
    """`ipdash demo` on a fresh machine: the build must not leave the server's workers hung (Polars'
    thread pool, once used, does not survive gunicorn's fork; the first figure then never came)."""
    proc, base = launch("demo", "--db", str(tmp_path / "demo.duckdb"), "--cases", "20000", "--quiet", ready_within=240)
    try:
        s = requests.Session()
        assert login_http(s, base, "leader", "leader-demo-2024").status_code == 302
        got = s.post(base + "/_dash-update-component", json=route_body("/", year=2025), timeout=60)
        assert got.status_code == 200 and b'"response"' in got.content
    finally:
        stop(proc)

"""An ingest killed at any point leaves the previous data intact; the command line contract."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.demo import DemoSpec, build_frames, export_frames
from ingest.run import ingest
from queries.store import Store, rows
from tests.conftest import INGEST

IPDASH = [sys.executable, "-m", "ipdash.cli"]


def cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*IPDASH, *args, "--db", str(db)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_kill_9_mid_ingest_leaves_previous_data_intact(tmp_path: Path) -> None:
    paths = export_frames(build_frames(DemoSpec(cases=200_000, seed=3)), str(tmp_path / "in"))
    store = Store(tmp_path / "db" / "ipdash.duckdb")
    for kind in ("offices", "staffing", "inspectors"):
        ingest(store, kind, [paths[kind]], progress=False)
    small = tmp_path / "small.csv"
    with open(paths["cases"], encoding="utf-8") as src:
        small.write_text("".join(next(src) for _ in range(101)), encoding="utf-8")
    ingest(store, "cases", [str(small)], progress=False)
    version = store.data_version()

    # Time one complete run on a copy, so the kills below land inside the ingest on any machine.
    copy = Store(tmp_path / "copy" / "ipdash.duckdb")
    copy.path.parent.mkdir()
    copy.path.write_bytes(store.path.read_bytes())
    started = time.monotonic()
    subprocess.run([*IPDASH, "ingest", "cases", paths["cases"], "--db", str(copy.path), "--quiet"], check=True)
    full = time.monotonic() - started

    baseline = store.path.read_bytes()
    rng = random.Random(11)
    killed_mid_way = 0
    for _attempt in range(6):
        proc = subprocess.Popen(
            [*IPDASH, "ingest", "cases", paths["cases"], "--db", str(store.path), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(full * rng.uniform(0.05, 0.7))
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)  # SIGKILL; nothing when the ingest already finished (and was reaped)
        proc.wait()
        with contextlib.closing(store.reader()) as con:
            n_cases = rows(con, "SELECT count(*) FROM cases")[0][0]
            n_runs = rows(con, "SELECT count(*) FROM ingest_runs WHERE kind = 'cases'")[0][0]
        if finished:  # a slow moment made the ingest win the race: then it must be complete
            assert (n_cases, n_runs, store.data_version()) == (200_000, 2, version + 1)
            store.path.write_bytes(baseline)
            continue
        killed_mid_way += 1
        # Whatever the moment, the published file still opens and holds exactly the previous data.
        assert (n_cases, n_runs, store.data_version()) == (100, 1, version)
    assert killed_mid_way >= 3
    # The next ingest clears the orphaned copy and completes.
    s = ingest(store, "cases", [paths["cases"]], progress=False)
    assert (s.counts.loaded, s.counts.unchanged) == (199_900, 100)
    assert not list(store.path.parent.glob("*.tmp-*"))
    assert store.data_version() == version + 1


def test_cli_json_prints_one_object_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    done = cli("ingest", "offices", str(INGEST / "offices.csv"), "--json", db=db)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {k: payload[k] for k in ("read", "loaded", "updated", "unchanged", "rejected", "duplicate_in_file")} == {
        "read": 7,
        "loaded": 7,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "duplicate_in_file": 0,
    }
    assert payload["rejects_file"] is None
    done = cli("ingest", "cases", str(INGEST / "cases_errors.csv"), "--json", db=db)
    payload = json.loads(done.stdout)
    assert payload["rejected"] == 15 and Path(payload["rejects_file"]).is_file()
    # A long file shows a progress bar, on stderr only.
    paths = export_frames(build_frames(DemoSpec(cases=30_000, seed=1)), str(tmp_path / "in"))
    cli("ingest", "offices", paths["offices"], db=tmp_path / "big.duckdb")
    done = cli("ingest", "cases", paths["cases"], "--json", db=tmp_path / "big.duckdb")
    assert json.loads(done.stdout)["loaded"] == 30_000
    assert "checking cases" in done.stderr and "row" in done.stderr


def test_cli_refuses_bad_file_with_exit_2_and_one_message(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    bad = tmp_path / "x.csv"
    bad.write_text("颜色,大小\n红,大\n", encoding="utf-8")
    done = cli("ingest", "offices", str(bad), db=db)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "refused, nothing changed" in done.stderr and "unknown column(s) '颜色', '大小'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not db.exists()


def test_demo_is_deterministic_for_a_seed() -> None:
    a = build_frames(DemoSpec(cases=3_000, seed=5))
    b = build_frames(DemoSpec(cases=3_000, seed=5))
    c = build_frames(DemoSpec(cases=3_000, seed=6))
    for kind in a:
        assert a[kind].equals(b[kind]), kind
    assert not a["cases"].equals(c["cases"])
    assert a["cases"].height == 3_000
    assert a["offices"].filter(a["offices"]["level"] == "provincial").height == 32


def test_demo_build_only_reports_counts(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    done = cli("demo", "--build-only", "--cases", "5000", "--seed", "9", "--json", db=db)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["built"] is True and payload["cases"] == 5000 and payload["offices"] > 3000
    again = json.loads(cli("demo", "--build-only", "--json", db=db).stdout)
    assert again["built"] is False
    # A published inspection with its rectification notices in every state (issue 18), created once.
    every = json.loads(cli("rectify", "list", "--json", db=db).stdout)["notices"]
    notices = [n for n in every if n["kind"] == "inspection"]
    assert {n["status"] for n in notices} == {"open", "responded", "returned", "accepted"}
    assert len({n["plan_id"] for n in notices}) == 1 and notices[0]["plan_id"].startswith("demo-published-")
    # A return-visit plan whose unsatisfied visits and unfulfilled agreements opened notices, one answered.
    from_visits = [n for n in every if n["kind"] == "visit"]
    assert from_visits and {n["plan_id"] for n in from_visits} == {from_visits[0]["plan_id"]}
    assert from_visits[0]["plan_id"].startswith("demo-visits-") and "responded" in {n["status"] for n in from_visits}
    visits = json.loads(cli("visit", "list", "--json", db=db).stdout)["visits"]
    assert any(v["recorded_at"] is None for v in visits) and any(v["reached"] == 0 for v in visits)
    assert sum(1 for v in visits if v["notice_id"]) == len(from_visits)
    cases = json.loads(cli("supervise", "list", "--json", db=db).stdout)["supervised"]
    assert len(cases) == 4 and {"closed_in_time", "closed_late"} <= {c["status"] for c in cases}

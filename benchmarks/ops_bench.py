"""Operational-store benchmark: online appraisal entry through the real web endpoint, beside the bare
insert into the operational store, and the dashboard's p95 during a burst of appraisals, beside the
same pages with no writes, in the same run.

Builds the seeded demo store (default 1M cases; the demo plan's draw is made at build time), adds
one inspector login per roster inspector of the demo draw, starts `ipdash serve --workers 2` on
127.0.0.1 and waits for /readyz. Every request opens a new connection, so requests spread over
both workers as they do behind a reverse proxy. Then:

  entry    --entries online appraisals, one per sampled archive, each the inspection page's submit
           callback POSTed by the archive's inspector (the form is read, checked, written to the
           operational store in one transaction with its audit entries, and the year's appraisal
           version moves on)
  bare     the same rows written into a copy of the operational store with sqlite3: one
           INSERT OR REPLACE and COMMIT per row, nothing else
  pages    the national leader's pages (overview and an office profile of the plan's year, the
           overview of the year before, monitoring, the case explorer), --rounds rounds with no
           writes, then round after round while a second client enters a burst of 50 appraisals

Pages of the plan's year depend on its appraisals, so each appraisal makes the next load of those
pages recompute their quality figures; the other pages stay cached. Times in ms.

    python benchmarks/ops_bench.py --cases 1000000 [--entries 100] [--rounds 20] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dashboard_bench import CASE_REQUEST, free_port, pct  # noqa: E402
from benchmarks.ingest_bench import demo_store, machine, write_results  # noqa: E402
from tests.dash_helpers import appraisal_body, cases_body, login_http, route_body  # noqa: E402

PASSWORD = "bench-inspector-2024"
BURST = 50
CLOSE = {"Connection": "close"}  # a new connection per request: either worker may answer


def maxima() -> list[int]:
    from ingest.contract import default_contract

    return [int(i.max) for i in default_contract().checklist.items]


def sign_in(base: str, username: str, password: str) -> requests.cookies.RequestsCookieJar:
    session = requests.Session()
    session.headers.update(CLOSE)
    got = login_http(session, base, username, password, timeout=60)
    if got.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed: HTTP {got.status_code}")
    return session.cookies


def post(base: str, cookies, body: dict) -> dict:
    got = requests.post(base + "/_dash-update-component", json=body, cookies=cookies, headers=CLOSE, timeout=600)
    if got.status_code != 200:
        raise RuntimeError(f"HTTP {got.status_code}: {got.text[:300]}")
    return json.loads(got.text)


def entries_plan(ops_path: Path) -> tuple[str, int, list[tuple[str, str]]]:
    """(draw id, plan year, [(archive value, inspector id)]) of the demo draw, in a fixed order."""
    con = sqlite3.connect(ops_path)
    draw_id, manifest = con.execute("SELECT draw_id, manifest FROM draws WHERE voided_at IS NULL").fetchone()
    con.close()
    manifest = json.loads(manifest)
    year = manifest["plan"]["year"]
    by_office: dict[str, str] = {}
    for a in manifest["assignments"]:
        by_office.setdefault(a["office_code"], a["inspector_id"])
    return (
        draw_id,
        int(year),
        [
            (f"{draw_id}|{s['office_code']}|{s['case_no']}", by_office[s["office_code"]])
            for s in manifest["sample"]
            if s["office_code"] in by_office
        ],
    )


def add_inspectors(db: Path, inspectors: set[str]) -> dict[str, str]:
    """One login per roster inspector: inspector id → username."""
    from access.opstore import OpStore, default_path
    from access.users import add_user, get_user

    ops = OpStore(default_path(db))
    names = {}
    for k, ins in enumerate(sorted(inspectors)):
        name = f"bench-ins-{k:03d}"
        if get_user(ops, name) is None:
            add_user(ops, username=name, role="inspector", password=PASSWORD, scope_code=ins, actor="bench")
        names[ins] = name
    return names


def enter(base: str, jar: dict, archive: str, inspector: str, rng: random.Random, top: list[int], day: str) -> float:
    body = appraisal_body(archive, [rng.randint(0, m) for m in top], day=day)
    start = time.perf_counter()
    got = post(base, jar[inspector], body)
    took = time.perf_counter() - start
    said = json.dumps(got["response"]["appraisal-result"]["children"], ensure_ascii=False)
    if "新增 1" not in said:
        raise RuntimeError(f"appraisal of {archive} not recorded: {said[:300]}")
    return took


def bare_inserts(ops_path: Path, draw_id: str, archives: list[str], folder: Path) -> list[float]:
    """The rows just entered, written again one by one into a copy of the operational store."""
    copy = folder / "bare-ops.sqlite"
    src = sqlite3.connect(ops_path)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA journal_mode=WAL")
    keys = {tuple(a.split("|", 2)[1:]) for a in archives}
    rows = [
        r
        for r in dst.execute("SELECT * FROM appraisals WHERE draw_id = ?", (draw_id,)).fetchall()
        if (r[1], r[2]) in keys
    ]
    marks = ",".join("?" * len(rows[0]))
    out = []
    for r in rows:
        start = time.perf_counter()
        dst.execute(f"INSERT OR REPLACE INTO appraisals VALUES ({marks})", r)
        dst.commit()
        out.append(time.perf_counter() - start)
    dst.close()
    return out


def page_bodies(year: int, office: str) -> list[tuple[str, dict]]:
    return [
        (f"overview {year} (nation)", route_body("/", year=year)),
        (f"office profile {year}", route_body(f"/office/{office}", year=year)),
        (f"overview {year - 1} (nation)", route_body("/", year=year - 1)),
        ("monitoring", route_body("/monitor", "?office=330000", year=year)),
        ("case explorer", cases_body(CASE_REQUEST)),
    ]


def rounds(
    base: str,
    cookies,
    pages: list[tuple[str, dict]],
    times: dict[str, list[float]],
    *,
    count: int | None = None,
    until: threading.Event | None = None,
) -> None:
    k = 0
    while (count is not None and k < count) or (until is not None and not until.is_set()):
        for name, body in pages:
            start = time.perf_counter()
            post(base, cookies, body)
            times[name].append(time.perf_counter() - start)
        k += 1


UPDATING = "正在计入"  # the page's note while newer appraisals are being counted (dashboard/i18n.py)


def until_fresh(base: str, cookies, pages: list[tuple[str, dict]], limit: float = 120.0) -> float:
    """Seconds until every page in `pages` shows figures that count every appraisal entered (its
    note no longer says newer ones are being counted), polling each in turn."""
    start = time.perf_counter()
    waiting = dict(pages)
    while waiting:
        for name, body in list(waiting.items()):
            if UPDATING not in json.dumps(post(base, cookies, body), ensure_ascii=False):
                del waiting[name]
        if time.perf_counter() - start > limit:
            return float("inf")
        if waiting:
            time.sleep(0.2)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--entries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--no-write", action="store_true", help="print only, do not append to RESULTS.md")
    args = ap.parse_args()
    got = run(cases=args.cases, entries=args.entries, quiet_rounds=args.rounds)
    print("\n".join(got["lines"]))
    if not args.no_write:
        write_results(got["lines"])


def run(*, cases: int, entries: int = 100, quiet_rounds: int = 20) -> dict:
    """The benchmark; its figures and the lines of its RESULTS.md section."""
    args = argparse.Namespace(cases=cases, entries=entries, rounds=quiet_rounds)
    exe = Path(sys.executable).parent / "ipdash"
    t0 = time.perf_counter()
    db = demo_store(f"ops-{args.cases}", args.cases)
    folder = db.parent
    print(f"{args.cases:,} cases built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ops_path = folder / "ipdash-ops.sqlite"
    draw_id, year, archives = entries_plan(ops_path)
    if len(archives) < args.entries + BURST:
        raise SystemExit(f"the demo draw has {len(archives)} archives; --entries must leave {BURST} for the burst")
    names = add_inspectors(db, {ins for _, ins in archives})
    rng = random.Random(7)
    top = maxima()
    day = f"{year + 1}-01-15"
    profile_office = archives[0][0].split("|")[1]
    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(
        [str(exe), "serve", "--db", str(db), "--port", str(port), "--workers", "2"],
        stderr=log,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1800:
            if server.poll() is not None:
                raise SystemExit("ipdash serve stopped:\n" + (folder / "server.log").read_text()[-2000:])
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/readyz", timeout=5, headers=CLOSE).status_code == 200:
                    break
            time.sleep(1)
        print(f"server ready after {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        jar = {ins: sign_in(base, name, PASSWORD) for ins, name in names.items()}
        leader = sign_in(base, "leader", "leader-demo-2024")

        first = archives[: args.entries]
        entry = [enter(base, jar, a, ins, rng, top, day) for a, ins in first]
        bare = bare_inserts(ops_path, draw_id, [a for a, _ in first], folder)
        print(f"entry p50 {pct(entry, 50):.1f} ms, bare p50 {pct(bare, 50):.2f} ms", file=sys.stderr)

        pages = page_bodies(year, profile_office)
        rounds(base, leader, pages, {name: [] for name, _ in pages}, count=1)  # fill the caches
        quiet: dict[str, list[float]] = {name: [] for name, _ in pages}
        rounds(base, leader, pages, quiet, count=args.rounds)
        busy: dict[str, list[float]] = {name: [] for name, _ in pages}
        burst_times: list[float] = []
        done = threading.Event()

        def burst() -> None:
            try:
                for a, ins in archives[args.entries : args.entries + BURST]:
                    burst_times.append(enter(base, jar, a, ins, rng, top, day))
            finally:
                done.set()

        writer = threading.Thread(target=burst)
        start = time.perf_counter()
        writer.start()
        rounds(base, leader, pages, busy, until=done)
        writer.join()
        burst_s = time.perf_counter() - start
        if len(burst_times) != BURST:
            raise RuntimeError("the burst of appraisals did not complete")
        # The figures of the plan's year after the last appraisal: how long until they count it.
        fresh_s = until_fresh(base, leader, [(n, b) for n, b in pages if str(year) in n])
    finally:
        server.terminate()
        server.wait(30)
        log.close()

    lines = [
        f"\n## Operational store — {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}",
        "",
        f"Demo store with {args.cases:,} cases; `ipdash serve --workers 2` on 127.0.0.1, a new connection per "
        "request (either worker answers); SQLite operational store (WAL). Entry: the inspection page's submit "
        "callback of one online appraisal, POSTed by the archive's inspector; bare: the same row by "
        "sqlite3 INSERT OR REPLACE + COMMIT into a copy of the operational store. Times in ms.",
        "",
        "| | n | p50 | p95 | bare p50 | bare p95 | p50 / bare p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| online appraisal entry | {len(entry)} | {pct(entry, 50):.1f} | {pct(entry, 95):.1f} | "
        f"{pct(bare, 50):.2f} | {pct(bare, 95):.2f} | {pct(entry, 50) / pct(bare, 50):,.0f}× |",
        f"| entry during the page rounds (burst of {BURST}) | {len(burst_times)} | {pct(burst_times, 50):.1f} | "
        f"{pct(burst_times, 95):.1f} | | | |",
        "",
        f"The national leader's pages, {args.rounds} rounds with no writes, then rounds for as long as the "
        f"burst of {BURST} appraisals of {year} lasted ({burst_s:.1f} s, {len(next(iter(busy.values())))} rounds):",
        "",
        "| page | no writes p50 | no writes p95 | during burst p50 | during burst p95 | p95 ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _ in page_bodies(year, profile_office):
        q, b = quiet[name], busy[name]
        lines.append(
            f"| {name} | {pct(q, 50):.1f} | {pct(q, 95):.1f} | {pct(b, 50):.1f} | {pct(b, 95):.1f} | "
            f"{pct(b, 95) / pct(q, 95):.2f}× |"
        )
    lines += [
        "",
        f"The pages of {year} showed figures counting every appraisal {fresh_s:.1f} s after the last one "
        "(polled every 0.2 s until no page said newer appraisals were being counted).",
        "",
        f"Pages of {year} depend on that year's appraisals: after an appraisal they are answered at once from "
        "the figures held, saying up to when those count appraisals, while one background thread per worker "
        "recomputes them (each page at most once every 2 s). The other pages keep their cache entries. No "
        "appraisal touches the analytic file.",
    ]
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "lines": lines,
        "entry_p50": pct(entry, 50),
        "entry_p95": pct(entry, 95),
        "bare_p50": pct(bare, 50),
        "burst_ratio": {name: pct(busy[name], 95) / pct(quiet[name], 95) for name, _ in pages},
        "quiet_p95": {name: pct(quiet[name], 95) for name, _ in pages},
        "busy_p95": {name: pct(busy[name], 95) for name, _ in pages},
        "fresh_s": fresh_s,
    }


if __name__ == "__main__":
    main()

"""Load test: simulated users signing in and clicking through the dashboard, against `ipdash serve`
on 127.0.0.1 only (a bounded script of our own; no traffic leaves the machine).

Builds the seeded demo store (default 1M cases), starts `ipdash serve --workers W`, waits for
/readyz, then runs --users simulated users for --seconds: each signs in (demo logins: national,
provincial and prefecture users) and loops over overview → a province → a prefecture → an office
profile → a case-explorer page → monitoring, with a random think time of 0.5–1.5 s between clicks.
Users are threads spread over several client processes, so the client is not the bottleneck.
Reports throughput and p50/p95/p99 per page and the error count to benchmarks/RESULTS.md.

    python benchmarks/load_test.py --cases 1000000 --users 50 --seconds 120 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing as mp
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dashboard_bench import CASE_REQUEST, free_port  # noqa: E402
from benchmarks.ingest_bench import demo_store, machine, write_results  # noqa: E402
from tests.dash_helpers import cases_body, login_http, route_body  # noqa: E402

USERS = [("leader", None), ("zhejiang", "330000"), ("hangzhou", "330100"), ("admin", None)]
PROVINCES = ["110000", "320000", "330000", "440000", "510000", "650000"]
PREFECTURES = {
    "110000": "110100",
    "320000": "320100",
    "330000": "330100",
    "440000": "440100",
    "510000": "510100",
    "650000": "650100",
}


def clicks(user: str, scope: str | None, rng: random.Random, year: int) -> list[tuple[str, dict]]:
    """One round of clicks for `user` in `year`: (page name, callback body)."""
    if scope == "330100":
        province, prefecture = "330000", "330100"
    elif scope == "330000":
        province, prefecture = "330000", rng.choice(["330100", "330200", "330300"])
    else:
        province = rng.choice(PROVINCES)
        prefecture = PREFECTURES[province]
    home = "/" if scope is None else f"/place/{scope}"
    return [
        ("overview", route_body(home, year=year)),
        ("drill: province", route_body(f"/place/{province}", year=year)),
        ("drill: prefecture", route_body(f"/place/{prefecture}", year=year)),
        ("office profile", route_body(f"/office/{prefecture}", year=year)),
        ("case explorer", cases_body(CASE_REQUEST)),
        ("monitoring", route_body("/monitor", f"?office={prefecture}", year=year)),
    ]


def user_loop(base: str, k: int, until: float, year: int, out: list) -> None:
    rng = random.Random(k)
    name, scope = USERS[k % len(USERS)]
    session = requests.Session()
    start = time.perf_counter()
    try:
        got = login_http(session, base, name, f"{name}-demo-2024", timeout=60)
        out.append(("login", time.perf_counter() - start, got.status_code == 302, time.time()))
    except requests.RequestException:
        out.append(("login", time.perf_counter() - start, False, time.time()))
        return
    while time.time() < until:
        for page, body in clicks(name, scope, rng, year):
            if time.time() >= until:
                return
            start = time.perf_counter()
            try:
                got = session.post(base + "/_dash-update-component", json=body, timeout=60)
                ok = got.status_code == 200 and b'"response"' in got.content
            except requests.RequestException:
                ok = False
            out.append((page, time.perf_counter() - start, ok, time.time()))
            time.sleep(rng.uniform(0.5, 1.5))


def client_process(base: str, first: int, count: int, until: float, ramp: float, year: int, queue) -> None:
    out: list = []
    threads = [threading.Thread(target=user_loop, args=(base, first + k, until, year, out)) for k in range(count)]
    for t in threads:  # users arrive over `ramp` seconds (locust's spawn rate)
        t.start()
        time.sleep(ramp / max(count, 1))
    for t in threads:
        t.join()
    queue.put(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--no-write", action="store_true", help="print the results, do not append them to RESULTS.md")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=2, help="client processes the users are spread over")
    ap.add_argument(
        "--ramp",
        type=float,
        default=25.0,
        help="seconds over which the users arrive (50 users over 25 s: 2 per second)",
    )
    ap.add_argument(
        "--warm",
        choices=["provinces", "prefectures"],
        default="prefectures",
        help="what each worker computes before it is ready (ipdash serve --warm)",
    )
    args = ap.parse_args()
    got = run(
        cases=args.cases,
        users=args.users,
        seconds=args.seconds,
        workers=args.workers,
        clients=args.clients,
        ramp=args.ramp,
        warm=args.warm,
    )
    if not args.no_write:
        write_results(got["lines"])
    print("\n".join(got["lines"]))


def run(
    *,
    cases: int,
    users: int,
    seconds: int,
    workers: int = 2,
    clients: int = 2,
    ramp: float = 25.0,
    warm: str = "prefectures",
) -> dict:
    """The load test; its figures (throughput, errors, each page's steady p95 in ms) and the lines
    of its RESULTS.md section."""
    args = argparse.Namespace(
        cases=cases, users=users, seconds=seconds, workers=workers, clients=clients, ramp=ramp, warm=warm
    )
    exe = Path(sys.executable).parent / "ipdash"
    db = demo_store(f"load-{args.cases}", args.cases)
    folder = db.parent
    # The year a browser sends: the year drop-down opens on the latest year of the data.
    with contextlib.closing(duckdb.connect(str(db), read_only=True)) as con:
        year = con.execute("SELECT max(year(accepted_date)) FROM cases").fetchone()[0]
    port = free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(
        [str(exe), "serve", "--db", str(db), "--port", str(port), "--workers", str(args.workers), "--warm", args.warm],
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1800:
            with contextlib.suppress(requests.RequestException):
                # every worker answers /readyz only once its own warm-up is done: ask a few times
                if requests.get(base + "/readyz", timeout=5).status_code == 200 and all(
                    requests.get(base + "/readyz", timeout=5).status_code == 200 for _ in range(8)
                ):
                    break
            time.sleep(1)
        ready_after = time.perf_counter() - t0
        print(f"server ready after {ready_after:.0f} s", file=sys.stderr)
        began = time.time()
        until = began + args.seconds
        queue = mp.get_context("spawn").Queue()
        per = [args.users // args.clients + (1 if k < args.users % args.clients else 0) for k in range(args.clients)]
        procs = []
        first = 0
        for count in per:
            p = mp.get_context("spawn").Process(
                target=client_process, args=(base, first, count, until, args.ramp, year, queue)
            )
            p.start()
            procs.append(p)
            first += count
        results = []
        for _ in procs:
            results += queue.get(timeout=args.seconds + 600)
        for p in procs:
            p.join(60)
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    steady_from = began + args.ramp + 5  # every user has signed in: the steady state
    total = len(results)
    errors = sum(1 for r in results if not r[2])
    lines = [
        f"\n## Load test — {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}",
        "",
        f"`ipdash serve --workers {args.workers} --warm {args.warm}` (gunicorn, gthread) on 127.0.0.1, demo store of "
        f"{args.cases:,} cases; {args.users} simulated users (threads in {args.clients} client processes on the "
        f"same machine) arriving over {args.ramp:.0f} s, signing in (Argon2id) and clicking through {year} (the latest "
        "year, on which the year drop-down opens) for "
        f"{args.seconds} s in all with 0.5–1.5 s think time. "
        f"{total:,} requests, {total / args.seconds:.1f} per second, {errors} errors. The server was ready "
        f"(every worker warmed) {ready_after:.0f} s after start.",
        "",
    ]
    for title, chosen in (
        (
            f"Steady state (from {args.ramp + 5:.0f} s, all users signed in)",
            [r for r in results if r[3] >= steady_from],
        ),
        ("Whole run, including the arrival of the users and their Argon2id sign-ins", results),
    ):
        pages: dict[str, list] = {}
        for page, seconds, ok, _ in chosen:
            pages.setdefault(page, []).append((seconds, ok))
        lines += [
            f"{title}:",
            "",
            "| page | requests | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for page, got in pages.items():
            ms = np.array([s for s, _ in got]) * 1000
            lines.append(
                f"| {page} | {len(got):,} | {np.percentile(ms, 50):.0f} | {np.percentile(ms, 95):.0f} | "
                f"{np.percentile(ms, 99):.0f} | {sum(1 for _, ok in got if not ok)} |"
            )
        lines.append("")
    lines += [
        "Target: every page's steady p95 under 500 ms, zero errors and at least 120 requests a second "
        "with 200 users on this 2-core machine (the client threads share its two cores with the server)."
    ]
    shutil.rmtree(folder, ignore_errors=True)
    steady = [r for r in results if r[3] >= steady_from]
    p95 = {}
    for page in {r[0] for r in steady} - {"login"}:
        p95[page] = float(np.percentile(np.array([r[1] for r in steady if r[0] == page]) * 1000, 95))
    return {"lines": lines, "rps": total / args.seconds, "errors": errors, "steady_p95": p95}


if __name__ == "__main__":
    main()

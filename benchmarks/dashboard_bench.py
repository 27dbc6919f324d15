"""Dashboard benchmark: each page's callback through the real HTTP endpoint, beside the bare DuckDB
queries behind the same view and a plain pandas-in-memory implementation of it, in the same run.

For each size, builds the seeded demo store, starts `ipdash serve` on 127.0.0.1 (which warms the
national overview in the background), signs in as the demo national leader with a real session and
times --calls POSTs of each page's router callback (`/_dash-update-component`), after one untimed
call that fills the cache (its time is reported as "first"). Beside it, in the same process run:

  bare     the DuckDB SQL that computes the same figures directly on one open connection: the
           headline counts of the place and the per-child aggregates of the ranking (drill-down
           pages), the office's and its peers' aggregates (profile), the open cases of the subtree
           with their deadline (monitor), one sorted page and the count (case explorer)
  pandas   the same figures from the cases held in memory as a pandas DataFrame (loaded once,
           untimed), with the same filters, group-bys and sorts

Reports p50 and p95 per page; targets (issue #5): every drill-down callback p95 under 100 ms at 5M
cases, no more than 25 ms above its bare queries, and at least 5x faster than pandas at 5M.

    python benchmarks/dashboard_bench.py --cases 1000000 5000000 [--calls 100]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_bench import machine, write_results  # noqa: E402
from tests.dash_helpers import cases_body, login_http, route_body  # noqa: E402

WORK = ROOT / "benchmarks" / "work"
YEAR = 2024
AS_OF = dt.date(YEAR, 12, 31)
PAGES = [  # name, path, search, kind, office
    ("overview (nation)", "/", "", "place", "100000"),
    ("drill: province", "/place/330000", "", "place", "330000"),
    ("drill: prefecture", "/place/330100", "", "place", "330100"),
    ("office profile", "/office/330100", "", "profile", "330100"),
    ("monitoring", "/monitor", "?office=330000", "monitor", "330000"),
    ("case explorer page", None, "", "cases", "330000"),
]
# A control changed on the overview (issue 20): its first call computes the new view (the cost a user
# waits for after the change), later calls read it from the cache.
CONTROL_CHANGES = [
    ("control: method z-score", "/", "", "place", "100000", {"method": "zscore"}),
    ("control: weights 0/25/25/25", "/", "", "place", "100000", {"weights": {"effort": 0}}),
    ("control: as-of 06-30", "/", "", "place", "100000", {"as_of": f"{YEAR}-06-30"}),
    ("control: peer configured, prefecture", "/place/330100", "", "place", "330100", {"peer": "configured"}),
]

AGG = """
  count(*) FILTER (WHERE year(c.accepted_date) = $y) AS accepted,
  count(*) FILTER (WHERE year(c.closed_date) = $y) AS closed,
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.closed_date <= c.accepted_date + INTERVAL 3 MONTH) AS on_time,
  count(*) FILTER (WHERE c.accepted_date <= $d AND (c.closed_date IS NULL OR c.closed_date > $d)) AS open_cases,
  count(*) FILTER (WHERE year(c.accepted_date) = $y AND c.case_kind = 'counterfeit') AS counterfeit,
  count(*) FILTER (WHERE year(c.accepted_date) = $y AND len(c.sectors) > 0) AS priority,
  count(*) FILTER (WHERE year(c.closed_date) = $y AND c.closing_type = 'mediated') AS mediated,
  median(c.closed_date - c.accepted_date - c.suspended_days) FILTER (WHERE year(c.closed_date) = $y) AS median_days
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.array(times) * 1000, q))


def timed(fn, calls: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return first, out


CASE_REQUEST = {
    "startRow": 0,
    "endRow": 100,
    "sortModel": [{"colId": "accepted_date", "sort": "desc"}],
    "filterModel": {"office_code": {"filterType": "text", "type": "startsWith", "filter": "33"}},
}


def http_call(session: requests.Session, base: str, body: dict):
    def call():
        got = session.post(base + "/_dash-update-component", json=body, timeout=300)
        if got.status_code != 200:
            raise RuntimeError(f"HTTP {got.status_code}: {got.text[:300]}")
        return got

    return call


def child_column(level: str) -> tuple[str, str]:
    """(grouping column, filter column) of the children of an office of `level`."""
    return {
        "national": ("o.province_code", None),
        "provincial": ("o.prefecture_code", "o.province_code"),
        "prefecture": ("o.office_code", "o.prefecture_code"),
    }[level]


def bare_call(con: duckdb.DuckDBPyConnection, kind: str, office: str, level: str):
    """The bare DuckDB queries of one view (see the module docstring)."""
    params = {"y": YEAR, "d": AS_OF, "o": office}
    prev = {"y": YEAR - 1, "d": AS_OF.replace(year=YEAR - 1), "o": office}
    where_subtree = "($o IN (o.office_code, o.prefecture_code, o.province_code) OR $o = '100000')"
    if kind == "place":
        group, flt = child_column(level)
        cond = f"WHERE {flt} = $o" if flt else ""

        def call():
            for p in (params, prev):
                con.execute(
                    f"SELECT {AGG} FROM cases c JOIN offices o USING (office_code) WHERE {where_subtree}", p
                ).fetchall()
            con.execute(
                f"SELECT {group}, {AGG} FROM cases c JOIN offices o USING (office_code) {cond} GROUP BY 1",
                params if flt else {"y": YEAR, "d": AS_OF},
            ).fetchall()

        return call
    if kind == "profile":

        def call():
            con.execute(
                f"SELECT o.office_code, {AGG} FROM cases c JOIN offices o USING (office_code) "
                "WHERE o.province_code = (SELECT province_code FROM offices WHERE office_code = $o) "
                "AND o.level = 'prefecture' GROUP BY 1",
                params,
            ).fetchall()

        return call
    if kind == "monitor":

        def call():
            con.execute(
                "SELECT c.office_code, c.case_no, c.accepted_date, "
                "c.accepted_date + INTERVAL 3 MONTH + to_days(c.suspended_days) AS deadline "
                f"FROM cases c JOIN offices o USING (office_code) WHERE {where_subtree} "
                "AND c.accepted_date <= $d AND (c.closed_date IS NULL OR c.closed_date > $d) "
                "ORDER BY deadline LIMIT 500",
                {"o": office, "d": AS_OF},
            ).fetchall()
            con.execute(
                f"SELECT count(*) FROM cases c JOIN offices o USING (office_code) WHERE {where_subtree} "
                "AND c.accepted_date <= $d AND (c.closed_date IS NULL OR c.closed_date > $d)",
                {"o": office, "d": AS_OF},
            ).fetchall()

        return call

    def call():  # cases
        con.execute(
            "SELECT c.office_code, o.name, c.case_no, c.case_kind, c.source, c.received_date, "
            "c.accepted_date, c.closed_date, c.closing_type, c.review_outcome FROM cases c JOIN offices o "
            "USING (office_code) WHERE starts_with(lower(c.office_code), '33') "
            "ORDER BY c.accepted_date DESC, c.office_code, c.case_no LIMIT 100"
        ).fetchall()
        con.execute("SELECT count(*) FROM cases c WHERE starts_with(lower(c.office_code), '33')").fetchall()

    return call


def load_pandas(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.sql(
        "SELECT c.office_code, c.case_no, c.case_kind, c.source, c.received_date, c.accepted_date, "
        "c.closed_date, c.closing_type, c.suspended_days, c.review_outcome, len(c.sectors) AS n_sectors, "
        "o.name, o.level, o.province_code, o.prefecture_code "
        "FROM cases c JOIN offices o USING (office_code)"
    ).df()


def pandas_agg(df: pd.DataFrame, year: int, as_of: dt.date) -> dict:
    acc = df["accepted_date"].dt.year == year
    clo = df["closed_date"].dt.year == year
    d = pd.Timestamp(as_of)
    return {
        "accepted": int(acc.sum()),
        "closed": int(clo.sum()),
        "on_time": int((clo & (df["closed_date"] <= df["accepted_date"] + pd.DateOffset(months=3))).sum()),
        "open": int(((df["accepted_date"] <= d) & (df["closed_date"].isna() | (df["closed_date"] > d))).sum()),
        "counterfeit": int((acc & (df["case_kind"] == "counterfeit")).sum()),
        "priority": int((acc & (df["n_sectors"] > 0)).sum()),
        "mediated": int((clo & (df["closing_type"] == "mediated")).sum()),
        "median_days": float((df["closed_date"] - df["accepted_date"])[clo].dt.days.median() or 0),
    }


def pandas_call(df: pd.DataFrame, kind: str, office: str, level: str):
    def subtree(frame: pd.DataFrame) -> pd.DataFrame:
        if office == "100000":
            return frame
        return frame[
            (frame["office_code"] == office) | (frame["prefecture_code"] == office) | (frame["province_code"] == office)
        ]

    if kind == "place":
        group = {"national": "province_code", "provincial": "prefecture_code", "prefecture": "office_code"}[level]
        flt = {"national": None, "provincial": "province_code", "prefecture": "prefecture_code"}[level]

        def call():
            mine = subtree(df)
            pandas_agg(mine, YEAR, AS_OF)
            pandas_agg(mine, YEAR - 1, AS_OF.replace(year=YEAR - 1))
            kids = df if flt is None else df[df[flt] == office]
            for _, part in kids.groupby(group):
                pandas_agg(part, YEAR, AS_OF)

        return call
    if kind == "profile":

        def call():
            prov = df.loc[df["prefecture_code"] == office, "province_code"].iloc[0]
            peers = df[(df["province_code"] == prov) & df["prefecture_code"].notna()]
            for _, part in peers.groupby("prefecture_code"):
                pandas_agg(part, YEAR, AS_OF)

        return call
    if kind == "monitor":

        def call():
            mine = subtree(df)
            d = pd.Timestamp(AS_OF)
            open_ = mine[(mine["accepted_date"] <= d) & (mine["closed_date"].isna() | (mine["closed_date"] > d))]
            deadline = open_["accepted_date"] + pd.DateOffset(months=3) + pd.to_timedelta(open_["suspended_days"], "D")
            open_.assign(deadline=deadline).sort_values("deadline").head(500)

        return call

    def call():  # cases
        part = df[df["office_code"].str.lower().str.startswith("33")]
        part.sort_values(["accepted_date", "office_code", "case_no"], ascending=[False, True, True]).head(100)
        len(part)

    return call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--no-write", action="store_true", help="print the results, do not append them to RESULTS.md")
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()
    exe = Path(sys.executable).parent / "ipdash"
    lines = [
        f"\n## Dashboard — {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}",
        "",
        f"Each page's router callback POSTed to `/_dash-update-component` on `ipdash serve` (127.0.0.1, one "
        f"process, timed once `/readyz` says the start-up warm-up is done) with a signed-in session; {args.calls} "
        "timed calls after one untimed first call (shown). "
        "Bare: the DuckDB queries of the same figures on one open connection. pandas: the same figures from "
        "the cases in memory. Times in ms.",
        "",
        "| cases | page | first call | HTTP p50 | HTTP p95 | bare p50 | bare p95 | p95 − bare p95 | pandas p50 | "
        "pandas p95 | pandas p95 / HTTP p95 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in args.cases:
        folder = WORK / f"dashboard-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        db = folder / "ipdash.duckdb"
        t0 = time.perf_counter()
        subprocess.run(
            [str(exe), "demo", "--db", str(db), "--cases", str(n), "--seed", "42", "--build-only", "--quiet"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"{n:,} cases built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        con = duckdb.connect(str(db), read_only=True)
        levels = dict(con.execute("SELECT office_code, level FROM offices").fetchall())
        t0 = time.perf_counter()
        df = load_pandas(con)
        print(f"pandas frame loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port = free_port()
        server = subprocess.Popen(
            [str(exe), "serve", "--db", str(db), "--port", str(port)],
            stderr=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                time.sleep(0.2)
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 1800:  # the national overview is computed at start (warm-up)
                with contextlib.suppress(requests.RequestException):
                    if requests.get(base + "/readyz", timeout=5).status_code == 200:
                        break
                time.sleep(1)
            print(f"server ready after {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            session = requests.Session()
            got = login_http(session, base, "leader", "leader-demo-2024")
            assert got.status_code == 302, got.text[:300]
            for name, path, search, kind, office, controls in [(*p, {}) for p in PAGES] + CONTROL_CHANGES:
                body = cases_body(CASE_REQUEST) if kind == "cases" else route_body(path, search, year=YEAR, **controls)
                first, http = timed(http_call(session, base, body), args.calls)
                _, bare = timed(bare_call(con, kind, office, levels[office]), args.calls)
                _, pand = timed(pandas_call(df, kind, office, levels[office]), min(args.calls, 20))
                row = (
                    f"| {n:,} | {name} | {first * 1000:.0f} | {pct(http, 50):.1f} | {pct(http, 95):.1f} | "
                    f"{pct(bare, 50):.1f} | {pct(bare, 95):.1f} | {pct(http, 95) - pct(bare, 95):+.1f} | "
                    f"{pct(pand, 50):.0f} | {pct(pand, 95):.0f} | {pct(pand, 95) / pct(http, 95):.1f}× |"
                )
                print(row, file=sys.stderr)
                lines.append(row)
        finally:
            server.terminate()
            server.wait(30)
            con.close()
        shutil.rmtree(folder, ignore_errors=True)
    lines += [
        "",
        "Targets at 5M: every drill-down callback (overview, province, prefecture) p95 under 100 ms, "
        "no more than 25 ms above its bare queries, at least 5× faster than pandas. pandas is timed over "
        f"{min(args.calls, 20)} calls. The first call of a page computes its ranking with the 1,000-run "
        "Monte Carlo; later calls read it from the cache (keyed by the data version).",
    ]
    if not args.no_write:
        write_results(lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

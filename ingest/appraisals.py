"""Appraisals go to the operational store: one transaction with their run record and audit entry.

The checks and the upsert are those of every other kind (ingest/apply.py), run in DuckDB on a
connection that reads the analytic store (cases, offices, inspectors) and holds the stored
appraisals and draw samples as temporary tables. The operational store's write lock is held from
reading what is stored to committing what changed, so two uploads of the same archive (from two
workers or hosts) are counted and applied one after the other, never interleaved. The DuckDB file
is not written: no copy, no republish, and the cached figures that do not read appraisals stay.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from access.opstore import bump
from ingest.apply import Counts
from queries.operational import _CAST, _RAW_SCHEMA, APPRAISALS, DRAW_SAMPLES, raw_frame
from queries.store import Store

_STORED = list(_RAW_SCHEMA)


def stage_operational(con: duckdb.DuckDBPyConnection, ocon, incoming: pl.DataFrame | None = None) -> None:
    """Temporary tables `appraisals` and `draw_samples` on `con` holding what `ocon` has stored.

    With `incoming` (the draw_id and office_code of the rows to apply), only what the checks and the
    comparison of those rows can read: the stored appraisals of their draws at their offices and the
    samples of their draws. An online entry of one archive then reads one draw's rows, not every
    appraisal on record."""
    where, samples_where, params, draws = "", "", [], []
    if incoming is not None:
        draws = sorted(set(incoming["draw_id"].drop_nulls().to_list()))
        offices = sorted(set(incoming["office_code"].drop_nulls().to_list()))
        marks = ", ".join("?" for _ in draws) or "NULL"
        where = f" WHERE draw_id IN ({marks}) AND office_code IN ({', '.join('?' for _ in offices) or 'NULL'})"
        samples_where = f" WHERE draw_id IN ({marks})"
        params = [*draws, *offices]
    stored = raw_frame(
        ocon.execute(f"SELECT {', '.join(_STORED)} FROM appraisals{where}", params).fetchall(), _RAW_SCHEMA
    )
    samples = raw_frame(
        ocon.execute(f"SELECT draw_id, office_code, case_no FROM draw_samples{samples_where}", draws).fetchall(),
        dict.fromkeys(DRAW_SAMPLES, pl.String),
    )
    con.register("_stored_appraisals", stored.to_arrow())
    cols = ", ".join(f"{_CAST.get(c, f'CAST({c} AS {t})')} AS {c}" for c, t in APPRAISALS.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE appraisals AS SELECT {cols} FROM _stored_appraisals")
    con.register("_stored_samples", samples.to_arrow())
    con.execute("CREATE OR REPLACE TEMP TABLE draw_samples AS SELECT * FROM _stored_samples")
    con.unregister("_stored_appraisals")
    con.unregister("_stored_samples")


def write_back(con: duckdb.DuckDBPyConnection, ocon, *, run_id: int, actor: str) -> tuple[set[int | None], list[dict]]:
    """Store the rows this run loaded or changed (they carry its run id); bump the versions of the
    years whose figures they change. Returns those closing years, and each changed result with its
    stored total before and after (for the audit log)."""
    changed = con.sql(f"""SELECT a.draw_id, a.office_code, a.case_no, a.inspector_id,
            CAST(to_json(a.scores) AS VARCHAR) AS scores, CAST(a.total AS VARCHAR) AS total,
            CAST(to_json(a.veto) AS VARCHAR) AS veto, a.grade, CAST(a.historical AS INTEGER) AS historical,
            a.checklist_version, strftime(a.inspected_at, '%Y-%m-%d') AS inspected_at,
            year(c.closed_date) AS closed_year, a.source_sha256, a.source_row, a.run_id
        FROM appraisals AS a LEFT JOIN cases AS c ON c.office_code = a.office_code AND c.case_no = a.case_no
        WHERE a.run_id = {int(run_id)}""").pl()
    if not changed.height:
        return set(), []
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    keys = changed.select("office_code", "case_no", "draw_id").rows()
    before = {}
    for office, case, draw in keys:
        got = ocon.execute(
            "SELECT closed_year, total, inspector_id FROM appraisals WHERE office_code = ? AND "
            "case_no = ? AND draw_id = ?",
            (office, case, draw),
        ).fetchone()
        if got is not None:
            before[(office, case, draw)] = dict(got)
    ocon.executemany(
        "DELETE FROM appraisals WHERE office_code = ? AND case_no = ? AND draw_id = ?", [k for k in keys if k in before]
    )
    ocon.executemany(
        f"INSERT INTO appraisals ({', '.join(_STORED)}, recorded_at, recorded_by) "
        f"VALUES ({', '.join('?' for _ in _STORED)}, ?, ?)",
        [(*r, now, actor) for r in changed.select(_STORED).rows()],
    )
    years = set(changed["closed_year"].to_list()) | {b["closed_year"] for b in before.values()}
    bump(ocon, "appraisals")
    for year in years:
        bump(ocon, f"appraisals:{year if year is not None else 'open'}")
    after = {(r["office_code"], r["case_no"], r["draw_id"]): r for r in changed.iter_rows(named=True)}
    changes = [
        {
            "office_code": k[0],
            "case_no": k[1],
            "draw_id": k[2],
            "total_before": b["total"],
            "total_after": after[k]["total"],
            "inspector_before": b["inspector_id"],
            "inspector_after": after[k]["inspector_id"],
        }
        for k, b in before.items()
    ]
    return years, changes


def record_run(
    ocon,
    *,
    run_id: int,
    started: dt.datetime,
    actor: str,
    contract_version: str,
    files: list[dict],
    counts: Counts,
    rejects_file: str | None,
    quarantine: pl.DataFrame | None,
) -> None:
    ocon.execute(
        "INSERT INTO appraisal_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            started.isoformat(timespec="seconds"),
            dt.datetime.now().isoformat(timespec="seconds"),
            actor,
            contract_version,
            json.dumps(files, ensure_ascii=False),
            counts.read,
            counts.loaded,
            counts.updated,
            counts.unchanged,
            counts.rejected,
            counts.duplicate_in_file,
            rejects_file,
        ),
    )
    if quarantine is not None and quarantine.height:
        cols = ["run_id", "file", "file_sha256", "sheet", "row_number", "column_name", "value", "reason", "raw", "cell"]
        ocon.executemany(
            f"INSERT INTO appraisal_quarantine ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            quarantine.select(cols).rows(),
        )


@contextlib.contextmanager
def session(store: Store, incoming: pl.DataFrame | None = None):
    """(DuckDB connection, operational write connection, next run id) for one appraisal ingest of
    `incoming` rows (their draw_id and office_code; None: stage everything stored)."""
    with store.ops.write() as ocon, contextlib.closing(store.reader(operational=False)) as con:
        stage_operational(con, ocon, incoming)
        # Above every run id on record, in the runs and in the rows: the rows this run writes are found
        # by it (write_back), so no stored row may carry it already.
        run_id = 1 + max(
            int(ocon.execute(f"SELECT coalesce(max(run_id), 0) AS n FROM {t}").fetchone()["n"])
            for t in ("appraisal_runs", "appraisals")
        )
        yield con, ocon, run_id


def publish_rejects(write: Callable[[Path], None], path: Path) -> Callable[[], None]:
    """Write the rejects file aside now; the returned call puts it in place once the run is committed
    (a run that fails leaves no rejects file describing rows that were never recorded)."""
    tmp = path.with_name(path.name + f".part-{os.getpid()}")
    write(tmp)

    def done() -> None:
        os.replace(tmp, path)

    return done

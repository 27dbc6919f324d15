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
from ingest.contract import default_contract
from queries.operational import _RAW_SCHEMA, DRAW_SAMPLES, raw_frame, typed_appraisals
from queries.statements import duck_sql, insert_sql, op_sql, where_in
from queries.store import Store

_STORED = list(_RAW_SCHEMA)


def draw_checklists(ops) -> dict[str, str]:
    """draw_id -> the checklist version of its plan (plans made before checklists were versioned:
    the shipped default's)."""
    return {r["draw_id"]: _checklist_of_spec(r["spec"]) for r in ops.read(op_sql("plans.draw_specs"))}


def draw_checklist(ops, draw_id: str) -> str | None:
    """The checklist version of one draw's plan (None: no such draw)."""
    got = ops.read(op_sql("plans.draw_spec"), (draw_id,))
    return _checklist_of_spec(got[0]["spec"]) if got else None


def _checklist_of_spec(spec: str) -> str:
    """A plan's checklist version, from its recorded specification (plans made before checklists
    were versioned: the shipped default's)."""
    return json.loads(spec).get("checklist", default_contract().checklist.version)


def stage_operational(con: duckdb.DuckDBPyConnection, ocon, incoming: pl.DataFrame | None = None) -> None:
    """Temporary tables `appraisals` and `draw_samples` on `con` holding what `ocon` has stored.

    With `incoming` (the draw_id and office_code of the rows to apply), only what the checks and the
    comparison of those rows can read: the stored appraisals of their draws at their offices and the
    samples of their draws. An online entry of one archive then reads one draw's rows, not every
    appraisal on record."""
    stored_sql, samples_sql = op_sql("appraisals.stored"), op_sql("plans.all_samples")
    params: list[str] = []
    draws: list[str] = []
    if incoming is not None:
        draws = sorted(set(incoming["draw_id"].drop_nulls().to_list()))
        offices = sorted(set(incoming["office_code"].drop_nulls().to_list()))
        stored_sql = where_in(stored_sql, {"draw_id": len(draws), "office_code": len(offices)})
        samples_sql = where_in(samples_sql, {"draw_id": len(draws)})
        params = [*draws, *offices]
    stored = raw_frame(ocon.execute(stored_sql, params).fetchall(), _RAW_SCHEMA)
    samples = raw_frame(ocon.execute(samples_sql, draws).fetchall(), dict.fromkeys(DRAW_SAMPLES, pl.String))
    con.register("_stored_appraisals", stored.to_arrow())
    con.execute(typed_appraisals("_stored_appraisals", "TABLE"))
    con.register("_stored_samples", samples.to_arrow())
    con.execute(duck_sql("inspection.draw_samples_table"))
    con.unregister("_stored_appraisals")
    con.unregister("_stored_samples")


def write_back(con: duckdb.DuckDBPyConnection, ocon, *, run_id: int, actor: str) -> tuple[set[int | None], list[dict]]:
    """Store the rows this run loaded or changed (they carry its run id); bump the versions of the
    years whose figures they change. Returns those closing years, and each changed result with its
    stored total before and after (for the audit log)."""
    changed = con.sql(duck_sql("inspection.appraisals_of_run"), params={"run": int(run_id)}).pl()
    if not changed.height:
        return set(), []
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    keys = changed.select("office_code", "case_no", "draw_id").rows()
    before = {}
    for office, case, draw in keys:
        got = ocon.execute(
            op_sql("appraisals.stored_one"),
            (office, case, draw),
        ).fetchone()
        if got is not None:
            before[(office, case, draw)] = dict(got)
    ocon.executemany(op_sql("appraisals.delete_one"), [k for k in keys if k in before])
    ocon.executemany(
        insert_sql("appraisals", [*_STORED, "recorded_at", "recorded_by"]),
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
        op_sql("appraisals.insert_run"),
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
            insert_sql("appraisal_quarantine", cols),
            quarantine.select(cols).rows(),
        )


@contextlib.contextmanager
def session(store: Store, incoming: pl.DataFrame | None = None):
    """(DuckDB connection, operational write connection, next run id) for one appraisal ingest of
    `incoming` rows (their draw_id and office_code; None: stage everything stored)."""
    with store.ops.write() as ocon, store.scratch() as con:
        stage_operational(con, ocon, incoming)
        # Above every run id on record, in the runs and in the rows: the rows this run writes are found
        # by it (write_back), so no stored row may carry it already.
        run_id = 1 + int(ocon.execute(op_sql("appraisals.last_run_id")).fetchone()["n"])
        yield con, ocon, run_id


def publish_rejects(write: Callable[[Path], None], path: Path) -> Callable[[], None]:
    """Write the rejects file aside now; the returned call puts it in place once the run is committed
    (a run that fails leaves no rejects file describing rows that were never recorded)."""
    tmp = path.with_name(path.name + f".part-{os.getpid()}")
    write(tmp)

    def done() -> None:
        os.replace(tmp, path)

    return done

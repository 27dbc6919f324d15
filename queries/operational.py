"""How the analytic side sees the operational records: appraisals and the samples of draws.

Appraisals are entered from the web (online or by an uploaded checklist) and from the command line
into the operational store, each in one transaction with its audit entry; the DuckDB file is never
copied or republished for them. Every DuckDB reader gets them as relations of the same names and
types the indicator, inspection and scope queries always read (`appraisals`, `draw_samples`):
the rows are read from the operational store into Arrow once per change of the store's
`appraisals`/`draws` versions (per process) and registered on the connection, under temporary views
that restore the column types.

What an appraisal changes is the quality figures of the year its case was closed in (the case
facts give appraisal columns only to cases closed in the assessment year). So besides the global
version, each write bumps `appraisals:<closed year>`, and results over the appraised case facts
are keyed on the version of their year only (`appraisal_version`): an appraisal of a 2024 case
leaves 2023's figures, the monitoring and the case explorer cached.

A process's first snapshot reads every appraisal; it keeps them as one Parquet file beside the
result cache, so that the next process to start (`ipdash report`, a worker) reads that file instead
of turning every row into Python objects. Later changes are merged in memory as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import polars as pl
from sqlglot import exp

from queries import result_cache, versions
from queries.statements import duck_sql, op_sql

# The relations' columns and DuckDB types (the scope and SQL checks declare them from here).
APPRAISALS = {
    "draw_id": "VARCHAR",
    "office_code": "VARCHAR",
    "case_no": "VARCHAR",
    "inspector_id": "VARCHAR",
    "scores": "MAP(VARCHAR, DECIMAL(6,2))",
    "total": "DECIMAL(6,2)",
    "veto": "VARCHAR[]",
    "grade": "VARCHAR",
    "historical": "BOOLEAN",
    "checklist_version": "VARCHAR",
    "inspected_at": "DATE",
    "closed_year": "INTEGER",
    "source_sha256": "VARCHAR",
    "source_row": "INTEGER",
    "run_id": "INTEGER",
    "notes": "MAP(VARCHAR, VARCHAR)",  # checklist item -> the inspector's note on its deduction
    "defects": "MAP(VARCHAR, INTEGER)",  # item scored by deduction -> the defects the inspector counted
}
DRAW_SAMPLES = {"draw_id": "VARCHAR", "office_code": "VARCHAR", "case_no": "VARCHAR"}
APPRAISAL_VERSIONS = {"year": "INTEGER", "version": "BIGINT"}
RELATIONS = {"appraisals": APPRAISALS, "draw_samples": DRAW_SAMPLES, "appraisal_versions": APPRAISAL_VERSIONS}

# Stored values kept as JSON text (the rest are cast straight to their DuckDB type).
_JSON = {"scores", "veto", "notes", "defects"}
_RAW_SCHEMA = {
    "draw_id": pl.String,
    "office_code": pl.String,
    "case_no": pl.String,
    "inspector_id": pl.String,
    "scores": pl.String,
    "total": pl.String,
    "veto": pl.String,
    "grade": pl.String,
    "historical": pl.Int64,
    "checklist_version": pl.String,
    "inspected_at": pl.String,
    "closed_year": pl.Int64,
    "source_sha256": pl.String,
    "source_row": pl.Int64,
    "run_id": pl.Int64,
    "notes": pl.String,
    "defects": pl.String,
}
WATCHED = ("appraisals", "draws")  # the version counters a snapshot depends on
MIRROR = "operational-appraisals-"  # the name of the file that keeps every appraisal (`Overlay.snapshot`)


@dataclass(frozen=True)
class Snapshot:
    """The operational records as of one set of version counters."""

    key: tuple[int, ...]
    appraisals: pl.DataFrame
    draw_samples: pl.DataFrame
    year_versions: pl.DataFrame

    @functools.cached_property
    def arrow(self) -> tuple[Any, Any, Any]:
        """The three relations as Arrow, converted once per snapshot (every reader registers them)."""
        newest = pl.CompatLevel.newest()
        return (
            self.appraisals.to_arrow(compat_level=newest),
            self.draw_samples.to_arrow(compat_level=newest),
            self.year_versions.to_arrow(compat_level=newest),
        )


def raw_frame(records: Iterable[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of the operational store (sqlite3.Row or psycopg dict rows) as a frame of `schema`,
    built column by column (a dict per row cost 0.6 s for 145,000 appraisals)."""
    records = list(records)
    return pl.DataFrame({k: [r[k] for r in records] for k in schema}, schema=schema)


def register(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> None:
    """Put the snapshot's relations on `con` (replacing earlier ones)."""
    appraisals, samples, years = snap.arrow
    con.register("_ops_appraisals", appraisals)
    con.execute(typed_appraisals("_ops_appraisals", "VIEW"))
    con.register("_ops_draw_samples", samples)
    con.execute(duck_sql("inspection.draw_samples_view"))
    con.register("appraisal_versions", years)


@functools.cache
def typed_appraisals(source: str, kind: str) -> str:
    """CREATE OR REPLACE TEMP <kind> appraisals: the rows of the registered relation `source` (the
    operational store's text values) with the DuckDB types of APPRAISALS, built as a syntax tree."""

    def typed(column: str, dtype: str) -> exp.Expr:
        value: exp.Expr = exp.column(column)
        if column in _JSON:
            value = exp.cast(value, "JSON")
        return exp.alias_(exp.cast(value, exp.DataType.build(dtype, dialect="duckdb")), column)

    body = exp.select(*(typed(c, t) for c, t in APPRAISALS.items())).from_(source)
    return exp.Create(
        this=exp.to_table("appraisals"),
        kind=kind,
        replace=True,
        expression=body,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    ).sql(dialect="duckdb")


def empty_snapshot() -> Snapshot:
    return Snapshot(
        (),
        raw_frame([], _RAW_SCHEMA),
        raw_frame([], dict.fromkeys(DRAW_SAMPLES, pl.String)),
        pl.DataFrame(schema={"year": pl.Int32, "version": pl.Int64}),
    )


class Overlay:
    """The operational records a store's readers see, read once per change (thread-safe).

    Args:
        ops: the operational store (`access.opstore.OpStore`: anything with `read` and `versions`).
    """

    def __init__(self, ops: Any) -> None:
        self.ops = ops
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()

    def key(self) -> tuple[int, ...]:
        """The watched version counters now (one small read of the operational store)."""
        got = self.ops.versions()
        return tuple(got.get(name, 0) for name in WATCHED)

    def snapshot(self, *, mirror: Callable[[], Path | None] | None = None) -> Snapshot:
        """The records as of now: the last snapshot while the counters have not moved.

        Args:
            mirror: gives the publish's result-cache directory (`result_cache.cache_dir`), asked
                only on the process's first read of every appraisal; beside that directory a
                process that reads every appraisal keeps them as Parquet, keyed by this operational
                store, its counter and its row count, and the next process (a command, a worker
                starting) reads that file instead of the operational store (0.1 s instead of 1.3 s
                and 400 MB of Python rows at 240,000 appraisals).
        """
        key = self.key()
        snap = self._snap
        if snap is not None and snap.key == key:
            return snap
        with self._lock:
            snap = self._snap
            if snap is not None and snap.key == key:
                return snap
            while True:  # the counters before and after the read agree: the rows are of that version
                all_versions = self.ops.versions()
                # a process's first read: the mirror's folder is looked up then only
                kept = self._mirror(mirror() if mirror else None, all_versions) if snap is None else None
                appraisals = self._appraisals(snap, all_versions, kept)
                samples = (
                    snap.draw_samples
                    if snap is not None and _same(snap, all_versions, "draws")
                    else raw_frame(
                        self.ops.read(op_sql("plans.all_samples")),
                        dict.fromkeys(DRAW_SAMPLES, pl.String),
                    )
                )
                after = self.ops.versions()
                if after == all_versions:
                    break
            if kept is not None and not kept.exists():  # read whole now, at a version that held still
                result_cache.keep_frame(kept, appraisals, replacing=f"{MIRROR}*.parquet")
            years = [
                (int(k.split(":", 1)[1]), v)
                for k, v in all_versions.items()
                if k.startswith("appraisals:") and k.split(":", 1)[1].isdigit()
            ]
            snap = Snapshot(
                tuple(after.get(name, 0) for name in WATCHED),
                appraisals,
                samples,
                pl.DataFrame(years, schema={"year": pl.Int32, "version": pl.Int64}, orient="row"),
            )
            self._snap = snap
            return snap

    def _mirror(self, where: Path | None, now: dict[str, int]) -> Path | None:
        """The file that keeps every appraisal as of the counter in `now` (None: no mirror): named by
        a digest of the operational store's identity, the counter and the number of rows, so that a
        store created anew (whose counters start again) never reads another store's rows."""
        identity = getattr(self.ops, "identity", None)
        if where is None or identity is None:
            return None
        stored = self.ops.read(op_sql("appraisals.count"))[0]["n"]
        body = json.dumps(
            {
                "store": identity,
                "appraisals": now.get("appraisals", 0),
                "rows": int(stored),
                "schema": list(_RAW_SCHEMA),
            }
        )
        return where.parent / f"{MIRROR}{hashlib.sha256(body.encode('utf-8')).hexdigest()}.parquet"

    def _appraisals(self, snap: Snapshot | None, now: dict[str, int], kept: Path | None = None) -> pl.DataFrame:
        """Every stored appraisal. After a change, only the rows of runs newer than the snapshot's are
        read and merged in: a run writes its rows with its run id, above every id on record, and the
        store's writes are serialised, so nothing older can appear later. When the merged count
        differs from the stored count (rows were removed), everything is read again: from the
        mirror file `kept` when a process already wrote it at this version."""
        if snap is not None and _same(snap, now, "appraisals"):
            return snap.appraisals
        if snap is None and kept is not None:
            frame = result_cache.kept_frame(kept)
            if frame is not None and frame.schema == pl.Schema(_RAW_SCHEMA):
                return frame
        if snap is not None and snap.appraisals.height:
            last = snap.appraisals["run_id"].max()
            if last is not None:
                new = raw_frame(
                    self.ops.read(op_sql("appraisals.stored_after_run"), (int(cast(int, last)),)),
                    _RAW_SCHEMA,
                )
                merged = _merge(snap.appraisals, new)
                stored = self.ops.read(op_sql("appraisals.count"))[0]["n"]
                if merged.height == int(stored):
                    return merged
        # Every appraisal, a batch of rows at a time: 240,000 rows held as Python objects at once
        # took 400 MB more than the frame they make.
        parts = [raw_frame(rows, _RAW_SCHEMA) for rows in self.ops.batches(op_sql("appraisals.stored_all"))]
        return pl.concat(parts) if parts else raw_frame([], _RAW_SCHEMA)


def _same(snap: Snapshot, now: dict[str, int], name: str) -> bool:
    return snap.key[WATCHED.index(name)] == now.get(name, 0)


_KEY = ["office_code", "case_no", "draw_id"]


def _merge(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """`old` with the rows of `new` added or put in place of those with the same key."""
    return pl.concat([old.join(new.select(_KEY), on=_KEY, how="anti"), new]).sort(_KEY)


def appraisal_version(con: duckdb.DuckDBPyConnection, year: int) -> int:
    """The version of the appraisals of cases closed in `year` that `con` sees, noted as a
    dependency of whatever is being computed (queries/versions.py)."""
    got = con.execute(duck_sql("inspection.appraisal_version"), {"y": int(year)}).fetchall()
    version = int(got[0][0] or 0) if got else 0
    versions.note(f"appraisals:{int(year)}", version)
    return version

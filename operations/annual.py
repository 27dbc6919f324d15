"""The annual assessment workbook, made the one way the command line (`ipdash report`), the
dashboard's report jobs and the scheduled deliveries all ask for it: the figures of the year, the
rectification notices as of a day, the points-table results, the publication time and the head of
the audit chain on its cover."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from access import audit
from inspection.assessment import for_workbook
from inspection.rectification import for_report
from metrics.config import Config
from metrics.ranking import TableOf
from metrics.schemes import default_scheme_path, load_scheme
from queries.statements import duck_sql
from queries.store import Store, scalar
from reports.data import ReportData, collect
from reports.workbook import Progress, stream_cases, write_workbook


def annual_workbook(
    store: Store,
    config: Config,
    out: str | Path,
    *,
    year: int,
    scope: str | None,
    lang: str = "zh",
    as_of: dt.date | None = None,
    notices_as_of: dt.date | None = None,
    runs: int | None = None,
    table_of: TableOf | None = None,
    with_cases: bool = False,
    progress: Progress | None = None,
    memory_limit: str | None = None,
) -> tuple[ReportData, dict]:
    """Write the workbook of `scope` (None: the nation) for `year` to `out`; return its figures and
    what was written (sheets, row counts). ReportError when the year or scope has nothing to show.

    Args:
        as_of: the day the year's figures are judged at (default its 31 December).
        notices_as_of: the day the rectification notices are judged overdue at (default today).
        runs: Monte Carlo runs (default the configuration's).
        table_of: a cache of indicator tables to reuse (the dashboard passes its own).
        with_cases: add every case of the year, streamed from DuckDB.
        memory_limit: cap DuckDB's memory (the command line caps it so that the national workbook
            at 5M cases stays under 500 MB in all).
    """
    ops = store.ops
    day = notices_as_of or dt.date.today()
    with contextlib.closing(store.reader(memory_limit=memory_limit)) as con:
        if progress:
            progress(0.05, "figures")
        data = collect(con, config, year=year, scope=scope, as_of=as_of, runs=runs, table_of=table_of)
        data.rectification_as_of = day
        data.rectifications = for_report(ops, con, year=year, scope=data.scope, as_of=day)
        data.assessment = for_workbook(
            ops, store, config, load_scheme(default_scheme_path()), year=year, scope=data.scope
        )
        if progress:
            progress(0.25, "writing")
        written = write_workbook(
            data,
            config,
            out,
            lang=lang,
            case_rows=stream_cases(con, scope_code=data.scope, year=year) if with_cases else None,
            progress=progress,
            published_at=scalar(con, duck_sql("meta.published_at")),
            audit_anchor=audit.anchor(ops),
        )
    return data, written

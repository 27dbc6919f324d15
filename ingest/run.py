"""One ingest run: read and check every file first, then apply them all in one published change.

Phase 1 reads and parses each file without touching the store, so a file that cannot be read
refuses the whole command before anything is copied or changed. Phase 2 applies the files in the
order given (a later file wins over an earlier one, SPEC §2.2) inside one `Store.writer()`, records
the run and its quarantine, and publishes atomically.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from tqdm import tqdm

from access import audit
from access.cells import csv_value
from ingest.apply import Counts, apply_rows
from ingest.appraisals import draw_checklists, publish_rejects, record_run, write_back
from ingest.appraisals import session as appraisal_session
from ingest.contract import KINDS, Contract, default_contract
from ingest.parse import ERROR_SCHEMA, META, Parsed, finish_appraisals, parse
from ingest.readers import Limits, RawTable, RefusedFile, read_any
from queries.statements import duck_sql
from queries.store import Store, scalar

CHUNK = 1_000_000
REJECTS_HEADER = ["文件 file", "工作表 sheet", "行 row", "列 column", "单元格 cell", "值 value", "原因 reason"]


@dataclass
class FileResult:
    path: str
    sha256: str
    format: str
    encoding: str | None
    sheets: list[str]
    skipped_sheets: list[str]
    ignored_columns: list[str]
    blank_rows: int
    counts: Counts = field(default_factory=Counts)
    not_filled: int = 0  # checklist rows whose scores, veto and date are all still empty
    hidden_sheets: list[str] = field(default_factory=list)
    hidden_columns: list[str] = field(default_factory=list)
    merged_fills: int = 0
    sheet_rows: dict[str, int] = field(default_factory=dict)
    separator: str | None = None
    rows_seen: int = 0  # every row under the header, blank and not-filled ones included

    def check(self) -> None:
        """What the reader saw reconciles with the summary: rows seen = read + blank + not filled,
        and read = loaded + updated + unchanged + rejected + duplicate_in_file. A mismatch is a
        bug, never bad input: refuse to publish a summary that lies."""
        c = self.counts
        accounted = c.loaded + c.updated + c.unchanged + c.rejected + c.duplicate_in_file
        if accounted != c.read or self.rows_seen != c.read + self.blank_rows + self.not_filled:
            raise AssertionError(
                f"{self.path}: saw {self.rows_seen} rows, read {c.read}, blank {self.blank_rows}, "
                f"not filled {self.not_filled}, accounted for {accounted}"
            )


@dataclass
class Summary:
    kind: str
    run_id: int
    counts: Counts
    files: list[FileResult]
    rejects_file: str | None

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            **self.counts.as_dict(),
            "rejects_file": self.rejects_file,
            "files": [
                {
                    "path": f.path,
                    "sha256": f.sha256,
                    "format": f.format,
                    "encoding": f.encoding,
                    "sheets": f.sheets,
                    "skipped_sheets": f.skipped_sheets,
                    "ignored_columns": f.ignored_columns,
                    "blank_rows": f.blank_rows,
                    "not_filled": f.not_filled,
                    "hidden_sheets": f.hidden_sheets,
                    "hidden_columns": f.hidden_columns,
                    "merged_fills": f.merged_fills,
                    "sheet_rows": f.sheet_rows,
                    "separator": f.separator,
                    "rows_seen": f.rows_seen,
                    **f.counts.as_dict(),
                }
                for f in self.files
            ],
            "not_filled": sum(f.not_filled for f in self.files),
            "merged_fills": sum(f.merged_fills for f in self.files),
        }


def _parse_in_chunks(
    table: RawTable, contract: Contract, kind: str, bar: tqdm, draws: dict[str, str] | None = None
) -> Parsed:
    spec = contract.kinds[kind]
    parts = []
    for start in range(0, max(table.frame.height, 1), CHUNK):
        parts.append(parse(table.frame.slice(start, CHUNK), spec, contract, table.cell_issues, draws))
        bar.update(min(CHUNK, table.frame.height - start))
    return Parsed(
        typed=pl.concat([p.typed for p in parts], how="vertical_relaxed"),
        errors=pl.concat([p.errors for p in parts]),
        rejected_rows=pl.concat([p.rejected_rows for p in parts]),
        blank_rows=sum(p.blank_rows for p in parts),
    )


def _quarantine_rows(table: RawTable, errors: pl.DataFrame, run_id: int, kind: str) -> pl.DataFrame:
    data_cols = [c for c in table.frame.columns if c not in META and c != "_extra"]
    raw = table.frame.select(*META, pl.struct(data_cols).struct.json_encode().alias("raw"))
    letters = pl.DataFrame(
        [{"_sheet": k[0], "column": k[1], "letter": v} for k, v in table.column_letters.items()],
        schema={"_sheet": pl.String, "column": pl.String, "letter": pl.String},
    )
    errors = errors.join(letters, on=["_sheet", "column"], how="left", nulls_equal=True)
    return (
        errors.join(raw, on=list(META), how="left", nulls_equal=True)
        .select(
            pl.lit(run_id).alias("run_id"),
            pl.lit(kind).alias("kind"),
            pl.lit(table.path).alias("file"),
            pl.lit(table.sha256).alias("file_sha256"),
            pl.col("_sheet").alias("sheet"),
            pl.col("_row").cast(pl.Int32).alias("row_number"),
            pl.when(pl.col("column") == "").then(None).otherwise(pl.col("column")).alias("column_name"),
            pl.col("value"),
            pl.col("reason"),
            pl.col("raw").fill_null("{}"),
            (pl.col("letter") + pl.col("_row")).alias("cell"),
        )
        .sort("row_number", "column_name", nulls_last=True)
    )


def _write_rejects(path: Path, quarantine: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(REJECTS_HEADER)
        for r in quarantine.select("file", "sheet", "row_number", "column_name", "cell", "value", "reason").iter_rows():
            w.writerow([csv_value(v) for v in r])
    tmp.replace(path)


@dataclass(frozen=True)
class Assignment:
    """What one inspector may record: their id and the (office_code, case_no) assigned to them.

    Given to `ingest` for an upload from the web, every other row is rejected with the reason."""

    inspector_id: str
    archives: frozenset[tuple[str, str]]


def _outside_assignment(frame: pl.DataFrame, only: Assignment) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows the inspector may record, errors for the others)."""
    from ingest.apply import _errors

    if not frame.height:
        return frame, pl.DataFrame(schema=ERROR_SCHEMA)
    pairs = pl.DataFrame(sorted(only.archives), schema=["office_code", "case_no"], orient="row")
    assigned = frame.select("office_code", "case_no").join(
        pairs.with_columns(pl.lit(True).alias("_ok")), on=["office_code", "case_no"], how="left"
    )["_ok"]
    not_assigned = assigned.is_null()
    other = frame["inspector_id"] != only.inspector_id
    errors = pl.concat(
        [
            _errors(frame.filter(not_assigned), "case_no", "该案卷未分配给您 / this archive is not assigned to you"),
            _errors(
                frame.filter(~not_assigned & other),
                "inspector_id",
                f"只能以本人身份（{only.inspector_id}）录入 / you may record only as {only.inspector_id}",
            ),
        ]
    )
    return frame.filter(~not_assigned & ~other), errors


def ingest(
    store: Store,
    kind: str,
    paths: list[str],
    *,
    progress: bool = True,
    contract: Contract | None = None,
    only: Assignment | None = None,
    wait: float = 0.0,
    actor: str = "cli",
    limits: Limits | None = None,
) -> Summary:
    """Ingest `paths` as `kind` into `store`; raise RefusedFile when a file cannot be read at all.

    Appraisals go to the operational store (ingest/appraisals.py), every other kind into a new
    published version of the analytic file.
    `only` (appraisals from the web): rows outside that inspector's assignment are rejected.
    `wait`: seconds to wait for another writer of the analytic file before refusing (the web
    waits; the CLI does not). `actor`: who is recorded in the audit log. `limits`: bounds on each
    file, checked before its rows are parsed (uploads from the web).

    A checklist row (appraisals) whose item scores, veto and date are all empty has not been filled
    in yet: it is counted as not filled, apart from the rows read, never as an error."""
    if kind not in KINDS:
        raise RefusedFile(f"unknown kind '{kind}'; use one of {', '.join(KINDS)}")
    contract = contract or default_contract()
    spec = contract.kinds[kind]
    tables: list[RawTable] = []
    unfilled: list[int] = []
    seen: list[int] = []
    for p in paths:
        table = read_any(p, spec, limits)
        seen.append(table.frame.height)
        if kind == "appraisals":
            table, n = _without_unfilled(table, contract)
            unfilled.append(n)
        tables.append(table)
    total = sum(t.frame.height for t in tables)
    started = dt.datetime.now()
    results: list[FileResult] = []
    with tqdm(
        total=total,
        desc=f"检查 checking {kind}",
        unit="row",
        file=sys.stderr,
        disable=not progress or total < 20_000,
        leave=False,
    ) as bar:
        # appraisals: each draw's archives are scored under its plan's checklist
        draws = draw_checklists(store.ops) if kind == "appraisals" else None
        parsed = [_parse_in_chunks(t, contract, kind, bar, draws) for t in tables]

    store.ensure()
    counts = Counts()
    quarantine: list[pl.DataFrame] = []
    operational = kind == "appraisals"
    finish = None
    incoming = pl.concat([p.typed.select("draw_id", "office_code") for p in parsed]) if operational else None
    with appraisal_session(store, incoming) if operational else _analytic_session(store, wait) as (con, ocon, run_id):
        for table, p in tqdm(
            list(zip(tables, parsed)),
            desc=f"写入 applying {kind}",
            unit="file",
            file=sys.stderr,
            disable=not progress or total < 20_000,
            leave=False,
        ):
            good = finish_appraisals(p.typed, contract) if kind == "appraisals" else p.typed
            refused = pl.DataFrame(schema=ERROR_SCHEMA)
            if only is not None and kind == "appraisals":
                good, refused = _outside_assignment(good, only)
            applied = apply_rows(
                con, kind=kind, frame=good, key=list(spec.key), sha=table.sha256, run_id=run_id, contract=contract
            )
            c = applied.counts
            c.read = p.typed.height + p.rejected_rows.height
            c.rejected += p.rejected_rows.height + refused.height
            result = FileResult(
                table.path,
                table.sha256,
                table.format,
                table.encoding,
                table.sheets,
                table.skipped_sheets,
                table.ignored_columns,
                p.blank_rows,
                c,
                unfilled[len(results)] if unfilled else 0,
                table.hidden_sheets,
                table.hidden_columns,
                table.merged_fills,
                table.sheet_rows,
                table.separator,
                seen[len(results)],
            )
            result.check()
            results.append(result)
            counts.add(c)
            errors = pl.concat([p.errors, refused, applied.errors])
            if errors.height:
                quarantine.append(_quarantine_rows(table, errors, run_id, kind))
        q = pl.concat(quarantine) if quarantine else None
        files = [{"path": r.path, "sha256": r.sha256, "format": r.format, "sheets": r.sheets} for r in results]
        rejects_file = None
        if operational:
            if q is not None:
                rejects_file = str(store.rejects_dir / f"appraisals-run-{run_id:05d}-rejects.csv")
                finish = publish_rejects(lambda path: _write_rejects(path, q), Path(rejects_file))
            years, changes = write_back(con, ocon, run_id=run_id, actor=actor)
            record_run(
                ocon,
                run_id=run_id,
                started=started,
                actor=actor,
                contract_version=contract.version,
                files=files,
                counts=counts,
                rejects_file=rejects_file,
                quarantine=q,
            )
            audit.append(
                ocon,
                actor=actor,
                action="ingest.appraisals",
                target=f"run {run_id}",
                detail={
                    **counts.as_dict(),
                    "files": [{"path": f["path"], "sha256": f["sha256"]} for f in files],
                    "years": sorted(str(y) for y in years),
                    "rejects_file": rejects_file,
                },
            )
            for change in changes:  # a changed result is on record as a change, each one
                audit.append(
                    ocon,
                    actor=actor,
                    action="appraisal.change",
                    target=f"{change['office_code']}/{change['case_no']}",
                    detail={**change, "run": run_id},
                )
        else:
            if q is not None:
                con.register("q", q)
                con.execute(duck_sql("ingest.insert_quarantine"))
                con.unregister("q")
                rejects_file = str(store.rejects_dir / f"run-{run_id:05d}-{kind}-rejects.csv")
            con.execute(
                duck_sql("ingest.insert_run"),
                {
                    "run": run_id,
                    "kind": kind,
                    "start": started,
                    "end": dt.datetime.now(),
                    "ver": contract.version,
                    "files": json.dumps(files, ensure_ascii=False),
                    "read": counts.read,
                    "loaded": counts.loaded,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "rejected": counts.rejected,
                    "dup": counts.duplicate_in_file,
                    "rejects": rejects_file,
                },
            )
            if q is not None and rejects_file:
                # Written aside now and put in place once the run is published (`finish`).
                finish = publish_rejects(lambda path: _write_rejects(path, q), Path(rejects_file))
    if finish is not None:
        finish()
    if not operational:
        # The analytic file and the operational store are two databases: the entry follows the publish
        # (should it fail, the error reaches the operator, who knows the data went in unaudited).
        audit.record(
            store.ops,
            actor=actor,
            action=f"ingest.{kind}",
            target=f"run {run_id}",
            detail={
                **counts.as_dict(),
                "files": [{"path": r.path, "sha256": r.sha256} for r in results],
                "rejects_file": rejects_file,
            },
        )
    return Summary(kind, run_id, counts, results, rejects_file)


def _without_unfilled(table: RawTable, contract: Contract) -> tuple[RawTable, int]:
    """The table without checklist rows nobody has filled in yet, and how many there were."""
    columns = [c for c in (*(i.id for i in contract.items), "veto", "inspected_at") if c in table.frame.columns]
    if not columns:
        return table, 0
    empty = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in columns])
    n = table.frame.select(empty.sum()).item()
    if not n:
        return table, 0
    table.frame = table.frame.filter(~empty)
    return table, int(n)


_REJECTS_NAME = re.compile(r"^run-(\d+)-[a-z]+-rejects\.csv(\.part-\d+)?$")


def _settle_rejects(folder: Path, published: set[int]) -> int:
    """Put the rejects files of runs that ended abnormally right, and return the highest run id any
    file names (so that no id is ever given twice, even one whose run was never published).

    A `.part-PID` file of a published run (killed between the publish and the rename) is put in
    place; one of a run that was never published is removed; a finished file of a run the store
    does not know (left by an older version killed mid-run) is marked `.orphaned.csv`."""
    highest = 0
    if not folder.is_dir():
        return highest
    for path in folder.iterdir():
        m = _REJECTS_NAME.match(path.name)
        if m is None:
            continue
        run_id = int(m.group(1))
        highest = max(highest, run_id)
        final = path.with_name(path.name.split(".csv", 1)[0] + ".csv")
        if m.group(2):
            if run_id in published:
                os.replace(path, final)
            else:
                path.unlink(missing_ok=True)
        elif run_id not in published:
            path.rename(path.with_name(path.name.removesuffix(".csv") + ".orphaned.csv"))
    return highest


@contextlib.contextmanager
def _analytic_session(store: Store, wait: float):
    """(connection to the new version, no operational connection, run id) inside one publish.

    The run id is past every id the store or the rejects folder has seen, so it is never reused."""
    with store.writer(wait=wait) as con:
        published = {int(r[0]) for r in con.execute(duck_sql("ingest.run_ids")).fetchall()}
        on_disk = _settle_rejects(store.rejects_dir, published)
        yield con, None, max(int(scalar(con, duck_sql("ingest.next_run_id"))), on_disk + 1)


def format_summary(s: Summary) -> str:
    """The readable summary a clerk sees after `ipdash ingest`."""
    c = s.counts
    lines = [
        f"导入 {s.kind} ingest run {s.run_id}:",
        f"  读取 read {c.read} = 新增 loaded {c.loaded} + 更新 updated {c.updated} + 未变 unchanged "
        f"{c.unchanged} + 拒收 rejected {c.rejected} + 文件内重复 duplicate_in_file {c.duplicate_in_file}",
    ]
    for f in s.files:
        extra = []
        if f.encoding:
            extra.append(f.encoding)
        if f.sheets:
            extra.append("sheets: " + ", ".join(f.sheets))
        if f.separator and f.separator != "comma":
            extra.append(f"separator: {f.separator}")
        if f.sheet_rows:
            extra.append("rows per sheet: " + ", ".join(f"{k} {v}" for k, v in f.sheet_rows.items()))
        if f.skipped_sheets:
            extra.append("skipped sheets without a header row: " + ", ".join(f.skipped_sheets))
        if f.hidden_sheets:
            extra.append("hidden sheets loaded: " + ", ".join(f.hidden_sheets))
        if f.hidden_columns:
            extra.append("hidden columns loaded: " + ", ".join(f.hidden_columns))
        if f.merged_fills:
            extra.append(f"merged cells filled from their range: {f.merged_fills}")
        if f.ignored_columns:
            extra.append("ignored columns: " + ", ".join(f.ignored_columns))
        if f.blank_rows:
            extra.append(f"blank rows ignored: {f.blank_rows}")
        if f.not_filled:
            extra.append(f"rows not filled in yet: {f.not_filled}")
        lines.append(
            f"  {f.path} [{f.format}{'; ' + '; '.join(extra) if extra else ''}]: read {f.counts.read}, "
            f"loaded {f.counts.loaded}, updated {f.counts.updated}, unchanged {f.counts.unchanged}, "
            f"rejected {f.counts.rejected}, duplicate {f.counts.duplicate_in_file}"
        )
    if s.rejects_file:
        lines.append(f"  拒收明细 rejects: {s.rejects_file}")
    return "\n".join(lines)

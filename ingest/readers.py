"""Read one input file into string columns with canonical names, or refuse it whole.

Every reader returns the cells as text exactly as the file holds them (typed parsing comes later,
in one place for every format), plus `_sheet` and `_row`: the sheet name and the row number a
clerk sees when opening the file (the line of a CSV, the Excel row of a sheet, the record number
of a Parquet file). Office codes look numeric, so nothing here ever lets a reader infer types.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest.contract import KindSpec, fold

HEADER_SCAN_ROWS = 20


class RefusedFile(ValueError):
    """The file cannot be read at all; it is refused whole and nothing is changed."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one file, checked before its rows are parsed (uploads from the web).

    max_rows: data rows per file; max_unpacked: bytes an XLSX may unpack to; max_ratio: how many
    times its compressed size one XLSX member may unpack to (a decompression bomb goes far past)."""

    max_rows: int = 5_000
    max_unpacked: int = 200 << 20
    max_ratio: int = 200


def _check_zip(path: Path, limits: Limits) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise RefusedFile(f"{path}: cannot be opened as an Excel workbook (damaged: {exc})") from exc
    total = sum(m.file_size for m in members)
    if total > limits.max_unpacked:
        raise RefusedFile(
            f"{path}: the workbook would unpack to {total >> 20} MB, more than the "
            f"{limits.max_unpacked >> 20} MB accepted; remove unused sheets or formatting"
        )
    for m in members:
        if m.file_size > 1 << 20 and m.file_size > limits.max_ratio * max(m.compress_size, 1):
            raise RefusedFile(
                f"{path}: part {m.filename} unpacks to {m.file_size >> 20} MB from "
                f"{m.compress_size >> 10} KB; such a file is refused as a possible decompression bomb"
            )


@dataclass
class RawTable:
    """The rows of one file (all sheets carrying the header), as text."""

    path: str
    sha256: str
    format: str
    frame: pl.DataFrame  # canonical columns + _sheet + _row, all strings
    sheets: list[str] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None
    column_letters: dict[tuple[str, str], str] = field(default_factory=dict)  # (sheet, column) -> "H"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _map_headers(raw: Sequence[object], spec: KindSpec, where: str) -> tuple[dict[int, str], list[str]]:
    """Map header cells to canonical columns. Unknown headers refuse the file."""
    mapping: dict[int, str] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for i, cell in enumerate(raw):
        text = "" if cell is None else str(cell)
        folded = fold(text)
        if not folded:
            continue
        name = spec.header_map.get(folded)
        if name is None:
            if folded in spec.ignored:
                ignored.append(text.strip())
            else:
                unknown.append(text.strip())
            continue
        if name in mapping.values():
            other = next(raw[j] for j, n in mapping.items() if n == name)
            raise RefusedFile(f"{where}: columns '{other}' and '{text.strip()}' both mean {name}; keep one")
        mapping[i] = name
    missing = [c.name for c in spec.columns if c.required and c.name not in mapping.values()]
    problems = []
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(repr(u) for u in unknown)} for {spec.kind}; rename them "
            "to an accepted header (ingest/contract.toml) or remove them"
        )
    if missing:
        problems.append(f"required column(s) missing for {spec.kind}: {', '.join(missing)}")
    if problems:
        raise RefusedFile(f"{where}: " + "; ".join(problems))
    return mapping, ignored


def _header_score(raw: Sequence[object], spec: KindSpec) -> int:
    return sum(1 for c in raw if c is not None and fold(str(c)) in spec.header_map)


def _gb18030(path: Path) -> bytes:
    try:
        return path.read_bytes().decode("gb18030").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedFile(
            f"{path}: the text is neither UTF-8 nor GB18030 (byte {exc.start}); save it as UTF-8 CSV"
        ) from exc


def _guess_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, from the first 64 KiB.

    A UTF-8 guess is confirmed by Polars, which validates every byte while reading; a file that
    turns out not to be UTF-8 further on is then read again as GB18030 (`read_csv`).
    """
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if b"\x00" in head:
        raise RefusedFile(f"{path}: not a text file (binary content); expected CSV, XLSX or Parquet")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def read_csv(path: Path, spec: KindSpec) -> RawTable:
    encoding = _guess_encoding(path)
    try:
        return _read_csv(path, spec, encoding)
    except _NotUtf8:
        return _read_csv(path, spec, "gb18030")


class _NotUtf8(Exception):
    """Polars met an invalid UTF-8 sequence after the first 64 KiB."""


def _read_csv(path: Path, spec: KindSpec, encoding: str) -> RawTable:
    if encoding == "gb18030":
        decoded = _gb18030(path)
        text_head = decoded[: 1 << 16].decode("utf-8", errors="ignore")
        data: bytes | Path = decoded
    else:
        data = path
        with open(path, encoding=encoding, errors="ignore") as fh:
            text_head = fh.read(1 << 16)
    if b"\x00" in text_head.encode():
        raise RefusedFile(f"{path}: not a text file (binary content); expected CSV, XLSX or Parquet")
    lines = text_head.splitlines()[:HEADER_SCAN_ROWS]
    delimiter = "\t" if lines and lines[0].count("\t") > lines[0].count(",") else ","
    parsed = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    if not parsed:
        raise RefusedFile(f"{path}: the file is empty")
    best = max(range(len(parsed)), key=lambda i: _header_score(parsed[i], spec))
    header = parsed[best]
    mapping, ignored = _map_headers(header, spec, str(path))

    def load(truncate: bool) -> pl.DataFrame:
        return pl.read_csv(
            data,
            has_header=False,
            skip_rows=best + 1,
            separator=delimiter,
            infer_schema=False,
            new_columns=[f"c{i}" for i in range(len(header))],
            encoding="utf8",
            truncate_ragged_lines=truncate,
        )

    extra: pl.Expr = pl.lit(None, dtype=pl.String)
    try:
        if len(text_head) < (1 << 16) and not any(line.strip(" ,\t") for line in text_head.splitlines()[best + 1 :]):
            frame = pl.DataFrame(schema={f"c{i}": pl.String for i in range(len(header))})  # header only
        else:
            frame = load(False)
    except pl.exceptions.ComputeError as exc:
        if "invalid utf-8" in str(exc) and encoding != "gb18030":
            raise _NotUtf8 from exc
        if "more fields" not in str(exc):
            raise RefusedFile(f"{path}: cannot be read as CSV ({str(exc).strip().splitlines()[0]})") from exc
        # Rows with more fields than the header (an unquoted comma, usually): read the rest and
        # mark those rows so they are quarantined, not truncated in silence.
        frame = load(True)
        text = data.decode("utf-8") if isinstance(data, bytes) else path.read_text(encoding=encoding)
        records = csv.reader(io.StringIO(text), delimiter=delimiter)
        ragged = [i for i, rec in enumerate(records) if i > best and len(rec) > len(header)]
        idx = pl.Series([i - best - 1 for i in ragged], dtype=pl.UInt32)
        extra = pl.when(pl.col("_idx").is_in(idx.implode())).then(
            pl.lit(
                f"该行字段数多于表头（{len(header)}列），可能含未加引号的逗号 / "
                f"the row has more fields than the header's {len(header)}; quote values that contain commas"
            )
        )
    except pl.exceptions.PolarsError as exc:
        raise RefusedFile(f"{path}: cannot be read as CSV ({str(exc).strip().splitlines()[0]})") from exc
    frame = frame.with_row_index("_idx").select(
        pl.lit(None, dtype=pl.String).alias("_sheet"),
        (pl.col("_idx") + best + 2).cast(pl.String).alias("_row"),
        extra.alias("_extra"),
        *[pl.col(f"c{i}").alias(name) for i, name in mapping.items()],
    )
    return RawTable(str(path), sha256_file(path), "csv", frame, ignored_columns=ignored, encoding=encoding)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def read_xlsx(path: Path, spec: KindSpec, limits: Limits | None = None) -> RawTable:
    import openpyxl  # imported here: CSV-only ingests should not pay for it

    if limits is not None:
        _check_zip(path, limits)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise RefusedFile(f"{path}: cannot be opened as an Excel workbook ({type(exc).__name__}: {exc})") from exc
    from openpyxl.utils import get_column_letter

    frames: list[pl.DataFrame] = []
    letters: dict[tuple[str, str], str] = {}
    sheets: list[str] = []
    skipped: list[str] = []
    ignored: list[str] = []
    first_problem: str | None = None
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            head: list[tuple] = []
            for row in it:
                head.append(row)
                if len(head) >= HEADER_SCAN_ROWS:
                    break
            if not head:
                skipped.append(ws.title)
                continue
            best = max(range(len(head)), key=lambda i: _header_score(list(head[i]), spec))
            if _header_score(list(head[best]), spec) == 0:
                skipped.append(ws.title)
                continue
            where = f"{path} sheet '{ws.title}' row {best + 1}"
            try:
                mapping, ign = _map_headers(list(head[best]), spec, where)
            except RefusedFile as exc:
                first_problem = first_problem or str(exc)
                skipped.append(ws.title)
                continue
            ignored += ign
            letters.update({(ws.title, name): get_column_letter(i + 1) for i, name in mapping.items()})
            columns: dict[str, list[str | None]] = {name: [] for name in mapping.values()}
            row_numbers: list[str] = []
            rownum = best + 1

            def take(row: tuple, rownum: int) -> None:
                row_numbers.append(str(rownum))
                for i, name in mapping.items():
                    columns[name].append(_cell_text(row[i]) if i < len(row) else None)

            for row in head[best + 1 :]:
                rownum += 1
                take(row, rownum)
            for row in it:
                rownum += 1
                take(row, rownum)
                if limits is not None and len(row_numbers) > limits.max_rows:
                    raise RefusedFile(
                        f"{path}: sheet '{ws.title}' has more than {limits.max_rows} rows, more than "
                        "an upload may hold; split it or load it with `ipdash ingest`"
                    )
            frames.append(
                pl.DataFrame(
                    {"_sheet": [ws.title] * len(row_numbers), "_row": row_numbers, **columns},
                    schema={"_sheet": pl.String, "_row": pl.String, **dict.fromkeys(columns, pl.String)},
                )
            )
            sheets.append(ws.title)
    except RefusedFile:
        raise
    except Exception as exc:
        raise RefusedFile(f"{path}: the workbook is damaged and cannot be read ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()
    if not frames:
        raise RefusedFile(first_problem or f"{path}: no sheet has a header row for {spec.kind}")
    frame = pl.concat(frames, how="diagonal")
    return RawTable(str(path), sha256_file(path), "xlsx", frame, sheets, skipped, ignored, column_letters=letters)


def read_parquet(path: Path, spec: KindSpec) -> RawTable:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise RefusedFile(f"{path}: cannot be read as Parquet ({type(exc).__name__}: {exc})") from exc
    mapping, ignored = _map_headers(list(frame.columns), spec, str(path))
    exprs = []
    for i, name in mapping.items():
        col = pl.col(frame.columns[i])
        dtype = frame.schema[frame.columns[i]]
        if isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.String)).list.join(";")
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            col = col.dt.to_string("%Y-%m-%d %H:%M:%S")
        elif dtype == pl.Boolean:
            col = col.cast(pl.String)
        else:
            col = col.cast(pl.String)
        exprs.append(col.alias(name))
    frame = frame.with_row_index("_idx").select(
        pl.lit(None, dtype=pl.String).alias("_sheet"),
        (pl.col("_idx") + 1).cast(pl.String).alias("_row"),
        *exprs,
    )
    return RawTable(str(path), sha256_file(path), "parquet", frame, ignored_columns=ignored)


def read_any(path: str | Path, spec: KindSpec, limits: Limits | None = None) -> RawTable:
    """Read `path` by its content (not its name): XLSX, Parquet or CSV text, within `limits` if given."""
    p = Path(path)
    if not p.is_file():
        raise RefusedFile(f"{p}: no such file")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    if not magic:
        raise RefusedFile(f"{p}: the file is empty")
    if magic == b"PK\x03\x04":
        table = read_xlsx(p, spec, limits)
    elif magic == b"PAR1":
        if limits is not None:
            raise RefusedFile(
                f"{p}: upload a checklist workbook (.xlsx) or CSV here; Parquet goes through `ipdash ingest`"
            )
        table = read_parquet(p, spec)
    else:
        table = read_csv(p, spec)
    if limits is not None and table.frame.height > limits.max_rows:
        raise RefusedFile(
            f"{p}: {table.frame.height} rows, more than the {limits.max_rows} an upload may hold; "
            "split it or load it with `ipdash ingest`"
        )
    return table

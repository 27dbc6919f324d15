"""Read one input file into string columns with canonical names, or refuse it whole.

Every reader returns the cells as text exactly as the file holds them (typed parsing comes later,
in one place for every format), plus `_sheet` and `_row`: the sheet name and the row number a
clerk sees when opening the file (the line of a CSV, the Excel row of a sheet, the record number
of a Parquet file). Office codes look numeric, so nothing here ever lets a reader infer types.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest.contract import KindSpec, fold
from ingest.workbook_reader import HEADER_SCAN_ROWS, SheetProblem, header_score, read_sheets

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003)
ISSUE_SCHEMA = {"_sheet": pl.String, "_row": pl.String, "column": pl.String, "value": pl.String, "reason": pl.String}


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
    hidden_sheets: list[str] = field(default_factory=list)
    hidden_columns: list[str] = field(default_factory=list)  # "sheet!header"
    merged_fills: int = 0  # cells of merged ranges given their range's value
    sheet_rows: dict[str, int] = field(default_factory=dict)  # data rows under each sheet's header
    cell_issues: pl.DataFrame | None = None  # reader-found cell problems (ISSUE_SCHEMA)
    separator: str | None = None


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


ENCODING_HINT = "save it as UTF-8 (Excel: Save As > CSV UTF-8)"
SEPARATORS = (",", "\t", ";", "|")


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of byte `pos`."""
    line_start = data.rfind(b"\n", 0, pos) + 1
    return data.count(b"\n", 0, pos) + 1, pos - line_start + 1


def _line_text(data: bytes, pos: int, encoding: str) -> str:
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return data[start : end if end >= 0 else len(data)].decode(encoding, errors="replace").strip()[:80]


def _is_utf8_text(prefix: bytes) -> bool:
    """Whether `prefix` is UTF-8 with Chinese in it (two or more CJK characters): evidence that a
    later invalid sequence is a line in another encoding, not a GB18030 file."""
    try:
        text = prefix.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 2


def _mixed(path: Path, data: bytes, pos: int) -> RefusedFile:
    line, col = _line_col(data, pos)
    return RefusedFile(
        f"{path}: line {line}, column {col}: the bytes there are not UTF-8 although the lines before are "
        f"(the line reads, as GB18030: '{_line_text(data, pos, 'gb18030')}'); the file mixes two encodings, "
        f"{ENCODING_HINT} and check that line"
    )


def _decode_whole(path: Path, data: bytes, encoding: str) -> bytes:
    """`data` decoded from `encoding` and given back as UTF-8, or a refusal naming line and column."""
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        what = "neither UTF-8 nor GB18030" if encoding == "gb18030" else f"not {encoding.upper()}"
        raise RefusedFile(
            f"{path}: line {line}, column {col}: the text is {what} there (bytes "
            f"{data[exc.start : exc.start + 4].hex(' ')}; the line reads '{_line_text(data, exc.start, encoding)}'); "
            f"{ENCODING_HINT}"
        ) from exc


def _guess_encoding(path: Path) -> str:
    """UTF-16 (with its BOM), UTF-8 (with or without BOM) or GB18030, from the first 64 KiB.

    A UTF-8 guess is confirmed by Polars, which validates every byte while reading; a file that
    turns out not to be UTF-8 further on is examined whole (`_not_utf8`).
    """
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise RefusedFile(f"{path}: not a text file (binary content); expected CSV, XLSX, XLS, ODS or Parquet")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        if _is_utf8_text(head[: exc.start]):
            raise _mixed(path, head, exc.start) from exc
        return "gb18030"
    return "utf-8"


def _not_utf8(path: Path) -> bytes:
    """The file that Polars found not to be UTF-8 past its first 64 KiB: mixed encodings are refused
    naming the line; a file with plain ASCII before the first bad byte is read as GB18030."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _is_utf8_text(data[: exc.start]):
            raise _mixed(path, data, exc.start) from exc
        return _decode_whole(path, data, "gb18030")
    return data


def read_csv(path: Path, spec: KindSpec) -> RawTable:
    encoding = _guess_encoding(path)
    try:
        return _read_csv(path, spec, encoding, None)
    except _NotUtf8:
        return _read_csv(path, spec, "gb18030", _not_utf8(path))


class _NotUtf8(Exception):
    """Polars met an invalid UTF-8 sequence after the first 64 KiB."""


def _header_line(lines: list[str], spec: KindSpec) -> tuple[int, str, list[str]]:
    """(index, separator, cells) of the line among `lines` that names the most known columns under
    one of the usual separators: the separator is sniffed from the header line itself, so a title
    line above it (without separators) does not decide."""
    best: tuple[int, int, str, list[str]] = (0, 0, ",", [])
    for sep in SEPARATORS:
        for i, cells in enumerate(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)):
            score = header_score(cells, spec)
            if score > best[0] or (score == best[0] and score and i < best[1]):
                best = (score, i, sep, cells)
    if best[0] == 0:
        first = next(csv.reader(io.StringIO(lines[0])), []) if lines else []
        return 0, ",", first
    return best[1], best[2], best[3]


def _read_csv(path: Path, spec: KindSpec, encoding: str, decoded: bytes | None) -> RawTable:
    data: bytes | Path
    if decoded is not None:
        data = decoded
    elif encoding in ("gb18030", "utf-16"):
        data = _decode_whole(path, path.read_bytes(), encoding)
    else:
        data = path
    if isinstance(data, bytes):
        text_head = data[: 1 << 16].decode("utf-8", errors="ignore")
    else:
        with open(path, encoding=encoding, errors="ignore") as fh:
            text_head = fh.read(1 << 16)
    if "\x00" in text_head:
        raise RefusedFile(f"{path}: not a text file (binary content); expected CSV, XLSX, XLS, ODS or Parquet")
    lines = text_head.splitlines()[:HEADER_SCAN_ROWS]
    if not any(line.strip() for line in lines):
        raise RefusedFile(f"{path}: the file is empty")
    best, delimiter, header = _header_line(lines, spec)
    mapping, ignored = _map_headers(header, spec, f"{path} line {best + 1}")

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
        if len(text_head) < (1 << 16) and not any(
            line.strip(" \t" + delimiter) for line in text_head.splitlines()[best + 1 :]
        ):
            frame = pl.DataFrame(schema={f"c{i}": pl.String for i in range(len(header))})  # header only
        else:
            frame = load(False)
    except pl.exceptions.ComputeError as exc:
        if "invalid utf-8" in str(exc) and encoding not in ("gb18030", "utf-16"):
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
                f"该行字段数多于表头（{len(header)}列），可能含未加引号的分隔符 / "
                f"the row has more fields than the header's {len(header)}; quote values that contain '{delimiter}'"
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
    return RawTable(
        str(path),
        sha256_file(path),
        "csv",
        frame,
        ignored_columns=ignored,
        encoding=encoding,
        separator={",": "comma", "\t": "tab", ";": "semicolon", "|": "bar"}[delimiter],
    )


def read_workbook(path: Path, spec: KindSpec, fmt: str, limits: Limits | None = None) -> RawTable:
    """An .xlsx, .xls or .ods workbook: every sheet carrying the header (ingest/workbook_reader.py)."""
    if limits is not None and fmt in ("xlsx", "ods"):
        _check_zip(path, limits)
    try:
        book = read_sheets(
            path,
            spec,
            fmt,
            max_rows=limits.max_rows if limits is not None else None,
            map_headers=lambda cells, where: _map_headers(cells, spec, where),
        )
    except SheetProblem as exc:
        raise RefusedFile(str(exc)) from exc
    if not book.frames:
        raise RefusedFile(
            f"{path}: no sheet has a header row for {spec.kind} in its first {HEADER_SCAN_ROWS} rows "
            f"(sheets: {', '.join(book.skipped) or 'none'})"
        )
    frame = pl.concat(book.frames, how="diagonal")
    issues = pl.DataFrame(book.issues, schema=list(ISSUE_SCHEMA), orient="row") if book.issues else None
    return RawTable(
        str(path),
        sha256_file(path),
        fmt,
        frame,
        book.sheets,
        book.skipped,
        book.ignored,
        column_letters=book.letters,
        hidden_sheets=book.hidden_sheets,
        hidden_columns=book.hidden_columns,
        merged_fills=book.merged_fills,
        sheet_rows=book.sheet_rows,
        cell_issues=issues,
    )


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


def _zip_kind(path: Path) -> str:
    """'ods' for an OpenDocument spreadsheet, 'xlsx' for any other zip package."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            if "mimetype" in z.namelist() and z.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
                return "ods"
    except (zipfile.BadZipFile, OSError) as exc:
        raise RefusedFile(f"{path}: cannot be opened as an Excel workbook (damaged: {exc})") from exc
    return "xlsx"


def read_any(path: str | Path, spec: KindSpec, limits: Limits | None = None) -> RawTable:
    """Read `path` by its content (not its name): XLSX, XLS, ODS, Parquet or CSV text, within
    `limits` if given."""
    p = Path(path)
    if p.is_dir():
        raise RefusedFile(f"{p}: is a folder; give the files in it")
    if not p.is_file():
        raise RefusedFile(f"{p}: no such file")
    with open(p, "rb") as fh:
        magic = fh.read(8)
    if not magic:
        raise RefusedFile(f"{p}: the file is empty")
    if magic.startswith(b"PK\x03\x04"):
        table = read_workbook(p, spec, _zip_kind(p), limits)
    elif magic == OLE2_MAGIC:
        table = read_workbook(p, spec, "xls", limits)
    elif magic.startswith(b"PAR1"):
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

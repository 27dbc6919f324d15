"""Read a workbook (.xlsx, .xls, .ods) the way a clerk made it: calamine for the cells, plus the few
facts calamine does not hand over, taken from the workbook's own parts.

Why calamine (python-calamine): it reads only the cells that hold data, so a sheet formatted down
to row 1,048,576 costs what its data costs (openpyxl walked every formatted row: 0.6 GB a sheet).
What it hides is read here, narrowly: an Excel error value (#N/A, #REF!) and a formula that has no
calculated value both arrive from calamine as an empty cell, and hidden columns are not reported.
For .xlsx those three come from one streamed pass over each sheet's XML part (`_scan_sheet_part`),
searched only where a chunk holds a formula or an error at all; hidden sheets and merged ranges
come from calamine itself.

What the reader guarantees (SPEC §2.5, nothing silently dropped or changed):
- the header row is found anywhere in the first `HEADER_SCAN_ROWS` rows, also below a group row
  merged across with sub-headers under it (single columns merged down over both rows);
- a sheet that carries the header but does not map (an unknown or a missing column) refuses the
  file naming the sheet; only sheets with no header at all are skipped, and they are named;
- merged data cells carry their value to every row and column they cover, and the fills are
  counted; hidden sheets and hidden columns are loaded and named;
- error values and formulas without a value reach the parser as cell problems, named by cell.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from ingest.contract import KindSpec, fold

HEADER_SCAN_ROWS = 50
FORMAT_NAMES = {"xlsx": "Excel workbook (.xlsx)", "xls": "Excel 97-2003 workbook (.xls)", "ods": "OpenDocument sheet"}
FORMULA_REASON = (
    "公式没有计算结果（多为程序生成的文件），请用Excel打开该文件并保存后重新导入 / the formula {} has no "
    "calculated value (a program-made file); open the file in Excel and save it, then ingest it again"
)
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_FORMULA = re.compile(rb"<f\b[^>]*?(?:/>|>([^<]*)</f>)")
_COL = re.compile(rb"<col\b[^>]*>")
_ATTR = re.compile(rb'\b(min|max|hidden)="([^"]*)"')


def column_index(letters: str) -> int:
    """Zero-based index of a column letter (A -> 0, AA -> 26)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def column_letter(index: int) -> str:
    """The column letter of a zero-based index (0 -> A, 26 -> AA)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class SheetParts:
    """What the XML part of one .xlsx sheet says that calamine does not."""

    hidden_columns: set[int] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row0, col0) -> '#N/A'
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row0, col0) -> '=SUM(…)' without value


def _sheet_part_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part inside the .xlsx package."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    return {
        s.get("name", ""): targets.get(s.get(_REL), "")
        for s in book.iterfind("m:sheets/m:sheet", _NS)
        if s.get(_REL) in targets
    }


def _cell_at(chunk: bytes, pos: int) -> tuple[tuple[int, int], bytes] | None:
    """The (row0, col0) and XML of the `<c>` element around byte `pos`."""
    start = chunk.rfind(b"<c ", 0, pos)
    end = chunk.find(b"</c>", pos)
    if start < 0 or end < 0:
        return None
    cell = chunk[start : end + 4]
    ref = _CELL_REF.search(cell)
    if ref is None:
        return None
    return (int(ref.group(2)) - 1, column_index(ref.group(1).decode())), cell


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )


def _scan_chunk(chunk: bytes, found: SheetParts) -> None:
    if b"<f" in chunk:
        for m in _FORMULA.finditer(chunk):
            at = _cell_at(chunk, m.start())
            if at is None:
                continue
            where, cell = at
            value = _VALUE.search(cell)
            if value is None or not value.group(1).strip():
                text = _unescape(m.group(1)) if m.group(1) else "(shared)"
                found.formulas[where] = "=" + text
    if b't="e"' in chunk:
        for m in re.finditer(rb'\bt="e"', chunk):
            at = _cell_at(chunk, m.start())
            if at is None:
                continue
            where, cell = at
            value = _VALUE.search(cell)
            found.errors[where] = _unescape(value.group(1)) if value else "#VALUE!"
            found.formulas.pop(where, None)


def _scan_sheet_part(zf: zipfile.ZipFile, name: str) -> SheetParts:
    """One streamed pass over a sheet's XML: hidden columns, error cells, formulas without a value.

    Memory is one chunk (4 MiB) plus the partial cell carried over to the next chunk."""
    found = SheetParts()
    tail = b""
    first = True
    with zf.open(name) as fh:
        while True:
            data = fh.read(1 << 22)
            if not data and not tail:
                break
            buf = tail + data
            if data:
                cut = buf.rfind(b"<c ")
                cut = len(buf) if cut <= 0 else cut
            else:
                cut = len(buf)
            chunk, tail = buf[:cut], buf[cut:]
            if first:
                head = chunk.split(b"<sheetData", 1)[0]
                for col in _COL.findall(head):
                    attrs = dict(_ATTR.findall(col))
                    if attrs.get(b"hidden") in (b"1", b"true"):
                        lo, hi = int(attrs.get(b"min", b"1")), int(attrs.get(b"max", b"1"))
                        found.hidden_columns.update(range(lo - 1, min(hi, 16_384)))
                first = False
            _scan_chunk(chunk, found)
            if not data:
                break
    return found


@dataclass
class SheetRead:
    """One sheet's rows as text, ready for the frame."""

    name: str
    frame: pl.DataFrame
    letters: dict[str, str]  # column -> letter
    hidden: bool
    hidden_columns: list[str]
    merged_fills: int
    issues: list[tuple[str, str, str, str, str]]  # sheet, row, column, value, reason


class SheetProblem(ValueError):
    """A sheet carries the header but cannot be mapped: the message names it."""


def header_score(cells: Sequence[object], spec: KindSpec) -> int:
    """How many of `cells` name a known column of `spec` (a header row of any format)."""
    return sum(1 for c in cells if c is not None and fold(str(c)) in spec.header_map)


def header_row(head: list[list[object]], spec: KindSpec) -> int:
    """The index of the row in `head` that names the most known columns (-1 when none does)."""
    best, score = -1, 0
    for i, row in enumerate(head):
        s = header_score(row, spec)
        if s > score:
            best, score = i, s
    return best if score >= min(2, len(spec.columns)) else -1


def combined_header(head: list[list[object]], at: int, spec: KindSpec) -> list[object]:
    """The header cells of row `at`; a sub-header unknown by itself is tried after its group's name
    (the row above, merged across), so `办理日期` over `收到` reads as `办理日期收到` if listed."""
    row = list(head[at])
    if at == 0:
        return row
    above = head[at - 1]
    for i, cell in enumerate(row):
        if cell in (None, "") or fold(str(cell)) in spec.header_map:
            continue
        group = above[i] if i < len(above) else None
        if group not in (None, "") and fold(f"{group}{cell}") in spec.header_map:
            row[i] = f"{group}{cell}"
    return row


def cell_text(value: object) -> str | None:
    """A calamine cell as the text a clerk sees: whole numbers without '.0', binary noise of a
    computed number removed (300.00000000000006 is 300), a date-time at midnight as its date."""
    import datetime as dt

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = round(value, 9)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _fill_merges(rows: list[list[object]], merges: list[tuple[int, int, int, int]], first_row: int) -> None:
    """Give every cell of a merged range in `rows` (row `first_row` onward) its top-left value."""
    for r0, r1, c0, c1 in merges:
        if r0 < first_row or r0 - first_row >= len(rows):
            continue
        top = rows[r0 - first_row]
        value = top[c0] if 0 <= c0 < len(top) else ""
        for r in range(r0, min(r1, first_row + len(rows) - 1) + 1):
            row = rows[r - first_row]
            for c in range(max(c0, 0), c1 + 1):
                if c < len(row) and row[c] in (None, ""):
                    row[c] = value


@dataclass
class WorkbookRead:
    frames: list[pl.DataFrame]
    letters: dict[tuple[str, str], str]
    sheets: list[str]
    skipped: list[str]
    hidden_sheets: list[str]
    hidden_columns: list[str]
    ignored: list[str]
    merged_fills: int
    sheet_rows: dict[str, int]
    issues: list[tuple[str, str, str, str, str]]


def read_sheets(path: Path, spec: KindSpec, fmt: str, *, max_rows: int | None, map_headers) -> WorkbookRead:
    """Every sheet of the workbook at `path` that carries the header of `spec`, as text frames.

    `map_headers(cells, where)` maps header cells to columns or raises RefusedFile; `max_rows`
    bounds the data rows of one sheet (uploads). Raises `SheetProblem` or the mapper's refusal."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise SheetProblem(
            f"{path}: cannot be opened as an {FORMAT_NAMES[fmt]} (damaged or protected: {str(exc)[:200]})"
        ) from exc
    zf = zipfile.ZipFile(path) if fmt == "xlsx" else None
    out = WorkbookRead([], {}, [], [], [], [], [], 0, {}, [])
    try:
        part_names = _sheet_part_names(zf) if zf is not None else {}
        for meta in wb.sheets_metadata:
            if meta.typ != SheetTypeEnum.WorkSheet:
                out.skipped.append(meta.name)
                continue
            hidden = meta.visible != SheetVisibleEnum.Visible
            try:
                part = part_names.get(meta.name)
                parts = _scan_sheet_part(zf, part) if zf is not None and part else SheetParts()
                read = _read_sheet(wb.get_sheet_by_name(meta.name), parts, spec, path, max_rows, map_headers)
            except (CalamineError, zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
                raise SheetProblem(
                    f"{path}: sheet '{meta.name}' is damaged and cannot be read ({str(exc)[:200]}); open the "
                    "file in Excel, save it again and ingest it again"
                ) from exc
            if read is None:
                out.skipped.append(meta.name)
                continue
            out.frames.append(read.frame)
            out.sheets.append(meta.name)
            out.sheet_rows[meta.name] = read.frame.height
            out.letters.update({(meta.name, c): letter for c, letter in read.letters.items()})
            if hidden:
                out.hidden_sheets.append(meta.name)
            out.hidden_columns += [f"{meta.name}!{h}" for h in read.hidden_columns]
            out.merged_fills += read.merged_fills
            out.issues += read.issues
            out.ignored += [c for c in read.ignored if c not in out.ignored]
    finally:
        if zf is not None:
            zf.close()
        wb.close()
    return out


@dataclass
class _Sheet:
    frame: pl.DataFrame
    letters: dict[str, str]
    hidden_columns: list[str]
    merged_fills: int
    issues: list[tuple[str, str, str, str, str]]
    ignored: list[str]


def _read_sheet(
    sheet, parts: SheetParts, spec: KindSpec, path: Path, max_rows: int | None, map_headers
) -> _Sheet | None:
    name = sheet.name
    col0 = sheet.start[1] if sheet.start else 0
    merges = sorted((r0, r1, c0 - col0, c1 - col0) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or []))
    rows = iter(sheet.iter_rows())

    def with_errors(r: int, row: list[object]) -> list[object]:
        for (er, ec), text in parts.errors.items():
            if er == r and 0 <= ec - col0 < len(row):
                row[ec - col0] = text
        return row

    errors_by_row = {r for r, _ in parts.errors}
    head: list[list[object]] = []
    for r, row in enumerate(rows):
        head.append(with_errors(r, list(row)) if r in errors_by_row else list(row))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    titled = [list(row) for row in head]  # merged title and group cells filled, for finding the header
    _fill_merges(titled, merges, 0)
    at = header_row(titled, spec)
    if at < 0:
        return None
    where = f"{path} sheet '{name}' row {at + 1}"
    mapping, ignored = map_headers(combined_header(titled, at, spec), where)
    letters = {col: column_letter(col0 + i) for i, col in mapping.items()}
    header_cells = titled[at]
    hidden_columns = [
        str(header_cells[i]).strip()
        for i in range(len(header_cells))
        if col0 + i in parts.hidden_columns and header_cells[i] not in (None, "")
    ]
    columns: dict[str, list[str | None]] = {c: [] for c in mapping.values()}
    row_numbers: list[str] = []
    fills = 0
    issues: list[tuple[str, str, str, str, str]] = []
    # Merges that reach below the header row, keyed by their top row; the top row's cells are read
    # when that row arrives, then carried down while the merge lasts.
    pending = [m for m in merges if m[1] > at]
    active: list[tuple[int, int, int, int, object]] = []
    width = max(mapping) + 1 if mapping else 0

    def take(r: int, row: list[object]) -> None:
        nonlocal fills
        if r in errors_by_row:
            row = with_errors(r, row)
        while pending and pending[0][0] <= r:
            r0, r1, c0, c1 = pending.pop(0)
            source = head[r0] if r0 < len(head) else row
            value = source[c0] if 0 <= c0 < len(source) else ""
            active.append((r0, r1, c0, c1, value))
        if active:
            row = list(row) + [""] * max(0, width - len(row))
            for r0, r1, c0, c1, value in active:
                if r0 <= r <= r1 and value not in (None, ""):
                    for c in range(max(c0, 0), c1 + 1):
                        if c < len(row) and row[c] in (None, ""):
                            row[c] = value
                            fills += c in mapping
            active[:] = [m for m in active if m[1] > r]
        row_numbers.append(str(r + 1))
        if max_rows is not None and len(row_numbers) > max_rows:
            raise SheetProblem(
                f"{path}: sheet '{name}' has more than {max_rows} rows, more than an upload may hold; "
                "split it or load it with `ipdash ingest`"
            )
        for i, col in mapping.items():
            columns[col].append(cell_text(row[i]) if i < len(row) else None)
            formula = parts.formulas.get((r, col0 + i)) if parts.formulas else None
            if formula is not None:
                issues.append((name, str(r + 1), col, formula, FORMULA_REASON.format(formula)))

    for r in range(at + 1, len(head)):
        take(r, list(head[r]))
    for r, row in enumerate(rows, start=len(head)):
        take(r, list(row))
    frame = pl.DataFrame(
        {"_sheet": [name] * len(row_numbers), "_row": row_numbers, **columns},
        schema={"_sheet": pl.String, "_row": pl.String, **dict.fromkeys(columns, pl.String)},
    )
    return _Sheet(frame, letters, hidden_columns, fills, issues, ignored)

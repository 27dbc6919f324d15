"""Write-only sheets for the annual workbook: typed columns, formats, widths, freeze panes, print
setup, and values defused against formula injection."""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from openpyxl import LXML, Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.xml.functions import XML_NS, Element, SubElement

from access.cells import as_text, formula_like

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="12355B")
TOP_FILL = PatternFill("solid", fgColor="C6EFCE")
BOTTOM_FILL = PatternFill("solid", fgColor="FFC7CE")

PERCENT = "0.0%"
SCORE = "0.0"
COUNT = "#,##0"
DECIMAL = "#,##0.00"
DATE = "yyyy-mm-dd"  # openpyxl's own format for a date value
ONE_PAGE_ROWS = 40  # rows a sheet may scale down to fit on one printed page
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's (1900) date system
EXCEL_DAY_NUMBERS_FROM = dt.date(1900, 3, 1)  # before it, Excel's 1900 leap-year bug shifts the count


_MAX_TEXT = 32767  # openpyxl cuts longer text to this; such text takes openpyxl's path
_XML_SPACE = f"{{{XML_NS}}}space"


class Styled:
    """A value with its own number format, where a column holds several kinds of figure (a table
    whose rows are indicators: counts, rates and scores in one column)."""

    __slots__ = ("value", "number_format")

    def __init__(self, value: float, number_format: str) -> None:
        self.value, self.number_format = value, number_format


def display_width(value: object) -> int:
    """Characters as Excel shows them: CJK characters are two columns wide."""
    value = value.value if isinstance(value, Styled) else value
    text = "" if value is None else (f"{value:,.2f}" if isinstance(value, float) else str(value))
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _values_to_row(ws, values: Sequence[object], row_idx: int) -> Iterator[Cell]:
    """openpyxl 3.1's WriteOnlyWorksheet._values_to_row without its exception per styled cell.

    openpyxl finds out that a value is already a cell by assigning it as a value and catching the
    ValueError, whose message formats the cell's repr: a third of the time of writing a styled cell.
    This asks directly and writes the same XML (tests/unit/test_report.py compares the two byte for byte).
    """
    cell = None
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if isinstance(value, Cell):
            value.column, value.row = col_idx, row_idx
            yield value
            continue
        if cell is None:
            cell = WriteOnlyCell(ws)
        cell.value = value
        cell.column, cell.row = col_idx, row_idx
        yield cell
        if cell.has_style:  # openpyxl gave a date its format: the next value needs a fresh cell
            cell = None


class _Plain(list):
    """A row of plain values (text, finite int and float) that `_row_element` writes as XML itself."""

    __slots__ = ()


def _row_element(
    ws: Any, values: _Plain, row_idx: int, letters: Sequence[str], style: Callable[[int], str | None]
) -> Any:
    """The <row> element openpyxl's lxml writer writes for `values` (tests/unit/test_report.py compares
    the bytes): inline text, numbers as "%.16g" with `style(j)`, the style id of column j's format.
    Built as one element tree and written once, instead of a cell object, two attribute lookups
    and three nested writer contexts per value (half of the workbook's time at 5M cases)."""
    attrs = {"r": f"{row_idx}"}
    attrs.update(ws.row_dimensions.get(row_idx, {}))
    row = Element("row", attrs)
    for j, v in enumerate(values):
        if v is None:
            continue
        if type(v) is str:
            c = SubElement(row, "c", {"r": f"{letters[j]}{row_idx}", "t": "inlineStr"})
            t = SubElement(SubElement(c, "is"), "t", {} if v == v.strip() else {_XML_SPACE: "preserve"})
            t.text = v
        else:
            attrs = {"r": f"{letters[j]}{row_idx}"}
            sid = style(j)
            if sid is not None:
                attrs["s"] = sid
            attrs["t"] = "n"
            SubElement(SubElement(row, "c", attrs), "v").text = f"{v:.16g}"  # openpyxl's safe_string
    return row


def _is_plain(v: object) -> bool:
    """A value `_row_element` writes exactly as openpyxl would; anything else takes openpyxl's path."""
    if type(v) is str:
        return (
            len(v) <= _MAX_TEXT
            and not formula_like(v)  # defused on openpyxl's path (access/cells.py)
            and v not in ERROR_CODES
            and ILLEGAL_CHARACTERS_RE.search(v) is None
        )
    return v is None or type(v) is int or (type(v) is float and math.isfinite(v))


class Sheet:
    """A write-only sheet with typed columns: header row, formats, widths, freeze, print setup."""

    def __init__(
        self,
        wb: Workbook,
        title: str,
        columns: Sequence[tuple[str, str | None]],
        rows: Sequence[Sequence[object]] | None = None,
        *,
        landscape: bool = True,
    ) -> None:
        self.ws = wb.create_sheet(title)
        self._fast = LXML and hasattr(self.ws, "_values_to_row") and hasattr(self.ws, "_get_writer")
        if hasattr(self.ws, "_values_to_row"):
            ws = self.ws
            # a row of plain values passes as it is, to be written by `_row_element`
            ws._values_to_row = lambda values, row_idx: (
                values if isinstance(values, _Plain) else _values_to_row(ws, values, row_idx)
            )
        self.columns = columns
        self.n = 0
        self._formatted: list[WriteOnlyCell | None] = []  # per column: its styled cell, if formatted
        for _, fmt in columns:
            cell = None
            if fmt:
                cell = WriteOnlyCell(self.ws)
                cell.number_format = fmt
            self._formatted.append(cell)
        self._dates = [fmt == DATE for _, fmt in columns]
        self._text: list[WriteOnlyCell | None] = [None] * len(columns)
        widths = [display_width(h) for h, _ in columns]
        for row in (rows or [])[:2000]:
            for j, v in enumerate(row):
                widths[j] = max(widths[j], display_width(v))
        for j, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        self.ws.freeze_panes = "A2"
        self.ws.print_title_rows = "1:1"
        self.ws.page_setup.orientation = "landscape" if landscape else "portrait"
        self.ws.page_setup.paperSize = "9"  # A4
        self.ws.page_setup.fitToWidth = 1
        # A short table (the provinces, say) prints on one page rather than leaving its last rows
        # alone on a second one; a long one runs over as many pages as it needs, one page wide.
        self.ws.page_setup.fitToHeight = 1 if rows is not None and len(rows) <= ONE_PAGE_ROWS else 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        header = []
        for h, _ in columns:
            c = WriteOnlyCell(self.ws, value=h)
            c.font, c.fill = HEADER_FONT, HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="center")
            header.append(c)
        self.ws.append(header)
        if self._fast:  # the writer exists now: rows of plain values go to it as one element each
            self._letters = [get_column_letter(j) for j in range(1, len(columns) + 1)]
            self._styles: list[str | None] = [None] * len(columns)  # style ids, registered at first use
            writer = self.ws._writer
            write_row = writer.write_row

            def write(xf: Any, row: Any, row_idx: int) -> None:
                if isinstance(row, _Plain):
                    xf.write(_row_element(self.ws, row, row_idx, self._letters, self._style))
                else:
                    write_row(xf, row, row_idx)

            writer.write_row = write
        for row in rows or []:
            self.append(row)

    def append(self, row: Sequence[object]) -> None:
        """One row. Plain values go in as they are. A number or a date in a formatted column, and
        text that could be read as a formula, go through the column's own styled cell, reused from
        row to row (openpyxl writes a row out as soon as it is appended), so a style is set once per
        column rather than once per value. A date goes in as its Excel day number, which is what
        openpyxl would write for it, without its per-value date checks."""
        cells: list[object] = []
        if self._fast:
            plain = _Plain(
                (v - EXCEL_EPOCH).days
                if type(v) is dt.date and self._dates[j] and v >= EXCEL_DAY_NUMBERS_FROM
                else None
                if type(v) is float and math.isnan(v)
                else v
                for j, v in enumerate(row)
            )
            if all(map(_is_plain, plain)):
                self.ws.append(plain)
                self.n += 1
                return
        for j, v in enumerate(row):
            if v is None or isinstance(v, bool):
                pass
            elif isinstance(v, str):
                if formula_like(v):
                    v = as_text(self._cell(self._text, j, v))  # formula injection: text stays text
            elif isinstance(v, float) and math.isnan(v):  # NaN: empty, never zero
                v = None
            elif isinstance(v, Styled):
                styled = WriteOnlyCell(self.ws, value=v.value)
                styled.number_format = v.number_format
                v = styled
            elif self._formatted[j] is not None:
                if type(v) is dt.date and self._dates[j] and v >= EXCEL_DAY_NUMBERS_FROM:
                    v = (v - EXCEL_EPOCH).days
                v = self._cell(self._formatted, j, v)
            cells.append(v)
        self.ws.append(cells)
        self.n += 1

    def _style(self, j: int) -> str | None:
        """The style id of column `j`'s number format, registered with the workbook at its first
        use (where openpyxl registers it, so that the ids are the ones it would give)."""
        cell = self._formatted[j]
        if cell is None:
            return None
        if self._styles[j] is None:
            self._styles[j] = f"{cell.style_id}"
        return self._styles[j]

    def _cell(self, pool: list[WriteOnlyCell | None], j: int, value: object) -> WriteOnlyCell:
        cell = pool[j]
        if cell is None:
            cell = pool[j] = WriteOnlyCell(self.ws)
        cell.value = value
        return cell

    def as_table(self, name: str) -> None:
        """Make the block a filterable Excel table (defined by name)."""
        if self.n:
            ref = f"A1:{get_column_letter(len(self.columns))}{self.n + 1}"
            table = Table(displayName=name, ref=ref)
            # Write-only sheets cannot read their header back: name the table columns here.
            table.tableColumns = [TableColumn(id=j, name=h) for j, (h, _) in enumerate(self.columns, start=1)]
            table.autoFilter = AutoFilter(ref=ref)
            table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
            with warnings.catch_warnings():  # openpyxl warns in write-only mode even when columns are given
                warnings.simplefilter("ignore", UserWarning)
                self.ws.add_table(table)


def single_sheet(
    title: str,
    columns: Sequence[tuple[str, str | None]],
    rows: Sequence[Sequence[object]],
    *,
    table: str | None = None,
    landscape: bool = True,
) -> bytes:
    """A workbook of one Sheet (`title`, cut to Excel's 31 characters), optionally made a named
    filterable table, as the bytes of its .xlsx file."""
    wb = Workbook(write_only=True)
    sheet = Sheet(wb, title[:31] or "Table", columns, rows, landscape=landscape)
    if table:
        sheet.as_table(table)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

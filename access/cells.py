"""The one defence against spreadsheet formula injection, for every workbook and CSV the product writes.

Text from the data (a case number, an office's name, a rejected value) that starts like a formula
(= + - @, or a tab or carriage return before one) is written so that a spreadsheet shows it as
text and never evaluates it: in CSV with a leading apostrophe (OWASP's advice for CSV), in XLSX as
a cell of type text (openpyxl would otherwise store a leading "=" as a live formula).

Files that are data for a program rather than spreadsheets for a person (the draw's population
file, whose bytes are hashed and recomputed by the verifier) keep their values exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_value(value: object) -> object:
    """A CSV field: formula-like text with a leading apostrophe, everything else as it is."""
    return "'" + value if isinstance(value, str) and formula_like(value) else value


def as_text(cell: Any) -> Any:
    """Make an openpyxl cell (ordinary or write-only) holding formula-like text a text cell."""
    if formula_like(cell.value):
        cell.data_type = "s"
    return cell


def append_row(ws: Any, values: Iterable[object]) -> None:
    """`ws.append(values)` on an ordinary openpyxl worksheet, with formula-like text kept as text."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        as_text(cell)

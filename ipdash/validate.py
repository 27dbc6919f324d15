"""Every command-line argument checked before any work starts (SPEC §8: exit 2 with one message).

Two kinds of check live here. Argument types (`year`, `port`, `weights`, …) reject a value by
itself, naming the argument and what is accepted; argparse turns their message into one line.
Checks against the store (`require_store`, `year_with_cases`, `known_office`, `output_file`)
need the store or the file system, and run in the command before anything is written: no command
creates a store it was only asked to read, and none writes half its output before failing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import re
from pathlib import Path

from core import settings
from queries.statements import duck_sql

DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
DIMENSIONS = ("effort", "level", "timeliness", "quality")  # metrics/config.py, kept light to import
FIRST_YEAR, LAST_YEAR = 1985, 2100


class Invalid(ValueError):
    """An argument that cannot be used; the message names it and says what is accepted."""


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number; {what}") from None


def ranged(low: int, high: int, what: str):
    """An argparse type: a whole number from `low` to `high`."""

    def fmt(n: int) -> str:
        return f"{n:,}" if high >= 100_000 else str(n)  # 10,000,000 cases, but the year 2100

    def parse(text: str) -> int:
        value = _int(text, f"give {what} from {fmt(low)} to {fmt(high)}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{fmt(value)} is outside {fmt(low)}–{fmt(high)} ({what})")
        return value

    return parse


year = ranged(FIRST_YEAR, LAST_YEAR, "an assessment year")
port = ranged(1, 65_535, "a TCP port")
workers = ranged(1, 64, "worker processes")
runs = ranged(1, 100_000, "Monte Carlo runs")
cases = ranged(1, 10_000_000, "demo cases")


def office_code(text: str) -> str:
    """An argparse type: a 6-digit office code (full-width digits accepted)."""
    import unicodedata

    code = unicodedata.normalize("NFKC", text).strip()
    if not re.fullmatch(r"\d{6}", code):
        raise argparse.ArgumentTypeError(f"'{text}' is not an office code (6 digits, such as 330000)")
    return code


def date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD, such as 2024-12-31)") from None


def weights(text: str) -> dict[str, float]:
    """An argparse type: all four dimension weights, each a finite number ≥ 0, not all zero."""
    accepted = "give all four as effort=…,level=…,timeliness=…,quality=… (numbers ≥ 0, not all 0)"
    out: dict[str, float] = {}
    for part in (p for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise argparse.ArgumentTypeError(f"'{part}' has no '='; {accepted}")
        if name not in DIMENSIONS:
            raise argparse.ArgumentTypeError(f"'{name}' is not a dimension; {accepted}")
        if name in out:
            raise argparse.ArgumentTypeError(f"'{name}' is given twice; {accepted}")
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{value.strip()}' is not a number for {name}; {accepted}") from None
        if not math.isfinite(number) or number < 0:
            raise argparse.ArgumentTypeError(f"{name}={value.strip()} is not a finite number ≥ 0; {accepted}")
        out[name] = number
    missing = [d for d in DIMENSIONS if d not in out]
    if missing:
        raise argparse.ArgumentTypeError(f"{', '.join(missing)} missing; {accepted}")
    if not any(out.values()):
        raise argparse.ArgumentTypeError(f"all four weights are 0; {accepted}")
    return out


def is_store_file(path: Path) -> bool:
    """Whether `path` is a DuckDB database file (by its header, not its name)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def require_store(db: str, *, may_create: bool, operational_only: bool = False) -> None:
    """Refuse a `--db` that is not a store: a folder, another kind of file, or (unless the command
    builds one) nothing at all. Nothing is created here.

    `operational_only`: the command (users, audit) reads only the operational store, which may
    exist without the analytic file: beside it, at $IPDASH_OPS_DB, or at $IPDASH_DATABASE_URL."""
    path = Path(db)
    if operational_only and not path.exists() and not path.is_dir():
        from access.opstore import default_path

        if settings.current().database_url or default_path(db).is_file():
            return
    if path.is_dir():
        raise Invalid(f"--db {db} is a folder; give the store file (such as ./data/ipdash.duckdb)")
    if path.exists():
        if not is_store_file(path):
            raise Invalid(f"--db {db} is not an ipdash store (not a DuckDB database file)")
        folder = path.resolve().parent
        if not os.access(folder, os.W_OK | os.X_OK):
            raise Invalid(
                f"--db {db}: the folder {folder} is read-only; ipdash keeps the audit log, the operational "
                "records and its locks beside the store and needs to write there"
            )
        return
    if not may_create:
        raise Invalid(f"--db {db}: no store there; check the path, or run `ipdash demo` or `ipdash ingest` first")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise Invalid(f"--db {db}: {parent} is not a folder")


def output_file(path: str, argument: str) -> Path:
    """An output path whose folder exists and can be written; checked before any work is done."""
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise Invalid(f"{argument} {path} is a folder; give a file name")
    if not folder.is_dir():
        raise Invalid(f"{argument} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise Invalid(f"{argument} {path}: the folder {folder} cannot be written (read-only or no permission)")
    return out


def year_with_cases(con, year: int, as_of: dt.date | None = None) -> None:
    """Refuse a year the store holds no cases for, naming the years it holds; and an as-of date
    outside the year."""
    from queries.store import rows

    (n, first, last) = rows(con, duck_sql("cases.year_span"), {"y": year})[0]
    if not n:
        held = f"the store holds {first}–{last}" if first is not None else "the store holds no cases yet"
        raise Invalid(f"--year {year}: no cases accepted or closed in {year}; {held}")
    if as_of is not None and as_of.year != year:
        raise Invalid(f"--as-of {as_of}: outside the year {year}; give a date from {year}-01-01 to {year}-12-31")


def known_office(con, code: str | None, argument: str) -> None:
    """Refuse an office code that is not in the store's office tree."""
    from queries.store import scalar

    if code is not None and scalar(con, duck_sql("offices.level"), {"c": code}) is None:
        raise Invalid(f"{argument} {code}: no such office in the store's office tree")


def check_store(
    db: str, *, year_: int | None = None, as_of: dt.date | None = None, offices: dict | None = None
) -> None:
    """The year, as-of and office checks against the store (`offices`: argument -> code)."""
    from queries.store import Store

    with contextlib.closing(Store(db).reader(operational=False)) as con:
        if year_ is not None:
            year_with_cases(con, year_, as_of)
        for argument, code in (offices or {}).items():
            known_office(con, code, argument)

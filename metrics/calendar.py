"""Working days: the official Chinese calendar (holidays and make-up workdays) from `chinese-calendar`.

The package covers 2004–2026. For a year outside it, working days fall back to Monday–Friday and
the result says so (`fallback_years`), because an acceptance deadline computed that way may be a
day or two off around holidays.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar
import numpy as np
import polars as pl


@dataclass(frozen=True)
class WorkdayTable:
    """`due`: received_date -> the n-th working day after it; `fallback_years`: Mon–Fri years."""

    due: pl.DataFrame
    fallback_years: tuple[int, ...]


def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, from the official calendar) for `day`."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@functools.lru_cache(maxsize=32)
def acceptance_due(start: dt.date, end: dt.date, n: int) -> WorkdayTable:
    """For every date in [start, end], the n-th working day after it (the day itself not counted).

    Args:
        start, end: the range of received dates to cover.
        n: working days allowed (5 for infringement disputes, SPEC §3.1).
    """
    horizon = end + dt.timedelta(days=max(30, 3 * n + 30))  # room for the longest holiday
    days = np.arange(np.datetime64(start), np.datetime64(horizon) + 1, dtype="datetime64[D]")
    flags = [is_workday(d.item()) for d in days]
    work = np.array([f[0] for f in flags])
    fallback = sorted({d.item().year for d, f in zip(days, flags) if not f[1]})
    counted = np.cumsum(work)  # working days up to and including i
    n_days = (np.datetime64(end) - np.datetime64(start)).astype(int) + 1
    target = counted[:n_days] + n
    due_idx = np.searchsorted(counted, target, side="left")
    frame = pl.DataFrame({"received_date": days[:n_days], "due_date": days[due_idx]})
    return WorkdayTable(frame, tuple(fallback))

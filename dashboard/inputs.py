"""The values callbacks receive, checked where they are parsed (no Dash here).

A browser sends what the page's components hold; a hand-made request can send anything. Each
helper returns the value in the type the code expects, or raises `BadRequest` naming the field and
what is accepted, which the server answers with HTTP 400 (`request_checks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

FIRST_YEAR, LAST_YEAR = 1990, 2100
MAX_TEXT = 4000


class BadRequest(ValueError):
    """A request value the server cannot use; the message names the field and what is accepted,
    in Chinese and English."""

    def __init__(self, en: str, zh: str = "请求参数无效") -> None:
        super().__init__(f"{zh} / {en}")
        self.en, self.zh = en, zh


def text(value: Any, field: str, *, limit: int = MAX_TEXT) -> str | None:
    """None, or a text of at most `limit` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a text, not {type(value).__name__}", f"{field} 应为文字")
    if len(value) > limit:
        raise BadRequest(f"{field} is longer than {limit} characters", f"{field} 超过 {limit} 个字符")
    return value


def year(value: Any, field: str = "year") -> int:
    """A year from 1990 to 2100 (a number, or its digits as text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise BadRequest(
            f"{field} must be a year from {FIRST_YEAR} to {LAST_YEAR}, not {str(value)[:20]!r}",
            f"{field} 应为 {FIRST_YEAR}–{LAST_YEAR} 之间的年份",
        )
    return value


def date(value: Any, field: str) -> dt.date | None:
    """None, or an ISO date (YYYY-MM-DD, a time after it ignored) from 1990 to 2100."""
    raw = text(value, field, limit=40)
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise BadRequest(
            f"{field} must be a date YYYY-MM-DD, not {raw[:20]!r}", f"{field} 应为日期 YYYY-MM-DD"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadRequest(f"{field} must lie between {FIRST_YEAR} and {LAST_YEAR}", f"{field} 超出范围")
    return day


def number(value: Any, field: str, *, low: float, high: float) -> float | None:
    """None, or a number from `low` to `high`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(
            f"{field} must be a number from {low:g} to {high:g}", f"{field} 应为 {low:g}–{high:g} 之间的数"
        )
    return float(value)


def whole(value: Any, field: str, *, low: int = 0, high: int = 10**9, default: int | None = None) -> int:
    """A whole number from `low` to `high` (None: `default`, when given)."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(
            f"{field} must be a whole number from {low} to {high}", f"{field} 应为 {low}–{high} 之间的整数"
        )
    return value


def choice(value: Any, field: str, options: Iterable[str]) -> str | None:
    """None, or one of `options`."""
    allowed = tuple(options)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"{field} must be one of {', '.join(allowed)}", f"{field} 应为以下之一：{'、'.join(allowed)}")
    return value


def language(value: Any) -> str:
    """The page's language from its selector: zh when none is given, else zh or en."""
    return choice(value or "zh", "language", ("zh", "en")) or "zh"


def mapping(value: Any, field: str) -> dict:
    """None (as {}) or a JSON object."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object", f"{field} 应为对象")
    return value


def items(value: Any, field: str) -> list:
    """None (as []) or a list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{field} must be a list", f"{field} 应为列表")
    return value

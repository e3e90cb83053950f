"""Period arithmetic per Civil Code Arts. 200-204.

The start day is not counted; a period in months or years ends on the corresponding day of the
last month, or on that month's last day when it has no such day (Art. 202/203).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(start: date, months: int) -> date:
    """The day ``months`` months after ``start`` (its corresponding day, or the month's last)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if start.day <= 28:  # every month has the day (the daily run computes many periods)
        return date(year, month0 + 1, start.day)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last))


def add_years(start: date, years: int) -> date:
    """The day ``years`` years after ``start`` (29 February maps to 28 February)."""
    return add_months(start, 12 * years)


def add_days(start: date, days: int) -> date:
    """The day ``days`` days after ``start``."""
    return start + timedelta(days=days)


def days_between(start: date, end: date) -> int:
    """Whole days from ``start`` to ``end`` (start day not counted); negative if end is earlier."""
    return (end - start).days


def parse_date(text: str) -> date:
    """An ISO ``YYYY-MM-DD`` date; raises ValueError with a readable message otherwise."""
    text = text.strip()
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a valid calendar date: {text!r}") from None

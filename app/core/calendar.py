"""Working days in Indonesia: Monday to Friday, less the national public holidays."""

from datetime import date, timedelta
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta


@lru_cache(maxsize=32)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


@lru_cache(maxsize=4096)  # findings ask for the same few signing days for thousands of agreements
def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


@lru_cache(maxsize=4096)
def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the month's end (2024-11-30 + 3 months = 2025-02-28)."""
    shifted: date = start + relativedelta(months=months)
    return shifted

"""The one source of time for every rule (domain.md §13 'Time').

Sweeps and purges take an explicit `as_of` (their commands' `--as-of DATE`), so tests move time across
processes without faking the system clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")


def now() -> dt.datetime:
    return timezone.now()


def today() -> dt.date:
    """Today's date in Asia/Tokyo (receipt dates, usage approvals, deadlines)."""
    return now().astimezone(TOKYO).date()


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TOKYO).date()


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TOKYO)


def end_of_day(day: dt.date) -> dt.datetime:
    """24:00 Asia/Tokyo of the day (usage approvals, API tokens)."""
    return start_of_day(day + dt.timedelta(days=1))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February → 28 February): retention cut-offs (domain.md §13)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)

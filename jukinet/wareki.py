"""和暦 (Japanese era dates) for printed forms only; data is stored in the Gregorian calendar (domain.md §12).

Eras are compared by whole dates, never years; year 1 prints as 元年. Dates before 明治 print in 西暦.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import NamedTuple


class Era(NamedTuple):
    name: str
    start: dt.date


ERAS: tuple[Era, ...] = (
    Era("明治", dt.date(1868, 10, 23)),
    Era("大正", dt.date(1912, 7, 30)),
    Era("昭和", dt.date(1926, 12, 25)),
    Era("平成", dt.date(1989, 1, 8)),
    Era("令和", dt.date(2019, 5, 1)),
)

_PATTERN = re.compile(
    r"^(?P<era>明治|大正|昭和|平成|令和)\s*(?P<year>元|\d{1,3})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日$"
)
_WESTERN = re.compile(r"^(?:西暦)?\s*(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日$")


def era_of(day: dt.date) -> Era | None:
    for era in reversed(ERAS):
        if day >= era.start:
            return era
    return None


def _era_end(era: Era) -> dt.date | None:
    index = ERAS.index(era)
    return ERAS[index + 1].start - dt.timedelta(days=1) if index + 1 < len(ERAS) else None


def format_era_date(day: dt.date) -> str:
    """1989-01-08 → 平成元年1月8日; 1989-01-07 → 昭和64年1月7日; before 明治 → 1868年1月1日."""
    era = era_of(day)
    if era is None:
        return f"{day.year}年{day.month}月{day.day}日"
    year = day.year - era.start.year + 1
    year_text = "元" if year == 1 else str(year)
    return f"{era.name}{year_text}年{day.month}月{day.day}日"


def format_era_year(day: dt.date) -> str:
    """令和7年 (for headings such as 年度 statistics)."""
    text = format_era_date(day)
    return text[: text.index("年") + 1]


def parse_era_date(text: str) -> dt.date:
    """令和７年４月１日, 平成元年1月8日 or 2025年4月1日 → date. Raises ValueError outside the era's range."""
    text = unicodedata.normalize("NFKC", text).strip()
    western = _WESTERN.match(text)
    if western:
        return dt.date(int(western["year"]), int(western["month"]), int(western["day"]))
    match = _PATTERN.match(text)
    if not match:
        raise ValueError("和暦の日付として読めません")
    era = next(e for e in ERAS if e.name == match["era"])
    year = 1 if match["year"] == "元" else int(match["year"])
    if year < 1:
        raise ValueError("元号の年は1以上です")
    day = dt.date(era.start.year + year - 1, int(match["month"]), int(match["day"]))
    end = _era_end(era)
    if day < era.start or (end is not None and day > end):
        raise ValueError("その元号の期間外の日付です")
    return day

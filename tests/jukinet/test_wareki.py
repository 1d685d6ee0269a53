import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jukinet.wareki import format_era_date, parse_era_date


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(1989, 1, 8), "平成元年1月8日"),
        (dt.date(1989, 1, 7), "昭和64年1月7日"),
        (dt.date(2019, 5, 1), "令和元年5月1日"),
        (dt.date(2019, 4, 30), "平成31年4月30日"),
        (dt.date(2025, 4, 1), "令和7年4月1日"),
        (dt.date(1926, 12, 25), "昭和元年12月25日"),
        (dt.date(1912, 7, 30), "大正元年7月30日"),
        (dt.date(1868, 10, 23), "明治元年10月23日"),
        (dt.date(1868, 10, 22), "1868年10月22日"),
    ],
)
def test_era_boundaries(day, text):
    assert format_era_date(day) == text
    assert parse_era_date(text) == day


def test_parses_full_width_digits_and_gannen():
    assert parse_era_date("令和７年４月１日") == dt.date(2025, 4, 1)
    assert parse_era_date("平成元年１月８日") == dt.date(1989, 1, 8)


@pytest.mark.parametrize("text", ["平成31年5月1日", "昭和64年1月8日", "令和0年1月1日", "令和7年13月1日", "R7.4.1", ""])
def test_rejects_dates_outside_their_era_or_malformed(text):
    with pytest.raises(ValueError):
        parse_era_date(text)


@given(st.dates(min_value=dt.date(1868, 10, 23), max_value=dt.date(2200, 12, 31)))
def test_round_trip(day):
    assert parse_era_date(format_era_date(day)) == day

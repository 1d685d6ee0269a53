"""Shared times of the registers purge tests (jukinet.registers): RETENTION_YEARS = 7 (fixture `seven_years` in
tests/conftest.py), as of 2033-04-01."""

import datetime as dt

from jukinet import clock

AS_OF = dt.date(2033, 4, 1)  # RETENTION_YEARS = 7: the cut-off is 2026-04-01 00:00 Asia/Tokyo
JUST_PAST = dt.datetime(2026, 3, 31, 23, 59, tzinfo=clock.TOKYO)
JUST_INSIDE = dt.datetime(2026, 4, 1, 0, 0, tzinfo=clock.TOKYO)
LONG_AGO = dt.datetime(2001, 4, 1, 9, 0, tzinfo=clock.TOKYO)

"""Template filters of the print engine (loaded as a builtin of disclosure.pdf.render's Engine only)."""

from __future__ import annotations

import datetime as dt

from django import template

from jukinet.wareki import format_era_date

register = template.Library()


@register.filter
def wareki(value: dt.date | None) -> str:
    """1989-01-08 → 平成元年1月8日 (domain.md §12); empty for no date."""
    return "" if value is None else format_era_date(value)


@register.filter
def yen(value: int) -> str:
    return f"{value:,}円"


@register.filter
def masked_blank(value: str | None) -> str:
    """A blank printed as a dash so that an empty box is never mistaken for a missing glyph."""
    return value if value else "―"

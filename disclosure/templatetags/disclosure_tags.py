"""Template tags for other pages: the overdue count on the clerk's home page (domain.md §12)."""

from __future__ import annotations

from django import template

from disclosure.selectors import cases_overdue
from jukinet import clock

register = template.Library()


@register.simple_tag
def overdue_disclosure_cases() -> int:
    """How many cases are past their due date and not closed (a count, no personal data)."""
    return cases_overdue(today=clock.today()).count()

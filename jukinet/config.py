"""Date-effective settings kept in the database (domain.md §16.1), with their defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jukinet import clock

DEFAULTS: dict[str, Any] = {
    "RESIDENT_CODE_RELEASE": True,
    "SEARCH_RESULT_CAP": 50,
    "SEARCH_COUNT_LIMIT": 10_000,
    "BULK_APPROVAL_THRESHOLD": 1_000,
    "BULK_MAX_ROWS": 10_000,
    "BULK_RUN_BY_RECIPIENTS": False,
    "NOTICE_HOLD_HOURS": 24,
    "IDLE_LOCK_MINUTES": 15,
    "LOGIN_LOCKOUT_ATTEMPTS": 5,
    "DISCLOSURE_DEADLINE_DAYS": 30,
    "BUSINESS_HOURS": {"weekdays": [0, 1, 2, 3, 4], "start": "08:30", "end": "17:15"},
    "RECONCILIATION_INTERVAL_DAYS": 30,
    "PUSH_ALERT_AFTER_MINUTES": 60,
    "PUSH_INCIDENT_AFTER_HOURS": 24,
    "TRAINING_OVERDUE_ACTION": "warn",
    "APPROVAL_MODEL": "central",
    "USAGE_APPROVAL_MODE": "electronic",
    "REVOCATION_LEAD_DAYS": 0,
    "LOG_AUDIT_TERMINAL_KINDS": ["representative"],
    "SAMPLING_SAME_OFFICE": False,
    "MANUAL_CORRECTION_CHECK_MONTHS": 3,
    "OPLOG_CHECKPOINT_HOURS": 24,
    "MUNICIPAL_WORDING": "市町",
    # seeds/000_4a892f0003cb7409.txt:47-49 (section) and :57-64 (request window)
    "PREFECTURE_SECTION": {"name": "総合企画部市町課 行政班", "contact": "TEL 083-933-2307"},
    "DISCLOSURE_WINDOWS": [
        {
            "name": "総務部学事文書課 情報公開・文書班／情報公開センター（県庁本館棟１階）",
            "address": "〒753-8501 山口県山口市滝町１番1号",
            "contact": "TEL 083-933-2576",
        }
    ],
}


def setting_value(name: str, *, on: dt.date | None = None) -> Any:
    """The value in force on `on` (default: today in Asia/Tokyo), falling back to the default."""
    from jukinet.models import SettingValue

    if name not in DEFAULTS:
        raise KeyError(f"unknown setting {name}")
    day = on or clock.today()
    row = SettingValue.objects.filter(name=name, effective_from__lte=day).order_by("-effective_from").first()
    return DEFAULTS[name] if row is None else row.value

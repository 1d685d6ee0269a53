"""Reads of notice results for the municipality that sent them (domain.md §6.7). No personal data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jukinet import clock
from prefserver.models import ManualCorrection, Notice

FEED_DELAY = dt.timedelta(seconds=5)  # a feed by time misses late commits; serve rows decided ≥ 5 s ago
FEED_LIMIT_MAX = 1000


def notice_result_get(*, municipality_code: str, notice_id: str) -> dict[str, Any] | None:
    """One notice's result, for its own sender only."""
    notice = (
        Notice.objects.filter(municipality_code=municipality_code, notice_id=notice_id)
        .only("notice_id", "status", "code", "message", "hold_reason", "decided_at")
        .first()
    )
    if notice is None:
        return None
    return {
        "notice_id": notice.notice_id,
        "status": notice.status,
        "code": notice.code or None,
        "message": notice.message or None,
        "hold_reason": notice.hold_reason or None,
        "decided_at": notice.decided_at.isoformat() if notice.decided_at else None,
    }


def notice_results_feed(
    *, municipality_code: str, after: int = 0, limit: int = FEED_LIMIT_MAX, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """Decided results (applied, rejected) after the cursor, in result order, with manual_correction rows
    (§6.6) for persons whose current municipality is the caller."""
    limit = max(1, min(limit, FEED_LIMIT_MAX))
    moment = (as_of or clock.now()) - FEED_DELAY
    rows = list(
        Notice.objects.filter(municipality_code=municipality_code, result_seq__gt=after, decided_at__lte=moment)
        .order_by("result_seq")
        .values("result_seq", "notice_id", "status", "code", "message", "decided_at")[:limit]
    )
    results = [
        {
            "cursor": row["result_seq"],
            "kind": "notice",
            "notice_id": row["notice_id"],
            "status": row["status"],
            "code": row["code"] or None,
            "message": row["message"] or None,
            "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        }
        for row in rows
    ]
    corrections = manual_correction_rows(municipality_code=municipality_code, after=after, moment=moment, limit=limit)
    if corrections:  # both kinds are the first `limit` of their kind by cursor: merge, then cut
        results = sorted([*results, *corrections], key=lambda r: int(r["cursor"]))[:limit]
    return {"results": results, "next": results[-1]["cursor"] if results else after}


def manual_correction_rows(
    *, municipality_code: str, after: int, moment: dt.datetime, limit: int
) -> list[dict[str, Any]]:
    """The applied 例外修正 of persons whose current municipality is the caller (§6.6, §6.7).

    Both kinds take their cursor from one sequence, so merging by cursor keeps one order."""
    corrections = (
        ManualCorrection.objects.filter(
            municipality_code=municipality_code, result_seq__gt=after, decided_at__lte=moment
        )
        .order_by("result_seq")
        .values("result_seq", "file", "resident_code", "update_sequence", "revision", "decided_at")[:limit]
    )
    return [
        {
            "cursor": row["result_seq"],
            "kind": "manual_correction",
            "file": row["file"],
            "resident_code": row["resident_code"],
            "update_sequence": row["update_sequence"],
            "revision": row["revision"],
            "status": "applied",
            "code": None,
            "message": None,
            "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        }
        for row in corrections
    ]

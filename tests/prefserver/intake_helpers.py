"""Notices for intake tests: synthetic envelopes with valid check digits, submitted like a 市町村CS; and outbox rows
for the push tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from django.db import connection
from django.test import Client

from jukinet.identifiers import resident_code_check_digit, with_check_digit
from prefserver.intake.process import intake_process_pending
from prefserver.intake.receive import credential_issue, notices_receive
from prefserver.models import LANE_SQL, Notice
from prefserver.push import OUTBOX_TABLE

YAMAGUCHI = "352012"  # 山口県下関市 (a sender of the demo prefecture)
UBE = "352021"  # 宇部市
CODE_A = "12345678903"
CODE_B = "59130274611"
CODE_C = "59130274620"
NUMBER = "123456789018"
OTHER_NUMBER = "000000000019"

_ids = itertools.count(1)


def identity_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "見本 太郎", "name_gaiji_count": 0, "name_kana": "ミホン タロウ", "birth_date": "1980-04-01",
        "sex": 1, "address": "山口県下関市見本町一丁目2番3号", "address_gaiji_count": 0,
        "individual_number": NUMBER, "district_code": "0012", "gaiji_flag": False, "name_gaiji_revision": 0,
        "address_gaiji_revision": 0, "former_surname": None, "former_surname_gaiji_count": None,
        "former_surname_kana": None, "former_surname_gaiji_revision": None,
    }  # fmt: skip
    payload.update(overrides)
    return payload


def furyo_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "見本 花子", "name_gaiji_count": 0, "name_kana": "ミホン ハナコ", "birth_date": "1985-06-15",
        "sex": 2, "address_municipality_code": "131016", "address": "東京都千代田区見本一丁目1番",
        "address_gaiji_count": 0, "last_address": None, "last_address_gaiji_count": None,
        "furyo_municipality_code": YAMAGUCHI, "status": 1, "gaiji_flag": False, "gaiji_pattern": "",
    }  # fmt: skip
    payload.update(overrides)
    return payload


def notice(
    change_reason: str = "11",
    update_sequence: int = 1,
    *,
    resident_code: str = CODE_A,
    municipality_code: str = YAMAGUCHI,
    file: str = "identity",
    payload: dict[str, Any] | None = None,
    notice_id: str | None = None,
    change_date: str = "2025-04-01",
    **extra: Any,
) -> dict[str, Any]:
    if payload is None:
        payload = identity_payload() if file == "identity" else furyo_payload()
    envelope = {
        "notice_id": notice_id or f"{municipality_code}-T-{next(_ids):06d}",
        "municipality_code": municipality_code,
        "file": file,
        "change_reason": change_reason,
        "change_date": change_date,
        "update_sequence": update_sequence,
        "resident_code": resident_code,
        "payload": payload,
        "operator_id": "OP0042",
        "terminal_id": f"CS{municipality_code}-05",
        "sent_at": "2025-04-01T10:15:00+09:00",
    }
    envelope.update(extra)
    return envelope


def receive(*notices: Any, municipality_code: str = YAMAGUCHI) -> list[Any]:
    return notices_receive(municipality_code=municipality_code, elements=list(notices), actor=f"cs:{municipality_code}")


def send_and_process(*notices: Any, municipality_code: str | None = None) -> list[Notice]:
    """Receive (as the first notice's sender), decide everything pending, and return the stored rows."""
    receipts = receive(*notices, municipality_code=municipality_code or notices[0]["municipality_code"])
    intake_process_pending()
    rows = {n.notice_id: n for n in Notice.objects.filter(notice_id__in=[r.notice_id for r in receipts])}
    return [rows[r.notice_id] for r in receipts if r.notice_id in rows]


def result_of(envelope: dict[str, Any]) -> tuple[str, str]:
    row = Notice.objects.get(municipality_code=envelope["municipality_code"], notice_id=envelope["notice_id"])
    return row.status, row.code


def cs_client(municipality_code: str = YAMAGUCHI) -> Client:
    key = credential_issue(municipality_code=municipality_code)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post_notices(client: Client, notices: list[Any]) -> Any:
    return client.post("/cs/v1/notices", data=json.dumps({"notices": notices}), content_type="application/json")


def codes_by_lane(count: int) -> list[str]:
    """Valid resident codes in `count` different claim lanes, as PostgreSQL computes the lane."""
    found: dict[int, str] = {}
    with connection.cursor() as cursor:
        for n in range(1000):
            code = with_check_digit(f"{5913020000 + n:010d}", resident_code_check_digit)
            cursor.execute(f"SELECT {LANE_SQL.format('%s')}", [code])
            found.setdefault(cursor.fetchone()[0], code)
            if len(found) == count:
                return list(found.values())
    raise AssertionError("not enough lanes")


def outbox_rows(cursor: Any, total: int, *, pending: int) -> None:
    """`total` identity outbox rows of as many persons, row n due n seconds ago; the first `pending` pending, the
    rest sent."""
    cursor.execute(
        f"INSERT INTO {OUTBOX_TABLE} (file, person_id, resident_code, update_sequence, revision, version_id,"
        " version_expiry_year, status, attempts, next_attempt_at, acked_at, created_at)"
        " SELECT 'identity', n, lpad(n::text, 11, '0'), 1, 0, n, 9999,"
        " CASE WHEN n <= %s THEN 'pending' ELSE 'sent' END, 0, now() - make_interval(secs => n), NULL, now()"
        " FROM generate_series(1, %s) AS n",
        [pending, total],
    )  # fmt: skip

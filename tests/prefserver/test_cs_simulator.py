"""The municipal CS simulator: its stream applies as intended through the real intake path."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from jukinet import clock
from jukinet.reference import prefecture_municipalities
from prefserver.cs_simulator import CsStream, valid_notices
from prefserver.intake.process import intake_process_pending
from prefserver.intake.receive import credential_issue
from prefserver.models import Notice

pytestmark = pytest.mark.django_db


def _municipalities() -> list[tuple[str, str]]:
    return [(m.code, m.name) for m in prefecture_municipalities()]


def _post_all(notices: list[dict[str, Any]]) -> Counter[str]:
    """Send like the command does: one request per municipality and chunk, each with its own key."""
    keys: dict[str, str] = {}
    receipts: Counter[str] = Counter()
    for start in range(0, len(notices), 50):
        chunk: dict[str, list[dict[str, Any]]] = {}
        for notice in notices[start : start + 50]:
            chunk.setdefault(notice["municipality_code"], []).append(notice)
        for code, group in chunk.items():
            if code not in keys:
                keys[code] = credential_issue(municipality_code=code)
            client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[code]}")
            body = json.dumps({"notices": group}, ensure_ascii=False)
            response = client.post("/cs/v1/notices", data=body, content_type="application/json")
            assert response.status_code == 200
            receipts.update(r["status"] for r in response.json()["receipts"])
        intake_process_pending()
    return receipts


def test_valid_stream_applies_every_notice() -> None:
    # given
    notices = valid_notices(400, municipalities=_municipalities(), seed=3, today=clock.today())
    # when
    receipts = _post_all(notices)
    # then
    assert receipts == Counter({"accepted": 400})
    assert dict(Counter(Notice.objects.values_list("status", flat=True))) == {"applied": 400}
    reasons = Counter(n["change_reason"] for n in notices)
    assert {"11", "12", "21", "23", "31", "32"} <= set(reasons)
    assert reasons["21"] > reasons["23"]  # moves outnumber name changes
    assert len({n["notice_id"] for n in notices}) == 400


def test_noisy_stream_is_rejected_duplicated_and_reordered_as_labelled() -> None:
    # given
    stream = CsStream(
        municipalities=_municipalities(), seed=5, today=clock.today(), invalid_rate=0.05, duplicate_rate=0.05,
        out_of_order_rate=0.05,
    )  # fmt: skip
    notices = stream.take(600)
    # when
    receipts = _post_all(notices)
    # then: every invalid notice is rejected, every duplicate answered as such, every valid one applied
    results = Counter(Notice.objects.values_list("status", flat=True))
    assert receipts["duplicate"] == len(notices) - len({(n["municipality_code"], n["notice_id"]) for n in notices})
    assert receipts["duplicate"] == stream.stats.duplicates > 0
    assert results["rejected"] == stream.stats.invalid > 0
    assert results["applied"] == stream.stats.valid
    assert stream.stats.out_of_order > 0 and results["held"] == 0


def test_movers_from_outside_continue_the_national_counter() -> None:
    # given: the national server holds the mover at update_sequence 7
    mover = {
        "resident_code": "59130274611",
        "name": "外部　太郎",
        "name_kana": "ガイブ　タロウ",
        "birth_date": "1970-01-01",
        "sex": 1,
    }
    stream = CsStream(
        municipalities=_municipalities(), seed=1, today=clock.today(), valid_only=True, furyo_rate=0.0,
        national_sequences=lambda codes: dict.fromkeys(codes, 7), outside_movers=[mover],
    )  # fmt: skip
    # when
    notices = [n for n in stream.take(50) if n["resident_code"] == mover["resident_code"]]
    # then
    assert notices[0]["change_reason"] == "11" and notices[0]["update_sequence"] == 8
    assert notices[0]["payload"]["name"] == "外部　太郎"


@pytest.mark.django_db(transaction=True)
def test_command_sends_to_the_http_endpoint(live_server: Any, settings: Any, tmp_path: Any) -> None:
    # given: demo keys under a temporary var/
    settings.CELERY_TASK_ALWAYS_EAGER = True
    import jukinet.env

    original = jukinet.env.VAR_DIR
    jukinet.env.VAR_DIR = tmp_path
    try:
        # when
        call_command("simulate_cs", "--rate", "20", "--duration", "1.5", "--url", live_server.url, "--seed", "9")
    finally:
        jukinet.env.VAR_DIR = original
    # then
    assert Notice.objects.count() >= 15
    assert (tmp_path / "secrets" / "cs-keys.json").stat().st_mode & 0o777 == 0o600
    assert dt.date.fromisoformat(Notice.objects.first().envelope["change_date"]) <= clock.today()  # type: ignore[union-attr]

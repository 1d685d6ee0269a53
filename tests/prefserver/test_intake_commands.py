"""manage.py import_notices, notice_results, sweep_holds (domain.md §6.7, §13 'Time')."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import OperationKind, OperationLogEntry
from audit.services import operation_log_seal
from jukinet import clock
from prefserver.intake.process import intake_process_pending
from prefserver.models import IntakeBatch, Notice
from tests.prefserver.intake_helpers import UBE, YAMAGUCHI, identity_payload, notice

pytestmark = pytest.mark.django_db


def _ndjson(tmp_path, lines):
    path = tmp_path / "notices.ndjson"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), "utf-8")
    return path


def test_import_notices_takes_the_same_steps(tmp_path):
    # given a file with a valid notice, one in another municipality's name, a broken line and a duplicate
    valid = notice()
    path = _ndjson(tmp_path, [valid, notice(municipality_code=UBE), "{not json", valid])
    out = io.StringIO()
    # when
    call_command("import_notices", str(path), municipality=YAMAGUCHI, operator="OP-IMPORT", stdout=out,
                 stderr=io.StringIO())  # fmt: skip
    # then
    receipts = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["status"], r["code"]) for r in receipts] == [
        ("accepted", None), ("rejected", "E009"), ("rejected", "E001"), ("duplicate", None)]  # fmt: skip
    row = Notice.objects.get()
    assert row.received_on == clock.today()
    assert IntakeBatch.objects.filter(kind=IntakeBatch.Kind.IMPORT, actor="operator:OP-IMPORT").count() == 1
    operation_log_seal()
    kinds = list(OperationLogEntry.objects.order_by("sequence").values_list("kind", "actor", "result_count"))
    assert kinds == [(OperationKind.INTAKE_REQUEST_RECEIVED, "operator:OP-IMPORT", 4),
                     (OperationKind.INTAKE_SECURITY_EVENT, "operator:OP-IMPORT", None)]  # fmt: skip


def test_import_notices_refuses_a_code_outside_the_prefecture_before_reading(tmp_path):
    missing = tmp_path / "does-not-exist.ndjson"
    with pytest.raises(CommandError):
        call_command("import_notices", str(missing), municipality="131016", operator="OP-IMPORT")
    assert Notice.objects.count() == 0


def test_notice_results_prints_the_feed(tmp_path):
    sent = notice()
    call_command("import_notices", str(_ndjson(tmp_path, [sent])), municipality=YAMAGUCHI, operator="OP",
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    intake_process_pending()
    Notice.objects.update(decided_at=clock.now() - dt.timedelta(seconds=10))
    out = io.StringIO()
    call_command("notice_results", municipality=YAMAGUCHI, stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["notice_id"], r["status"]) for r in rows] == [(sent["notice_id"], "applied")]


def test_sweep_holds_as_of(tmp_path):
    sent = notice("21", 4, payload=identity_payload(address="山口県下関市別町1番"))
    call_command("import_notices", str(_ndjson(tmp_path, [sent])), municipality=YAMAGUCHI, operator="OP",
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    intake_process_pending()
    assert Notice.objects.get().status == "held"
    as_of = (clock.now() + dt.timedelta(hours=25)).isoformat()
    call_command("sweep_holds", as_of=as_of, stdout=io.StringIO())
    assert Notice.objects.get().code == "E104"

"""Receipt (domain.md §6.4 steps 1–3, §6.7): answered at once, stored before the response, or refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from audit.models import OperationKind, OperationLogEntry
from audit.services import operation_log_seal
from prefserver.intake import envelope as env
from prefserver.intake.process import intake_process_pending
from prefserver.models import Alert, DuplicateReceipt, IntakeBatch, Notice, PushOutbox
from tests.prefserver.intake_helpers import (
    NUMBER,
    UBE,
    YAMAGUCHI,
    cs_client,
    identity_payload,
    notice,
    post_notices,
)

pytestmark = pytest.mark.django_db


def test_batch_with_malformed_foreign_and_valid_notice_stores_only_the_valid_one():
    # given scenario 41: a malformed notice, one in another municipality's name, and a valid one
    client = cs_client()
    malformed = {"notice_id": "bad id!", "municipality_code": YAMAGUCHI, "file": "identity"}
    foreign = notice(municipality_code=UBE)
    valid = notice()
    # when
    response = post_notices(client, [malformed, foreign, valid])
    # then three receipts in request order
    assert response.status_code == 200
    receipts = response.json()["receipts"]
    assert [(r["status"], r["code"]) for r in receipts] == [("rejected", "E001"), ("rejected", "E009"),
                                                            ("accepted", None)]  # fmt: skip
    assert receipts[2]["notice_id"] == valid["notice_id"]
    assert list(Notice.objects.values_list("notice_id", flat=True)) == [valid["notice_id"]]
    # and the E009 is logged as a security event, the request as a receipt
    assert IntakeBatch.objects.filter(kind=IntakeBatch.Kind.SECURITY, outcome="E009").count() == 1
    assert IntakeBatch.objects.filter(kind=IntakeBatch.Kind.RECEIPT, actor=f"cs:{YAMAGUCHI}").count() == 1
    # and the operation log has one entry for the request and one security event, counts only (sealed into the
    # chain in the order they were written)
    operation_log_seal()
    received = OperationLogEntry.objects.get(kind=OperationKind.INTAKE_REQUEST_RECEIVED)
    assert (received.actor, received.outcome, received.result_count) == (f"cs:{YAMAGUCHI}", "ok", 3)
    assert received.conditions == {"E001": 1, "E009": 1, "accepted": 1}
    # and each entry targets its own IntakeBatch row (inserted by the entry's statement)
    request_batch = IntakeBatch.objects.get(kind=IntakeBatch.Kind.RECEIPT)
    assert request_batch.counts == {"E001": 1, "E009": 1, "accepted": 1, "result_count": 3}
    assert received.targets == [["prefserver.intakebatch", str(request_batch.pk)]]
    security = OperationLogEntry.objects.get(kind=OperationKind.INTAKE_SECURITY_EVENT)
    assert (security.actor, security.outcome, security.sequence) == (f"cs:{YAMAGUCHI}", "E009", received.sequence + 1)
    security_batch = IntakeBatch.objects.get(kind=IntakeBatch.Kind.SECURITY)
    assert security.targets == [["prefserver.intakebatch", str(security_batch.pk)]]


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-key"}, {"HTTP_X_CLIENT_CERT_SHA256": "ab" * 32}],
)
def test_unauthenticated_submission_gets_401_and_stores_nothing(headers):
    # given a certificate fingerprint header from a client that is not a trusted proxy
    cs_client()
    response = Client(**headers).post(
        "/cs/v1/notices", data=json.dumps({"notices": [notice()]}), content_type="application/json"
    )
    assert response.status_code == 401
    assert Notice.objects.count() == 0
    assert IntakeBatch.objects.filter(kind=IntakeBatch.Kind.REFUSED, outcome="failed").count() == 1
    operation_log_seal()
    entry = OperationLogEntry.objects.get()
    assert (entry.kind, entry.actor, entry.outcome) == (OperationKind.UNAUTHENTICATED_CS_CALL, "anonymous:cs", "failed")
    assert entry.conditions == {"path": "/cs/v1/notices"}


def test_client_certificate_fingerprint_is_trusted_from_the_proxy_only(settings):
    # given a credential bound to a certificate fingerprint
    from prefserver.intake.receive import credential_issue

    fingerprint = "cd" * 32
    credential_issue(municipality_code=YAMAGUCHI, cert_sha256=fingerprint)
    settings.TRUSTED_PROXY_IPS = ["127.0.0.1"]
    # when the proxy (REMOTE_ADDR 127.0.0.1 in the test client) passes it
    response = Client(HTTP_X_CLIENT_CERT_SHA256=fingerprint).post(
        "/cs/v1/notices", data=json.dumps({"notices": [notice()]}), content_type="application/json"
    )
    assert response.status_code == 200
    # but from any other address the header counts for nothing
    settings.TRUSTED_PROXY_IPS = ["10.0.0.1"]
    response = Client(HTTP_X_CLIENT_CERT_SHA256=fingerprint).post(
        "/cs/v1/notices", data=json.dumps({"notices": [notice()]}), content_type="application/json"
    )
    assert response.status_code == 401
    assert Notice.objects.count() == 1


def test_other_municipality_name_is_refused_with_e009_and_not_stored():
    client = cs_client(YAMAGUCHI)
    response = post_notices(client, [notice(municipality_code=UBE), notice(municipality_code=UBE)])
    assert [r["code"] for r in response.json()["receipts"]] == ["E009", "E009"]
    assert Notice.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"notices": {}}', b'{"items": []}', b'{"notices": [], "extra": 1}', b"\xff\xfe"],
)
def test_malformed_body_gets_400_e001_and_stores_nothing(body):
    response = cs_client().post("/cs/v1/notices", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "E001"
    assert Notice.objects.count() == 0


def test_body_over_8_mib_gets_413_and_stores_nothing():
    padding = "x" * (8 * 1024 * 1024)
    body = json.dumps({"notices": [notice(padding=padding)]})
    response = cs_client().post("/cs/v1/notices", data=body, content_type="application/json")
    assert response.status_code == 413
    assert Notice.objects.count() == 0


def test_more_notices_than_the_batch_maximum_gets_413(settings):
    settings.NOTICE_BATCH_MAX = 2
    response = post_notices(cs_client(), [notice(), notice(), notice()])
    assert response.status_code == 413
    assert Notice.objects.count() == 0


@pytest.mark.parametrize(
    "element",
    [
        "a string",
        {"notice_id": "x" * 41, "municipality_code": YAMAGUCHI, "file": "identity"},
        {"municipality_code": YAMAGUCHI, "file": "identity"},
        {"notice_id": "n-1", "municipality_code": "35201", "file": "identity"},
        {"notice_id": "n-1", "municipality_code": YAMAGUCHI, "file": "other"},
        notice(update_sequence="7"),
        notice(update_sequence=True),
        notice(payload=identity_payload(sex="1")),
        notice(payload=identity_payload(gaiji_flag=0)),
        notice(payload=identity_payload(individual_number=123456789018)),
        notice(payload=[]),
    ],
)
def test_wrong_json_types_are_e001_in_the_receipt(element):
    response = post_notices(cs_client(), [element])
    assert response.json()["receipts"][0]["code"] == "E001"
    assert Notice.objects.count() == 0


def test_individual_number_is_never_stored_in_plaintext():
    post_notices(cs_client(), [notice()])
    row = Notice.objects.get()
    assert NUMBER not in json.dumps(row.envelope)
    assert NUMBER.encode() not in bytes(row.individual_number_ciphertext)
    assert row.individual_number_blind_index is not None


def test_the_stored_envelope_is_the_text_the_content_hash_was_taken_from():
    # given a notice with an individual number and a sent_at
    sent = notice(sent_at="2026-11-26T09:00:00+09:00")
    post_notices(cs_client(), [sent])
    row = Notice.objects.get()
    # when the column is read as stored (text, not jsonb re-rendered)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT envelope, pg_typeof(envelope)::text FROM prefserver_notice WHERE id = %s", [row.pk])
        text, column_type = cursor.fetchone()
    # then it is the canonical text with the marker, and the hash follows from it and the blind index
    assert column_type == "text"
    assert json.loads(text) == row.envelope
    unsent = {k: v for k, v in json.loads(text).items() if k != "sent_at"}
    assert text == '{"sent_at":"2026-11-26T09:00:00+09:00",' + env.canonical_json(unsent)[1:]
    blind = row.individual_number_blind_index.hex()
    hashed = env.canonical_json(unsent).replace(
        '"individual_number":"' + env.ENCRYPTED_MARKER + '"', f'"individual_number":"blind:{blind}"'
    )
    assert row.content_sha256 == hashlib.sha256(hashed.encode()).hexdigest()


def test_same_notice_twice_is_a_duplicate_with_the_first_result(django_capture_on_commit_callbacks):
    # given scenario 5: the same notice sent twice
    client = cs_client()
    first = notice()
    post_notices(client, [first])
    intake_process_pending()
    # when it is sent again
    response = post_notices(client, [first])
    # then
    receipt = response.json()["receipts"][0]
    assert receipt["status"] == "duplicate" and receipt["first_result"] == {"status": "applied", "code": None}
    assert receipt["content_mismatch"] is False
    assert Notice.objects.count() == 1 and PushOutbox.objects.count() == 1
    assert DuplicateReceipt.objects.filter(content_mismatch=False).count() == 1
    assert not Alert.objects.exists()


def test_reused_id_of_a_rejected_notice_with_other_content_is_a_mismatch_duplicate():
    # given scenario 6: a notice rejected with E003
    client = cs_client()
    first = notice(payload=identity_payload(name=None))
    post_notices(client, [first])
    intake_process_pending()
    assert Notice.objects.get().code == "E003"
    # when its id is reused with other content
    second = {**first, "payload": identity_payload()}
    receipt = post_notices(client, [second]).json()["receipts"][0]
    # then
    assert receipt["status"] == "duplicate" and receipt["content_mismatch"] is True
    assert receipt["first_result"] == {"status": "rejected", "code": "E003"}
    assert Notice.objects.count() == 1
    assert Alert.objects.filter(kind=Alert.Kind.CONTENT_MISMATCH).count() == 1
    assert DuplicateReceipt.objects.get().content_mismatch is True


def test_sent_at_alone_does_not_make_a_mismatch():
    client = cs_client()
    first = notice()
    post_notices(client, [first])
    receipt = post_notices(client, [{**first, "sent_at": "2025-04-01T11:00:00+09:00"}]).json()["receipts"][0]
    assert receipt["status"] == "duplicate" and receipt["content_mismatch"] is False


def test_duplicate_earlier_in_the_same_request():
    first = notice()
    receipts = post_notices(cs_client(), [first, first]).json()["receipts"]
    assert [r["status"] for r in receipts] == ["accepted", "duplicate"]
    assert receipts[1]["first_result"] == {"status": "pending", "code": None}
    assert Notice.objects.count() == 1


@pytest.mark.parametrize("rows_per_insert", [1000, 1])
def test_a_resend_among_new_notices_stores_the_new_ones_in_request_order_with_every_column(
    monkeypatch: pytest.MonkeyPatch, rows_per_insert: int
) -> None:
    # given a stored notice (the COPY fails on its id when it comes again, and the rows go in by INSERT … ON CONFLICT,
    # in statements of rows_per_insert rows)
    from prefserver.intake import receive

    monkeypatch.setattr(receive, "INSERT_ROWS_MAX", rows_per_insert)
    client = cs_client()
    resent = notice()
    post_notices(client, [resent])
    first, second = notice(), notice(payload=identity_payload(individual_number=None))
    # when it comes again between two new notices, and the second new one again after it
    receipts = post_notices(client, [first, resent, second, second]).json()["receipts"]
    # then
    assert [r["status"] for r in receipts] == ["accepted", "duplicate", "accepted", "duplicate"]
    assert receipts[3]["first_result"] == {"status": "pending", "code": None}
    stored = list(Notice.objects.order_by("id"))
    assert [n.notice_id for n in stored] == [resent["notice_id"], first["notice_id"], second["notice_id"]]
    both = {n.notice_id: n for n in Notice.objects.all()}
    for sent in (first, second):
        row = both[sent["notice_id"]]
        assert (row.municipality_code, row.file, row.resident_code, row.update_sequence, row.status) == (
            sent["municipality_code"], sent["file"], sent["resident_code"], sent["update_sequence"], "pending"
        )  # fmt: skip
        assert row.request_id == both[first["notice_id"]].request_id != both[resent["notice_id"]].request_id
    assert bytes(both[first["notice_id"]].individual_number_ciphertext)
    assert both[second["notice_id"]].individual_number_ciphertext is None
    assert DuplicateReceipt.objects.count() == 2


def test_a_request_of_new_notices_is_stored_by_copy_with_every_column():
    sent = [notice(), notice(payload=identity_payload(individual_number=None))]
    receipts = post_notices(cs_client(), sent).json()["receipts"]
    assert [r["status"] for r in receipts] == ["accepted", "accepted"]
    rows = list(Notice.objects.order_by("id"))
    assert [r.notice_id for r in rows] == [n["notice_id"] for n in sent]
    for row, element in zip(rows, sent, strict=True):
        assert row.envelope["notice_id"] == element["notice_id"]  # JSONTextField reads the text back as a dict
        assert (row.change_reason, row.hold_reason, row.error_count, row.code, row.message) == (
            element["change_reason"], "", 0, "", ""
        )  # fmt: skip
        assert len(row.content_sha256) == 64
    assert bytes(rows[0].individual_number_blind_index) and rows[1].individual_number_blind_index is None


def test_results_can_be_read_back_by_the_sender_only():
    # given an applied notice of 下関市
    client = cs_client()
    sent = notice()
    post_notices(client, [sent])
    intake_process_pending()
    # when the sender reads it
    response = client.get(f"/cs/v1/results/{sent['notice_id']}")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["code"], body["hold_reason"]) == ("applied", None, None)
    assert body["decided_at"]
    # then another municipality cannot
    assert cs_client(UBE).get(f"/cs/v1/results/{sent['notice_id']}").status_code == 404


def test_results_feed_serves_decided_rows_after_the_cursor_once_settled():
    import datetime as dt

    from jukinet import clock
    from prefserver.intake.results import notice_results_feed

    client = cs_client()
    sent = [notice(), notice("11", 1, payload=identity_payload(name=None))]
    post_notices(client, sent)
    intake_process_pending()
    # rows decided less than 5 s ago are not served yet
    assert client.get("/cs/v1/results?after=0").json()["results"] == []
    later = clock.now() + dt.timedelta(seconds=6)
    feed = notice_results_feed(municipality_code=YAMAGUCHI, after=0, as_of=later)
    assert sorted((r["notice_id"], r["status"], r["code"]) for r in feed["results"]) == [
        (sent[0]["notice_id"], "applied", None),
        (sent[1]["notice_id"], "rejected", "E003"),
    ]
    assert [r["message"] for r in feed["results"] if r["code"] == "E003"] == [
        "必須項目がないか、値の形式が正しくありません。[name]"
    ]
    assert feed["results"][0]["cursor"] < feed["results"][1]["cursor"] == feed["next"]
    again = notice_results_feed(municipality_code=YAMAGUCHI, after=feed["next"], as_of=later)
    assert again["results"] == []
    assert notice_results_feed(municipality_code=UBE, after=0, as_of=later)["results"] == []


def test_a_concurrent_request_storing_the_same_id_first_makes_ours_a_duplicate(monkeypatch):
    # given another request that stores the same notice id between our duplicate check and our insert
    import uuid

    from jukinet import clock
    from prefserver.intake import receive

    sent = notice()
    original = receive.inbox_insert

    def racing_insert(rows, **kwargs):
        Notice.objects.create(
            municipality_code=YAMAGUCHI, notice_id=sent["notice_id"], file="identity", envelope={},
            content_sha256="0" * 64, request_id=uuid.uuid4(), received_at=clock.now(), received_on=clock.today(),
        )  # fmt: skip
        return original(rows, **kwargs)

    monkeypatch.setattr(receive, "inbox_insert", racing_insert)
    # when
    (receipt,) = receive.notices_receive(municipality_code=YAMAGUCHI, elements=[sent], actor=f"cs:{YAMAGUCHI}")
    # then ours is a duplicate of the stored one, with a mismatch (its content differs)
    assert (receipt.status, receipt.content_mismatch) == ("duplicate", True)
    assert receipt.first_result == {"status": "pending", "code": None}
    assert Notice.objects.count() == 1 and DuplicateReceipt.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_receipt_and_batch_do_not_wait_for_the_chain_lock_and_their_entries_are_sealed_into_the_chain():
    # given another session holding the operation log's chain lock (a long locked append elsewhere)
    import psycopg
    from django.db import connection

    from audit.services import OPLOG_LOCK_KEY
    from audit.verify import operation_log_verify
    from prefserver.intake.receive import notices_receive

    sent = notice()
    holder = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [OPLOG_LOCK_KEY])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait for the lock would fail the test, not hang it
        # when a request is received and processed meanwhile
        (receipt,) = notices_receive(municipality_code=YAMAGUCHI, elements=[sent], actor=f"cs:{YAMAGUCHI}")
        intake_process_pending()
        # then both committed with unchained entries
        assert receipt.status == "accepted" and Notice.objects.get().status == "applied"
        intake_kinds = [OperationKind.INTAKE_REQUEST_RECEIVED, OperationKind.INTAKE_BATCH_PROCESSED]
        assert not OperationLogEntry.objects.filter(kind__in=intake_kinds).exists()
    finally:
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    # and once the lock is free, the sealer chains them in the order written and the chain verifies
    operation_log_seal()
    kinds = list(
        OperationLogEntry.objects.filter(
            kind__in=[OperationKind.INTAKE_REQUEST_RECEIVED, OperationKind.INTAKE_BATCH_PROCESSED]
        )
        .order_by("sequence")
        .values_list("kind", flat=True)
    )
    assert kinds == [OperationKind.INTAKE_REQUEST_RECEIVED, OperationKind.INTAKE_BATCH_PROCESSED]
    result = operation_log_verify()
    assert result.ok, result.summary()

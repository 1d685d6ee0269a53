"""Output ledger and reprints (domain.md §12; scenario 55)."""

from __future__ import annotations

import pytest

from audit.models import OperationKind, OperationLogEntry
from disclosure import services
from disclosure.models import Decision, OutputLedgerEntry, StoredDocument
from jukinet.crypto import DecryptionError
from tests.disclosure.conftest import log_head, log_kinds, make_identity_person, receive

pytestmark = pytest.mark.django_db


def _handed_over(clerk, desk):
    person = make_identity_person()
    case = receive(clerk)
    services.disclosure_requester_match(
        case=case, operator=clerk, terminal=desk, person_id=person.pk, address_confirmed=True
    )
    services.disclosure_decide(case=case, operator=clerk, decision=Decision.GRANTED)
    services.disclosure_decision_notice_issue(case=case, operator=clerk)
    case.refresh_from_db()
    services.disclosure_payment_record(case=case, operator=clerk, amount_yen=case.fee_total_yen)
    return services.disclosure_confirmation_sheet_hand_over(case=case, operator=clerk)


def test_reprint_is_byte_identical_and_adds_a_ledger_row(clerk, administrator, desk):
    # given an issued confirmation sheet
    original = _handed_over(clerk, desk)
    rows_before = OutputLedgerEntry.objects.count()

    # when it is reprinted on another day by another operator
    head = log_head()
    reprint = services.document_reprint(entry=original.entry, operator=administrator, reason="汚損による再交付")

    # then the bytes are the stored ones and the ledger has one more row pointing at the same document
    assert reprint.content == original.content
    assert OutputLedgerEntry.objects.count() == rows_before + 1
    row = reprint.entry
    assert (row.is_reprint, row.document_id, row.sha256, row.operator, row.reprint_reason) == (
        True, original.entry.document_id, original.entry.sha256, administrator, "汚損による再交付")  # fmt: skip
    assert log_kinds(head) == [OperationKind.DOCUMENT_REPRINTED]
    entry = OperationLogEntry.objects.get(sequence=head + 1)
    assert entry.conditions["sha256"] == original.entry.sha256


def test_issued_pdfs_are_stored_encrypted_and_bound_to_their_case(clerk, desk):
    original = _handed_over(clerk, desk)
    stored = StoredDocument.objects.get(pk=original.entry.document_id)
    assert b"%PDF" not in bytes(stored.ciphertext)
    assert services.document_content(stored) == original.content
    # a blob moved to another row of another case does not decrypt
    other = StoredDocument.objects.exclude(pk=stored.pk).get()  # the decision notice of the same case
    other.ciphertext = stored.ciphertext
    with pytest.raises(DecryptionError):
        services.document_content(other)


def test_every_issued_output_is_in_the_ledger(clerk, desk):
    _handed_over(clerk, desk)
    issued = StoredDocument.objects.filter(issued=True)
    assert issued.count() == 2
    assert {d.pk for d in issued} == set(OutputLedgerEntry.objects.values_list("document_id", flat=True))
    assert OperationLogEntry.objects.filter(kind=OperationKind.DOCUMENT_ISSUED).count() == 2

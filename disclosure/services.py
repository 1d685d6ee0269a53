"""State changes of citizens' requests (domain.md §12). Every function is keyword-only, atomic, and writes
its operation-log entry as its last statement.

Workflow (docs/disclosure.md):
  receive → match (identity door; staff choose among candidates; none → 不存在) → decide →
  disclosure:        decision notice first (cost from the draft confirmation sheet) → payment → sheet
  provision status:  the 提供状況 report (released provision records of the last 7 years)
  correction:        referral to the municipality → link the later update notice, or a finding → result notice
  suspension:        administrator's decision (marker for the named affairs) → decision notice
Identity data is only ever read here, never written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.models import Affair, OperationKind, Operator, Role, Terminal
from audit.services import operation_log_record
from disclosure import pdf, ports
from disclosure.models import (
    CaseStatus,
    CorrectionInvestigation,
    Decision,
    DisclosureCase,
    DocumentKind,
    IdentityVerification,
    OutputLedgerEntry,
    Payment,
    RequestKind,
    StoredDocument,
    SuspensionDecision,
    TargetFile,
)
from disclosure.pdf.documents import reject_number_shaped
from disclosure.selectors import due_date_for, fee_in_force, windows_in_force
from disclosure.storage import document_aad, document_decrypt, document_encrypt
from jukinet import clock
from jukinet.models import Municipality
from jukinet.retention import retention_cutoff


class DisclosureError(Exception):
    """A request that the workflow does not allow; the message is shown to staff (Japanese, no values)."""


@dataclass(frozen=True, kw_only=True)
class Requester:
    """The requester as written on the designated form."""

    name: str
    kana: str
    birth_date: dt.date
    sex: int
    address: str
    postal_code: str = ""
    contact: str = ""

    def __repr__(self) -> str:
        return "<Requester>"


@dataclass(frozen=True, kw_only=True)
class Verification:
    """本人確認: method, document type, checking staff member (the operator) and date."""

    method: str
    document_type: str
    checked_on: dt.date


@dataclass(frozen=True, kw_only=True)
class IssuedPdf:
    """An issued (or reprinted) document: the bytes to print and its output-ledger row."""

    content: bytes
    entry: OutputLedgerEntry

    def __repr__(self) -> str:
        return f"<IssuedPdf ledger #{self.entry.pk}>"


# --- guards ----------------------------------------------------------------------------------------


def require_staff(operator: Operator, *, administrator: bool = False) -> None:
    """Disclosure work is for municipal-affairs staff; suspension decisions for administrators only.

    The contractor is refused in code whatever else the account holds (domain.md §10.1).
    """
    if operator.has_role(Role.CONTRACTOR):
        raise PermissionDenied("運用委託事業者は開示請求等の業務を利用できません")
    wanted = {Role.ADMINISTRATOR} if administrator else {Role.CLERK, Role.ADMINISTRATOR}
    if not wanted & set(operator.roles):
        raise PermissionDenied("この業務を行う権限がありません")


def _require_print(terminal: Terminal | None) -> None:
    # Terminals are enforced by the audit branch's middleware; a known terminal must be able to print.
    if terminal is not None and not terminal.can(Terminal.Capability.PRINT):
        raise PermissionDenied("この端末では利用できません")


def _locked(case: DisclosureCase) -> DisclosureCase:
    return DisclosureCase.objects.select_for_update().get(pk=case.pk)


def _expect(case: DisclosureCase, *, kinds: Sequence[str], statuses: Sequence[str]) -> None:
    if case.kind not in kinds:
        raise DisclosureError("この種類の請求では行えない処理です")
    if case.status not in statuses:
        raise DisclosureError(f"現在の状態（{case.get_status_display()}）では行えない処理です")


def _no_number(values: dict[str, Any]) -> None:
    # Intake never records an individual number (seeds/002_b6d1246946737152.txt:398).
    for where, value in values.items():
        if isinstance(value, str):
            reject_number_shaped(value, where=where)


# --- documents and the output ledger ---------------------------------------------------------------


def _document_store(*, case: DisclosureCase, kind: str, rendered: pdf.RenderedPdf) -> StoredDocument:
    aad = document_aad(case_id=case.pk, kind=kind, sha256=rendered.sha256)
    return StoredDocument.objects.create(
        case=case,
        kind=kind,
        ciphertext=document_encrypt(rendered.content, aad=aad),
        pages=rendered.pages,
        sha256=rendered.sha256,
        substitution_note=rendered.substitution_note[:500],
    )


def document_content(document: StoredDocument) -> bytes:
    """The stored bytes, checked against the recorded SHA-256."""
    aad = document_aad(case_id=document.case_id, kind=document.kind, sha256=document.sha256)
    content = document_decrypt(bytes(document.ciphertext), aad=aad)
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise DisclosureError("保存文書のハッシュ値が一致しません")
    return content


def _ledger_add(
    *, document: StoredDocument, operator: Operator, is_reprint: bool = False, reason: str = ""
) -> OutputLedgerEntry:
    return OutputLedgerEntry.objects.create(
        document=document,
        case_id=document.case_id,
        kind=document.kind,
        pages=document.pages,
        sha256=document.sha256,
        substitution_note=document.substitution_note,
        operator=operator,
        is_reprint=is_reprint,
        reprint_reason=reason,
    )


def _issue(*, case: DisclosureCase, kind: str, document: pdf.PrintDocument, operator: Operator) -> IssuedPdf:
    """Render, keep encrypted, and enter the output ledger (issuing; a draft skips the ledger)."""
    rendered = pdf.render_pdf(document)
    stored = _document_store(case=case, kind=kind, rendered=rendered)
    stored.issued = True
    stored.save(update_fields=["issued"])
    return IssuedPdf(content=rendered.content, entry=_ledger_add(document=stored, operator=operator))


def _log_issued(*, operator: Operator, terminal: Terminal | None, issued: IssuedPdf) -> None:
    operation_log_record(
        actor=operator,
        kind=OperationKind.DOCUMENT_ISSUED,
        terminal=terminal,
        targets=[issued.entry.case, issued.entry],
        conditions={"document": issued.entry.kind, "pages": issued.entry.pages, "sha256": issued.entry.sha256},
        result_count=issued.entry.pages,
    )


def _addressee(case: DisclosureCase) -> pdf.Addressee:
    return pdf.Addressee(
        name=case.requester_name, address=case.requester_address, postal_code=case.requester_postal_code
    )


# --- intake ----------------------------------------------------------------------------------------


@transaction.atomic
def disclosure_case_receive(
    *,
    operator: Operator,
    terminal: Terminal | None = None,
    kind: str,
    received_on: dt.date,
    form_version: str,
    window_index: int = 0,
    requester: Requester,
    verification: Verification,
    file: str = TargetFile.IDENTITY,
    include_history: bool = False,
    request_summary: str = "",
    correction_kind: str = "",
    correction_points: Sequence[dict[str, str]] = (),
    suspension_affair_codes: Sequence[str] = (),
) -> DisclosureCase:
    """Receive a written request with its identity check. The due date is computed here (§12)."""
    require_staff(operator)
    if kind not in RequestKind.values or file not in TargetFile.values:
        raise DisclosureError("請求の種類または対象ファイルが正しくありません")
    if received_on > clock.today():
        raise DisclosureError("受付日が未来の日付です")
    windows = windows_in_force(received_on)
    if not 0 <= window_index < len(windows):
        raise DisclosureError("受付窓口が正しくありません")
    if verification.method not in IdentityVerification.Method.values or not verification.document_type:
        raise DisclosureError("本人確認の方法と書類を記録してください")
    points = [{"item": p.get("item", ""), "requested": p.get("requested", "")} for p in correction_points]
    if kind == RequestKind.CORRECTION and (not correction_kind or not points):
        raise DisclosureError("訂正等の種類と箇所を記入してください")
    codes = list(dict.fromkeys(suspension_affair_codes))
    if kind == RequestKind.SUSPENSION:
        if not codes:
            raise DisclosureError("利用停止を求める事務を指定してください")
        known = set(Affair.objects.filter(code__in=codes).values_list("code", flat=True))
        if missing := [c for c in codes if c not in known]:
            raise DisclosureError(f"事務一覧にない事務コードです: {', '.join(missing)}")
    texts = {
        "氏名": requester.name, "ふりがな": requester.kana, "住所": requester.address,
        "郵便番号": requester.postal_code, "連絡先": requester.contact, "請求の内容": request_summary,
        "本人確認書類": verification.document_type, "様式の版": form_version,
    }  # fmt: skip
    texts.update({f"訂正箇所{i + 1}": p["item"] + " " + p["requested"] for i, p in enumerate(points)})
    _no_number(texts)
    case = DisclosureCase.objects.create(
        kind=kind,
        file=file,
        include_history=include_history and kind == RequestKind.DISCLOSURE,
        window_index=window_index,
        window_name=windows[window_index].name,
        received_on=received_on,
        form_version=form_version,
        due_on=due_date_for(received_on),
        requester_name=requester.name,
        requester_kana=requester.kana,
        requester_birth_date=requester.birth_date,
        requester_sex=requester.sex,
        requester_postal_code=requester.postal_code,
        requester_address=requester.address,
        requester_contact=requester.contact,
        request_summary=request_summary,
        correction_kind=correction_kind if kind == RequestKind.CORRECTION else "",
        correction_points=points if kind == RequestKind.CORRECTION else [],
        suspension_affair_codes=codes if kind == RequestKind.SUSPENSION else [],
        received_by=operator,
    )
    IdentityVerification.objects.create(
        case=case,
        method=verification.method,
        document_type=verification.document_type,
        checked_by=operator,
        checked_on=verification.checked_on,
    )
    if kind == RequestKind.CORRECTION:
        CorrectionInvestigation.objects.create(case=case)  # a correction request opens an investigation
    operation_log_record(
        actor=operator,
        kind=OperationKind.DISCLOSURE_RECEIVED,
        terminal=terminal,
        targets=[case],
        conditions={"request_kind": kind, "file": file, "due_on": case.due_on.isoformat()},
    )
    return case


# --- matching --------------------------------------------------------------------------------------


@transaction.atomic
def disclosure_requester_match(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    person_id: int | None,
    address_confirmed: bool,
) -> DisclosureCase:
    """Record the staff's choice among the candidates (exact name_key + birth date + sex, §12).

    `person_id` must be one of the candidates, and staff must have confirmed the address against the
    identity document. `None` records that no candidate is the requester: the decision will be 不存在.
    The candidates shown and the choice are logged (scenario 54).
    """
    require_staff(operator)
    case = _locked(case)
    _expect(case, kinds=RequestKind.values, statuses=[CaseStatus.RECEIVED])
    try:
        candidates = ports.identity_match_candidates(
            operator=operator,
            terminal=terminal,
            file=case.file,
            name=case.requester_name,
            birth_date=case.requester_birth_date,
            sex=case.requester_sex,
        )
    except ports.IdentityDoorRefused as refusal:
        raise DisclosureError(str(refusal)) from refusal
    candidate_ids = [c.person_id for c in candidates]
    if person_id is not None:
        if person_id not in candidate_ids:
            raise DisclosureError("照合の候補者から選択してください")
        if not address_confirmed:
            raise DisclosureError("本人確認書類で住所を確認してください")
    case.matched_person_id = person_id
    case.address_confirmed = address_confirmed and person_id is not None
    case.matched_at = clock.now()
    case.matched_by = operator
    case.status = CaseStatus.MATCHED
    case.save(update_fields=["matched_person_id", "address_confirmed", "matched_at", "matched_by", "status"])
    person_label = "furyo.furyoperson" if case.file == TargetFile.FURYO else "prefserver.identityperson"
    operation_log_record(
        actor=operator,
        kind=OperationKind.DISCLOSURE_MATCHED,
        terminal=terminal,
        targets=[case] + ([(person_label, person_id)] if person_id is not None else []),
        outcome="ok" if person_id is not None else "not_found",
        conditions={
            "candidates": candidate_ids,
            "chosen": person_id,
            "address_confirmed": case.address_confirmed,
        },
        result_count=len(candidate_ids),
    )
    return case


# --- decision --------------------------------------------------------------------------------------


def _confirmation_sheet(case: DisclosureCase, *, operator: Operator, terminal: Terminal | None, on: dt.date):  # type: ignore[no-untyped-def]
    assert case.matched_person_id is not None  # noqa: S101 - checked by the caller
    records = ports.identity_records_for_disclosure(
        operator=operator,
        terminal=terminal,
        file=case.file,
        person_id=case.matched_person_id,
        include_history=case.include_history,
    )
    common = {"issued_on": on, "reference": case.reference, "received_on": case.received_on}
    if case.file == TargetFile.FURYO:
        return pdf.FuryoConfirmationSheet(addressee=_addressee(case), records=records, **common)  # type: ignore[arg-type]
    return pdf.ConfirmationSheet(addressee=_addressee(case), records=records, **common)  # type: ignore[arg-type]


@transaction.atomic
def disclosure_decide(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    decision: str,
    reason: str = "",
    decided_on: dt.date | None = None,
) -> DisclosureCase:
    """Decide a disclosure or provision-status request (or 不存在 for any unmatched request).

    For a granted disclosure the confirmation sheet is pre-rendered here as a draft (kept, not in the
    ledger) and the copy cost is computed from its page count and the fee table in force (§12).
    """
    require_staff(operator)
    case = _locked(case)
    _expect(case, kinds=RequestKind.values, statuses=[CaseStatus.MATCHED])
    day = decided_on or clock.today()
    if decision not in Decision.values:
        raise DisclosureError("決定の種類が正しくありません")
    if case.kind in (RequestKind.CORRECTION, RequestKind.SUSPENSION) and decision != Decision.NOT_EXISTS:
        raise DisclosureError("訂正等・利用停止は調査または管理者の決定で処理します")
    if decision == Decision.GRANTED and case.matched_person_id is None:
        raise DisclosureError("照合できていない請求は開示決定できません（不存在としてください）")
    if decision == Decision.NOT_EXISTS and case.matched_person_id is not None:
        raise DisclosureError("照合済みの請求は不存在にできません")
    if decision != Decision.GRANTED and not reason.strip():
        raise DisclosureError("不存在・不開示の理由を記入してください")
    _no_number({"理由": reason})
    fields = ["decision", "decision_reason", "decided_on", "decided_by", "status"]
    if decision == Decision.GRANTED and case.kind == RequestKind.DISCLOSURE:
        draft = pdf.render_pdf(_confirmation_sheet(case, operator=operator, terminal=terminal, on=day))
        _document_store(case=case, kind=DocumentKind.CONFIRMATION_SHEET, rendered=draft)
        fee = fee_in_force(day)
        cost = pdf.copy_fee(pages=draft.pages, per_sheet_yen=fee.per_sheet_yen, handling_yen=fee.handling_yen)
        case.fee_sheets, case.fee_total_yen = cost.sheets, cost.total_yen
        fields += ["fee_sheets", "fee_total_yen"]
    case.decision, case.decision_reason, case.decided_on, case.decided_by = decision, reason, day, operator
    case.status = CaseStatus.DECIDED
    case.save(update_fields=fields)
    operation_log_record(
        actor=operator,
        kind=OperationKind.DISCLOSURE_DECIDED,
        terminal=terminal,
        targets=[case],
        conditions={"decision": decision, "fee_sheets": case.fee_sheets, "fee_total_yen": case.fee_total_yen},
    )
    return case


def _cost(case: DisclosureCase) -> pdf.CopyFee | None:
    if case.fee_sheets is None or case.decided_on is None:
        return None
    fee = fee_in_force(case.decided_on)
    return pdf.copy_fee(pages=case.fee_sheets, per_sheet_yen=fee.per_sheet_yen, handling_yen=fee.handling_yen)


@transaction.atomic
def disclosure_decision_notice_issue(
    *, case: DisclosureCase, operator: Operator, terminal: Terminal | None = None, issued_on: dt.date | None = None
) -> IssuedPdf:
    """Issue the 開示決定通知書 (or its 不存在/不開示 variant). A granted disclosure's notice comes first and
    states the copy cost; the case then waits for payment. A variant closes the case."""
    require_staff(operator)
    _require_print(terminal)
    case = _locked(case)
    _expect(case, kinds=RequestKind.values, statuses=[CaseStatus.DECIDED])
    if case.kind != RequestKind.DISCLOSURE and case.decision == Decision.GRANTED:
        raise DisclosureError("提供状況の開示は提供状況開示書を交付してください")
    notice = pdf.DisclosureDecisionNotice(
        issued_on=issued_on or clock.today(),
        reference=case.reference,
        received_on=case.received_on,
        addressee=_addressee(case),
        kind=pdf.DecisionKind(case.decision),
        file=pdf.IdentityFile.FURYO if case.file == TargetFile.FURYO else pdf.IdentityFile.RESIDENT,
        fee=_cost(case) if case.decision == Decision.GRANTED else None,
        reason=case.decision_reason,
        window_index=case.window_index,
    )
    issued = _issue(case=case, kind=DocumentKind.DECISION_NOTICE, document=notice, operator=operator)
    if case.decision == Decision.GRANTED:
        case.status = CaseStatus.NOTIFIED
    else:
        case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
    case.save(update_fields=["status", "closed_at"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    return issued


@transaction.atomic
def disclosure_payment_record(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    amount_yen: int,
    paid_on: dt.date | None = None,
    receipt_reference: str = "",
) -> Payment:
    """Record the prepaid copy cost stated on the decision notice (the exact amount)."""
    require_staff(operator)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.DISCLOSURE], statuses=[CaseStatus.NOTIFIED])
    if amount_yen != case.fee_total_yen:
        raise DisclosureError(f"収納額が決定通知書の交付費用（{case.fee_total_yen}円）と一致しません")
    payment = Payment.objects.create(
        case=case,
        amount_yen=amount_yen,
        paid_on=paid_on or clock.today(),
        receipt_reference=receipt_reference,
        recorded_by=operator,
    )
    case.status = CaseStatus.PAID
    case.save(update_fields=["status"])
    operation_log_record(
        actor=operator,
        kind=OperationKind.PAYMENT_RECORDED,
        terminal=terminal,
        targets=[case, payment],
        conditions={"amount_yen": amount_yen},
    )
    return payment


@transaction.atomic
def disclosure_confirmation_sheet_hand_over(
    *, case: DisclosureCase, operator: Operator, terminal: Terminal | None = None
) -> IssuedPdf:
    """Issue the draft confirmation sheet (the very pages the cost was computed from), after payment."""
    require_staff(operator)
    _require_print(terminal)
    case = _locked(case)
    if case.kind == RequestKind.DISCLOSURE and case.status == CaseStatus.NOTIFIED:
        raise DisclosureError("交付費用の収納を記録してから確認書を交付してください")
    _expect(case, kinds=[RequestKind.DISCLOSURE], statuses=[CaseStatus.PAID])
    if not Payment.objects.filter(case=case).exists():
        raise DisclosureError("交付費用の収納を記録してから確認書を交付してください")
    draft = StoredDocument.objects.get(case=case, kind=DocumentKind.CONFIRMATION_SHEET, issued=False)
    content = document_content(draft)
    draft.issued = True
    draft.save(update_fields=["issued"])
    issued = IssuedPdf(content=content, entry=_ledger_add(document=draft, operator=operator))
    case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
    case.save(update_fields=["status", "closed_at"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    return issued


# --- provision status --------------------------------------------------------------------------------


@transaction.atomic
def provision_status_report_issue(
    *, case: DisclosureCase, operator: Operator, terminal: Terminal | None = None, issued_on: dt.date | None = None
) -> IssuedPdf:
    """Issue the 提供状況 report: that person's released provision records of the last RETENTION_YEARS
    years (§9.4: records are kept 7 years), item names only, never an individual number."""
    require_staff(operator)
    _require_print(terminal)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.PROVISION_STATUS], statuses=[CaseStatus.DECIDED])
    if case.decision != Decision.GRANTED or case.matched_person_id is None:
        raise DisclosureError("不存在・不開示の決定は決定通知書を交付してください")
    day = issued_on or clock.today()
    period_from = clock.years_before(day, settings.RETENTION_YEARS)
    records = ports.provision_records_for_person(
        person_id=case.matched_person_id, file=case.file, since=clock.start_of_day(period_from)
    )
    subject = ports.identity_subject(
        operator=operator, terminal=terminal, file=case.file, person_id=case.matched_person_id
    )
    report = pdf.ProvisionStatusReport(
        issued_on=day,
        reference=case.reference,
        received_on=case.received_on,
        addressee=_addressee(case),
        subject_name=subject.name,
        subject_birth_date=subject.birth_date,
        period_from=period_from,
        period_to=day,
        rows=tuple(
            pdf.ProvisionStatusRow(
                released_on=clock.local_date(r.recorded_at),
                recipient=r.recipient,
                kind=pdf.ProvisionKind(r.kind),
                affair=r.affair,
                items=tuple(pdf.ReleasedItem(i) for i in r.items),
            )
            for r in records
        ),
    )
    issued = _issue(case=case, kind=DocumentKind.PROVISION_STATUS_REPORT, document=report, operator=operator)
    case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
    case.save(update_fields=["status", "closed_at"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    return issued


# --- corrections -----------------------------------------------------------------------------------

_RECORDED_ITEMS = {"氏名": "name", "住所": "address", "生年月日": "birth_date"}


def _municipality_head(code: str) -> str:
    name = Municipality.objects.filter(code=code).values_list("name", flat=True).first() or code
    return f"{name.split()[-1]}長"


@transaction.atomic
def correction_refer(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    method: str,
    referral_on: dt.date | None = None,
    reply_by: dt.date | None = None,
    notes: str = "",
) -> IssuedPdf:
    """Refer a correction request to the municipality holding the master (a referral document as PDF).

    Never an edit: the fix, if any, arrives as a normal update notice and is linked with
    `correction_notice_link` (seeds/000_4a892f0003cb7409.txt:124-125).
    """
    require_staff(operator)
    _require_print(terminal)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.CORRECTION], statuses=[CaseStatus.MATCHED])
    if case.matched_person_id is None:
        raise DisclosureError("照合できていない申出は回付できません（不存在としてください）")
    if method not in CorrectionInvestigation.ReferralMethod.values:
        raise DisclosureError("回付方法が正しくありません")
    _no_number({"調査メモ": notes})
    day = referral_on or clock.today()
    subject = ports.identity_subject(
        operator=operator, terminal=terminal, file=case.file, person_id=case.matched_person_id
    )
    points = tuple(
        pdf.CorrectionPoint(
            item=p["item"],
            recorded=str(getattr(subject, _RECORDED_ITEMS[p["item"]])) if p["item"] in _RECORDED_ITEMS else "",
            requested=p["requested"],
        )
        for p in case.correction_points
    )
    referral = pdf.MunicipalityReferral(
        issued_on=day,
        reference=f"{case.reference}（回付）",
        received_on=case.received_on,
        municipality_head=_municipality_head(subject.municipality_code),
        requester=_addressee(case),
        subject_name=subject.name,
        subject_birth_date=subject.birth_date,
        subject_address=subject.address,
        subject_resident_code=subject.resident_code,
        request_kind=pdf.CorrectionKind(case.correction_kind),
        points=points,
        reply_by=reply_by,
    )
    issued = _issue(case=case, kind=DocumentKind.MUNICIPALITY_REFERRAL, document=referral, operator=operator)
    investigation = CorrectionInvestigation.objects.select_for_update().get(case=case)
    investigation.municipality_code = subject.municipality_code
    investigation.referral_method, investigation.referral_on = method, day
    investigation.referral_reference = referral.reference
    investigation.notes = "\n".join(filter(None, [investigation.notes, notes]))
    investigation.save()
    case.status = CaseStatus.REFERRED
    case.save(update_fields=["status"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    operation_log_record(
        actor=operator,
        kind=OperationKind.CORRECTION_REFERRED,
        terminal=terminal,
        targets=[case, investigation, issued.entry],
        conditions={"municipality_code": subject.municipality_code, "method": method, "referral_on": day.isoformat()},
    )
    return issued


@transaction.atomic
def correction_notice_link(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    update_notice_id: int,
    corrected_on: dt.date,
) -> CorrectionInvestigation:
    """Link the later update notice (its inbox id) through which the municipality fixed the record."""
    require_staff(operator)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.CORRECTION], statuses=[CaseStatus.REFERRED])
    if update_notice_id < 1:
        raise DisclosureError("更新通知IDが正しくありません")
    investigation = CorrectionInvestigation.objects.select_for_update().get(case=case)
    investigation.update_notice_id, investigation.corrected_on = update_notice_id, corrected_on
    investigation.save(update_fields=["update_notice_id", "corrected_on"])
    operation_log_record(
        actor=operator,
        kind=OperationKind.DISCLOSURE_DECIDED,
        terminal=terminal,
        targets=[case, investigation, ("prefserver.notice", update_notice_id)],
        conditions={"correction": "notice_linked", "corrected_on": corrected_on.isoformat()},
    )
    return investigation


@transaction.atomic
def correction_close(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    outcome: str,
    finding: str,
    issued_on: dt.date | None = None,
) -> IssuedPdf:
    """Close the investigation with its finding and issue the 訂正等結果通知書.

    `corrected` needs the linked update notice; `not_corrected` is a finding (e.g. the record agrees with
    the municipality's master).
    """
    require_staff(operator)
    _require_print(terminal)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.CORRECTION], statuses=[CaseStatus.MATCHED, CaseStatus.REFERRED])
    investigation = CorrectionInvestigation.objects.select_for_update().get(case=case)
    if outcome not in (CorrectionInvestigation.Outcome.CORRECTED, CorrectionInvestigation.Outcome.NOT_CORRECTED):
        raise DisclosureError("調査結果が正しくありません")
    if outcome == CorrectionInvestigation.Outcome.CORRECTED and investigation.update_notice_id is None:
        raise DisclosureError("訂正した更新通知を関連付けてください")
    if not finding.strip():
        raise DisclosureError("調査結果を記入してください")
    _no_number({"調査結果": finding})
    summary = "、".join(f"{p['item']}（{p['requested']}）" for p in case.correction_points)
    notice = pdf.CorrectionResultNotice(
        issued_on=issued_on or clock.today(),
        reference=case.reference,
        received_on=case.received_on,
        addressee=_addressee(case),
        request_kind=pdf.CorrectionKind(case.correction_kind),
        request_summary=case.request_summary or summary,
        outcome=pdf.CorrectionOutcome(outcome),
        finding=finding,
        corrected_on=investigation.corrected_on,
    )
    issued = _issue(case=case, kind=DocumentKind.CORRECTION_RESULT, document=notice, operator=operator)
    investigation.outcome, investigation.finding = outcome, finding
    investigation.save(update_fields=["outcome", "finding"])
    case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
    case.save(update_fields=["status", "closed_at"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    operation_log_record(
        actor=operator,
        kind=OperationKind.DISCLOSURE_DECIDED,
        terminal=terminal,
        targets=[case, investigation],
        conditions={"correction": outcome},
    )
    return issued


# --- suspensions -----------------------------------------------------------------------------------


def _affair_names(codes: Sequence[str], on: dt.date) -> tuple[str, ...]:
    from audit.selectors import affair_in_force

    names = []
    for code in codes:
        affair = affair_in_force(code, on) or Affair.objects.filter(code=code).order_by("-effective_from").first()
        names.append(affair.name if affair else code)
    return tuple(names)


@transaction.atomic
def suspension_decide(
    *,
    case: DisclosureCase,
    operator: Operator,
    terminal: Terminal | None = None,
    outcome: str,
    affair_codes: Sequence[str] | None = None,
    effective_from: dt.date | None = None,
    reason: str = "",
    issued_on: dt.date | None = None,
) -> IssuedPdf:
    """An administrator decides a suspension request (§12). Granted: provision and transfer of this person
    under the named affairs refuse with Q11 from `effective_from` until lifted. Issues the decision notice."""
    require_staff(operator, administrator=True)
    _require_print(terminal)
    case = _locked(case)
    _expect(case, kinds=[RequestKind.SUSPENSION], statuses=[CaseStatus.MATCHED])
    if case.matched_person_id is None:
        raise DisclosureError("照合できていない申出は決定できません（不存在としてください）")
    if outcome not in SuspensionDecision.Outcome.values:
        raise DisclosureError("決定の種類が正しくありません")
    day = issued_on or clock.today()
    granted = outcome == SuspensionDecision.Outcome.GRANTED
    codes = list(affair_codes) if affair_codes is not None else list(case.suspension_affair_codes)
    if granted and (not codes or not set(codes) <= set(case.suspension_affair_codes)):
        raise DisclosureError("利用停止する事務は申出のあった事務から選んでください")
    if not granted and not reason.strip():
        raise DisclosureError("利用停止しない理由を記入してください")
    _no_number({"理由": reason})
    start = (effective_from or day) if granted else None
    if start is not None and start > clock.today():
        # provision's marker acts from the moment it is set: a later start would refuse too early
        raise DisclosureError("開始日に将来の日付は指定できません")
    decision = SuspensionDecision.objects.create(
        case=case,
        outcome=outcome,
        person_id=case.matched_person_id,
        file=case.file,
        affair_codes=codes if granted else [],
        effective_from=start,
        reason=reason,
        decided_by=operator,
    )
    if granted and start is not None:
        ports.provision_suspension_set(
            person_id=case.matched_person_id, file=case.file, affair_codes=codes, case_reference=case.reference
        )
    notice = pdf.SuspensionDecisionNotice(
        issued_on=day,
        reference=case.reference,
        received_on=case.received_on,
        addressee=_addressee(case),
        outcome=pdf.SuspensionOutcome(outcome),
        affairs=_affair_names(codes if granted else case.suspension_affair_codes, day),
        effective_from=start,
        reason=reason,
    )
    issued = _issue(case=case, kind=DocumentKind.SUSPENSION_DECISION, document=notice, operator=operator)
    case.decision = Decision.GRANTED if granted else Decision.REFUSED
    case.decided_on, case.decided_by, case.decision_reason = day, operator, reason
    case.status, case.closed_at = CaseStatus.CLOSED, clock.now()
    case.save(update_fields=["decision", "decided_on", "decided_by", "decision_reason", "status", "closed_at"])
    _log_issued(operator=operator, terminal=terminal, issued=issued)
    operation_log_record(
        actor=operator,
        kind=OperationKind.SUSPENSION_DECIDED,
        terminal=terminal,
        targets=[case, decision],
        conditions={
            "outcome": outcome,
            "affairs": codes if granted else [],
            "effective_from": start and start.isoformat(),
        },
    )
    return issued


@transaction.atomic
def suspension_lift(
    *,
    decision: SuspensionDecision,
    operator: Operator,
    terminal: Terminal | None = None,
    lifted_on: dt.date | None = None,
) -> SuspensionDecision:
    """An administrator lifts a granted suspension (e.g. at the person's request)."""
    require_staff(operator, administrator=True)
    decision = SuspensionDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.outcome != SuspensionDecision.Outcome.GRANTED or decision.lifted_on is not None:
        raise DisclosureError("解除できる利用停止ではありません")
    decision.lifted_on, decision.lifted_by = lifted_on or clock.today(), operator
    if decision.lifted_on > clock.today():
        raise DisclosureError("解除日に将来の日付は指定できません")
    decision.save(update_fields=["lifted_on", "lifted_by"])
    assert decision.person_id is not None  # noqa: S101 - granted decisions always name a person
    ports.provision_suspension_lift(
        person_id=decision.person_id, file=decision.file, case_reference=decision.case.reference
    )
    operation_log_record(
        actor=operator,
        kind=OperationKind.SUSPENSION_DECIDED,
        terminal=terminal,
        targets=[decision.case, decision],
        conditions={"lifted_on": decision.lifted_on.isoformat()},
    )
    return decision


# --- reprints --------------------------------------------------------------------------------------


@transaction.atomic
def document_reprint(
    *, entry: OutputLedgerEntry, operator: Operator, terminal: Terminal | None = None, reason: str
) -> IssuedPdf:
    """Print an issued document again: the stored bytes (never a re-rendering) and a new ledger row."""
    require_staff(operator)
    _require_print(terminal)
    if not reason.strip():
        raise DisclosureError("再出力の理由を記入してください")
    document = StoredDocument.objects.get(pk=entry.document_id)
    if not document.issued:
        raise DisclosureError("交付していない文書は再出力できません")
    content = document_content(document)
    issued = IssuedPdf(
        content=content, entry=_ledger_add(document=document, operator=operator, is_reprint=True, reason=reason)
    )
    operation_log_record(
        actor=operator,
        kind=OperationKind.DOCUMENT_REPRINTED,
        terminal=terminal,
        targets=[issued.entry.case, issued.entry, entry],
        conditions={"document": document.kind, "pages": document.pages, "sha256": document.sha256},
        result_count=document.pages,
    )
    return issued


# --- retention -------------------------------------------------------------------------------------


@transaction.atomic
def disclosure_purge_expired(*, as_of: dt.date, dry_run: bool = False) -> dict[str, int]:
    """Delete closed cases with their PDFs and ledger rows RETENTION_YEARS after closure (domain.md §13).

    A case waits while any of its ledger rows (a late reprint) is younger than the period, and a granted
    suspension that has not been lifted keeps its case: the decision is the marker's basis.
    """
    cutoff = retention_cutoff(as_of)
    expired = (
        DisclosureCase.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=cutoff)
        .exclude(ledger_entries__printed_at__gte=cutoff)
        .exclude(suspension__outcome=SuspensionDecision.Outcome.GRANTED, suspension__lifted_on__isnull=True)
    )
    ids = list(expired.values_list("pk", flat=True))
    counts = {
        "cases": len(ids),
        "documents": StoredDocument.objects.filter(case_id__in=ids).count(),
        "ledger_entries": OutputLedgerEntry.objects.filter(case_id__in=ids).count(),
    }
    if ids and not dry_run:
        OutputLedgerEntry.objects.filter(case_id__in=ids).delete()
        Payment.objects.filter(case_id__in=ids).delete()
        SuspensionDecision.objects.filter(case_id__in=ids).delete()
        DisclosureCase.objects.filter(pk__in=ids).delete()  # cascades: verification, documents, investigation
    operation_log_record(
        actor="system:purge",
        kind=OperationKind.PURGE,
        conditions={"scope": "disclosure", "as_of": as_of.isoformat(), "dry_run": dry_run, **counts},
        result_count=counts["cases"],
    )
    return counts

"""例外修正: the exceptional correction path (domain.md §6.6).

The prefecture never edits identity data by hand, except for events the system cannot handle, under
procedures that are checked periodically (seeds/002_b6d1246946737152.txt:1595-1596). A clerk drafts (file,
person, fields, reason, document reference); an administrator other than the drafter approves, which applies
the correction as a version with code 99:

- it supersedes the current version and sets that version's `deleted` (§6.2, §6.6);
- it keeps the current `update_sequence` (the municipality's next notice still carries stored + 1), copies
  field 14 and `removed`, and holds the drafting clerk and terminal in fields 16–17;
- it is pushed with the next `revision` on that `update_sequence` (§7: key (resident_code, update_sequence,
  revision)), through a PushOutbox row in the same transaction;
- it reaches the person's current municipality as a `manual_correction` row of the results feed (§6.7).

An auditor checks every correction each quarter (MANUAL_CORRECTION_CHECK_MONTHS); one left unchecked after its
quarter raises an Alert (§15). Values are validated with intake's own envelope checks (§6.4 steps 1, 4–9).
No value, and never an individual number, enters the operation log: only keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction

from audit.models import OperationKind, Operator, Role, Terminal
from audit.services import operation_log_record
from furyo.models import FuryoPerson, FuryoVersion
from furyo.versions import FuryoEnvelope, furyo_version_mark_deleted, furyo_version_write
from furyo.versions import content_of as furyo_content_of
from jukinet import clock
from jukinet.config import setting_value
from jukinet.crypto import blind_index, decrypt_individual_number, encrypt_individual_number, mask_individual_number
from prefserver.intake.envelope import (
    ENCRYPTED_MARKER,
    FURYO,
    IDENTITY,
    MANUAL_CORRECTION,
    PAYLOAD_KEYS,
    Failure,
    check_allowed_keys,
    check_dates,
    check_identifiers,
    check_municipality_codes,
    check_required,
    receipt_check,
)
from prefserver.intake.process import advisory_key, prefecture_codes
from prefserver.models import Alert, IdentityPerson, IdentityVersion, ManualCorrection, PushOutbox
from prefserver.versions import Envelope, identity_version_mark_deleted, identity_version_write
from prefserver.versions import content_of as identity_content_of

CORRECTION_TABLE = "prefserver_manualcorrection"
SYSTEM_ACTOR = "system:corrections"
# A 99 copies field 14 and `removed` (§6.6). In file (2) both are payload content (附票管理市町村コード, and
# `status`, whose 9 is `removed`, §6.2), so neither is correctable here: they change by the municipality's notices.
FIXED_KEYS = {IDENTITY: frozenset[str](), FURYO: frozenset({"furyo_municipality_code", "status"})}
KEY_LABELS = {
    "E001": "値の型が正しくありません", "E002": "修正できない項目です", "E003": "値が正しくありません",
    "E004": "住民票コードが正しくありません", "E005": "個人番号が正しくありません",
    "E006": "市町村コードが正しくありません", "E008": "日付が未来です",
}  # fmt: skip


class CorrectionError(Exception):
    """A correction that cannot be drafted, approved or checked; the message is Japanese and names keys only."""


PERSON_MODELS: dict[str, Any] = {IDENTITY: IdentityPerson, FURYO: FuryoPerson}
VERSION_MODELS: dict[str, Any] = {IDENTITY: IdentityVersion, FURYO: FuryoVersion}


# --- content and validation --------------------------------------------------------------------------------


def current_version(file: str, person: Any) -> Any:
    if person.current_version_id is None or person.current_version_expiry_year is None:
        return None
    return VERSION_MODELS[file].objects.get(
        pk=person.current_version_id, expiry_year=person.current_version_expiry_year
    )


def content_of(file: str, version: Any) -> dict[str, Any]:
    """The version's full content (file (1): the number decrypted; file (2): with former_resident_code)."""
    return identity_content_of(version) if file == IDENTITY else furyo_content_of(version)


def field_14(file: str, version: Any) -> str:
    """The person's current municipality (§4.1 field 14; file (2): 附票管理市町村コード)."""
    return str(version.municipality_code if file == IDENTITY else version.furyo_municipality_code)


def _as_payload(file: str, content: dict[str, Any]) -> dict[str, Any]:
    payload = {key: content[key] for key in PAYLOAD_KEYS[file]}
    if isinstance(payload["birth_date"], dt.date):
        payload["birth_date"] = payload["birth_date"].isoformat()
    return payload


def validate_changes(*, file: str, version: Any, changes: dict[str, Any], operator_id: str, terminal_id: str) -> None:
    """Intake's own format checks (§6.4 steps 1, 4–9) on the corrected content as a whole notice."""
    if not changes:
        raise CorrectionError("修正する項目がありません。")
    fixed = sorted(set(changes) & FIXED_KEYS[file])
    if fixed:
        raise CorrectionError(f"修正できない項目です: {', '.join(fixed)}")
    before = _as_payload(file, content_of(file, version))
    payload = {**before, **changes}
    envelope = {
        "notice_id": "MANUAL-CORRECTION", "municipality_code": field_14(file, version), "file": file,
        "change_reason": MANUAL_CORRECTION, "change_date": clock.today().isoformat(),
        "update_sequence": int(version.update_sequence), "resident_code": version.resident_code,
        "payload": payload, "operator_id": operator_id, "terminal_id": terminal_id,
        "sent_at": clock.now().isoformat(),
    }  # fmt: skip
    if receipt_check(envelope) is not None:
        bad = [k for k in changes if receipt_check({**envelope, "payload": {**before, k: changes[k]}})]
        raise CorrectionError(_message(Failure("E001", tuple(bad))))
    number = payload.get("individual_number") if file == IDENTITY else None
    failure = (
        check_allowed_keys(envelope)
        or check_required(envelope)
        or check_municipality_codes(envelope, prefecture_codes=prefecture_codes())
        or check_identifiers(envelope, individual_number=number)
        or check_dates(envelope, received_on=clock.today())
    )
    if failure:
        raise CorrectionError(_message(failure))
    if all(before.get(key) == value for key, value in changes.items()):
        raise CorrectionError("現在の内容と同じです。")


def _message(failure: Failure) -> str:
    return f"{KEY_LABELS.get(failure.code, '値が正しくありません')}（{failure.code}）: {', '.join(failure.keys)}"


def changes_of(correction: ManualCorrection) -> dict[str, Any]:
    """The drafted changes with the individual number decrypted (for apply and the approver's screen only)."""
    changes = dict(correction.changes)
    ciphertext = correction.individual_number_ciphertext
    if changes.get("individual_number") == ENCRYPTED_MARKER and ciphertext is not None:
        changes["individual_number"] = decrypt_individual_number(
            bytes(ciphertext), table=CORRECTION_TABLE, person_id=correction.person_id
        )
    return changes


def operator_field(operator: Operator) -> str:
    """Field 16 of a 99: the drafting clerk (a prefectural operator, told apart from municipal IDs)."""
    return f"PREF-{operator.pk}"[:32]


def terminal_field(terminal: Terminal) -> str:
    """Field 17 of a 99: the drafting terminal."""
    return f"PREF-T{terminal.pk}"[:32]


# --- draft --------------------------------------------------------------------------------------------------


def _require_role(operator: Operator, role: str) -> None:
    if not operator.has_role(role):
        raise PermissionDenied(role)


@transaction.atomic
def manual_correction_draft(
    *,
    clerk: Operator,
    terminal: Terminal,
    file: str,
    person_id: int,
    changes: dict[str, Any],
    reason: str,
    document_reference: str,
) -> ManualCorrection:
    """A clerk's draft of an exceptional correction (§6.6). Nothing changes in file (1) or (2) until approval."""
    _require_role(clerk, Role.CLERK)
    if file not in (IDENTITY, FURYO):
        raise CorrectionError("ファイルが正しくありません。")
    if not reason.strip() or not document_reference.strip():
        raise CorrectionError("修正理由と根拠書類を入力してください。")
    person = PERSON_MODELS[file].objects.filter(pk=person_id).first()
    version = current_version(file, person) if person is not None else None
    if version is None:
        raise CorrectionError("対象者が見つかりません。")
    validate_changes(
        file=file, version=version, changes=changes, operator_id=operator_field(clerk),
        terminal_id=terminal_field(terminal),
    )  # fmt: skip
    stored = dict(changes)
    ciphertext = index = None
    if file == IDENTITY and "individual_number" in stored:
        number = str(stored["individual_number"])
        _, ciphertext = encrypt_individual_number(number, table=CORRECTION_TABLE, person_id=person_id)
        index = blind_index(number)
        stored["individual_number"] = ENCRYPTED_MARKER
    correction = ManualCorrection.objects.create(
        file=file, person_id=person_id, resident_code=version.resident_code, changes=stored,
        individual_number_ciphertext=ciphertext, individual_number_blind_index=index, reason=reason,
        document_reference=document_reference, drafted_by=clerk, drafted_terminal=terminal,
    )  # fmt: skip
    operation_log_record(
        actor=clerk,
        kind=OperationKind.MANUAL_CORRECTION_DRAFTED,
        terminal=terminal,
        targets=[correction, _person_target(file, person_id)],
        conditions={"file": file, "keys": sorted(changes)},
    )
    return correction


def _person_target(file: str, person_id: int) -> tuple[str, int]:
    return ("prefserver.identityperson" if file == IDENTITY else "furyo.furyoperson", person_id)


# --- approve / reject ---------------------------------------------------------------------------------------


def _decision_refusal(administrator: Operator, correction: ManualCorrection) -> str | None:
    if not administrator.has_role(Role.ADMINISTRATOR):
        return "not_administrator"
    if administrator.pk == correction.drafted_by_id:
        return "own_draft"  # §10.1: never approve one's own drafts
    return None


@transaction.atomic
def _record_refusal(*, operator: Operator, terminal: Terminal | None, correction: ManualCorrection, code: str) -> None:
    operation_log_record(
        actor=operator,
        kind=OperationKind.MANUAL_CORRECTION_APPROVED,
        terminal=terminal,
        targets=[correction],
        outcome="refused",
        conditions={"refusal": code},
    )


def manual_correction_approve(
    *, administrator: Operator, correction: ManualCorrection, terminal: Terminal | None = None
) -> ManualCorrection:
    """Approve and apply (§6.6). Refusals (not an administrator, own draft) are logged, then raised."""
    refusal = _decision_refusal(administrator, correction)
    if refusal:
        _record_refusal(operator=administrator, terminal=terminal, correction=correction, code=refusal)
        raise PermissionDenied(refusal)
    return _approve(administrator=administrator, correction=correction, terminal=terminal)


@transaction.atomic
def _approve(*, administrator: Operator, correction: ManualCorrection, terminal: Terminal | None) -> ManualCorrection:
    correction = ManualCorrection.objects.select_for_update().get(pk=correction.pk)
    if correction.status != ManualCorrection.Status.DRAFTED:
        raise CorrectionError("承認待ちの例外修正ではありません。")
    file = correction.file
    person, current = _lock_person(file, correction.person_id)
    changes = changes_of(correction)
    validate_changes(
        file=file, version=current, changes=changes, operator_id=operator_field(correction.drafted_by),
        terminal_id=terminal_field(correction.drafted_terminal),
    )  # fmt: skip
    version = _write_99(file=file, person=person, current=current, correction=correction, changes=changes)
    PushOutbox.objects.create(
        file=file, person_id=person.pk, resident_code=version.resident_code, update_sequence=version.update_sequence,
        revision=version.revision, version_id=version.pk, version_expiry_year=version.expiry_year,
    )  # fmt: skip
    correction.status = ManualCorrection.Status.APPLIED
    correction.decided_by = administrator
    correction.decided_at = clock.now()
    correction.version_id, correction.version_expiry_year = version.pk, version.expiry_year
    correction.replaced_version_id = current.pk
    correction.update_sequence, correction.revision = version.update_sequence, version.revision
    correction.resident_code = version.resident_code
    correction.municipality_code = field_14(file, version)
    correction.result_seq = _next_result_seq()
    correction.save()
    operation_log_record(
        actor=administrator,
        kind=OperationKind.MANUAL_CORRECTION_APPROVED,
        terminal=terminal,
        targets=[correction, _person_target(file, person.pk)],
        conditions={"file": file, "keys": sorted(changes), "revision": version.revision},
    )
    return correction


def _lock_person(file: str, person_id: int) -> tuple[Any, Any]:
    """Like intake (§6.5): the advisory lock on (file, resident_code), then the person row lock.

    The code is read before the lock; if a 27 moved the person meanwhile, the new code is locked too.
    """
    person_model = PERSON_MODELS[file]
    locked: set[str] = set()
    while True:
        person = person_model.objects.get(pk=person_id)
        version = current_version(file, person)
        if version is None:
            raise CorrectionError("対象者が見つかりません。")
        code = version.resident_code
        if code in locked:
            break
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key(file, code)])
        locked.add(code)
    person = person_model.objects.select_for_update().get(pk=person_id)
    current = current_version(file, person)
    if current is None or current.deleted:
        raise CorrectionError("削除された版は修正できません。")
    return person, current


def _write_99(*, file: str, person: Any, current: Any, correction: ManualCorrection, changes: dict[str, Any]) -> Any:
    """The 99 version: same update_sequence, next revision, field 14 and `removed` copied, clerk and terminal in
    fields 16–17; the replaced version gets `deleted` (§6.6)."""
    revision = _next_revision(file, person.pk, current.update_sequence)
    content = {**content_of(file, current), **changes}
    today = clock.today()
    values = {
        "resident_code": current.resident_code, "change_date": today, "municipality_code": current.municipality_code,
        "operator_id": operator_field(correction.drafted_by),
        "terminal_id": terminal_field(correction.drafted_terminal),
        "received_on": today, "update_sequence": current.update_sequence, "source_notice_id": None,
        "revision": revision,
    }  # fmt: skip
    if file == IDENTITY:
        identity_version_mark_deleted(version=current)
        return identity_version_write(
            person=person, content=content, envelope=Envelope(change_reason=MANUAL_CORRECTION, **values),
            removed=bool(current.removed),
        )  # fmt: skip
    furyo_version_mark_deleted(version=current)
    return furyo_version_write(
        person=person, content=content, envelope=FuryoEnvelope(notice_kind=MANUAL_CORRECTION, **values),
        removed=bool(current.removed),
    )  # fmt: skip


def _next_revision(file: str, person_id: int, update_sequence: int) -> int:
    """§7: revision is 0 for municipal notices and rises by 1 with each 99 on the same update_sequence."""
    revisions = VERSION_MODELS[file].objects.filter(person_id=person_id, update_sequence=update_sequence)
    latest = revisions.order_by("-revision").values_list("revision", flat=True).first()
    return int(latest or 0) + 1


def _next_result_seq() -> int:
    """The results feed's cursor (§6.7) comes from the notices' own sequence, so one cursor orders both."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('prefserver_notice_result_seq')")
        return int(cursor.fetchone()[0])


def manual_correction_reject(
    *, administrator: Operator, correction: ManualCorrection, note: str = "", terminal: Terminal | None = None
) -> ManualCorrection:
    """Reject a draft; nothing is written to file (1) or (2). Same refusals as approval."""
    refusal = _decision_refusal(administrator, correction)
    if refusal:
        _record_refusal(operator=administrator, terminal=terminal, correction=correction, code=refusal)
        raise PermissionDenied(refusal)
    return _reject(administrator=administrator, correction=correction, note=note, terminal=terminal)


@transaction.atomic
def _reject(
    *, administrator: Operator, correction: ManualCorrection, note: str, terminal: Terminal | None
) -> ManualCorrection:
    correction = ManualCorrection.objects.select_for_update().get(pk=correction.pk)
    if correction.status != ManualCorrection.Status.DRAFTED:
        raise CorrectionError("承認待ちの例外修正ではありません。")
    correction.status = ManualCorrection.Status.REJECTED
    correction.decided_by = administrator
    correction.decided_at = clock.now()
    correction.decision_note = note[:400]
    correction.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    # No kind of its own in audit.OperationKind: the approval kind with the outcome "rejected".
    operation_log_record(
        actor=administrator,
        kind=OperationKind.MANUAL_CORRECTION_APPROVED,
        terminal=terminal,
        targets=[correction, _person_target(correction.file, correction.person_id)],
        outcome="rejected",
        conditions={"file": correction.file, "keys": sorted(correction.changes)},
    )
    return correction


# --- quarterly check ----------------------------------------------------------------------------------------


@transaction.atomic
def manual_correction_check(
    *, auditor: Operator, correction: ManualCorrection, verdict: str, notes: str = "", terminal: Terminal | None = None
) -> ManualCorrection:
    """An auditor's check of an applied or rejected correction (§6.6); never of one's own actions (§10.1)."""
    _require_role(auditor, Role.AUDITOR)
    correction = ManualCorrection.objects.select_for_update().get(pk=correction.pk)
    if auditor.pk in (correction.drafted_by_id, correction.decided_by_id):
        raise PermissionDenied("own_action")
    if correction.status not in (ManualCorrection.Status.APPLIED, ManualCorrection.Status.REJECTED):
        raise CorrectionError("承認または却下された例外修正のみ点検できます。")
    if correction.checked_at is not None:
        raise CorrectionError("点検済みです。")
    if verdict not in ManualCorrection.Verdict.values:
        raise CorrectionError("点検結果を選んでください。")
    correction.checked_by, correction.checked_at = auditor, clock.now()
    correction.check_verdict, correction.check_notes = verdict, notes
    correction.save(update_fields=["checked_by", "checked_at", "check_verdict", "check_notes"])
    Alert.objects.filter(
        kind=Alert.Kind.MANUAL_CORRECTION_UNCHECKED, message=unchecked_alert_message(correction), resolved=False
    ).update(resolved=True)
    operation_log_record(
        actor=auditor,
        kind=OperationKind.MANUAL_CORRECTION_CHECKED,
        terminal=terminal,
        targets=[correction],
        conditions={"verdict": verdict},
    )
    return correction


def unchecked_alert_message(correction: ManualCorrection) -> str:
    """The alert's text; the check resolves the alert by it (Alert has no link to a correction)."""
    return f"例外修正 #{correction.pk} が点検期限を過ぎても点検されていません。"


def check_deadline(decided_at: dt.datetime, *, months: int) -> dt.datetime:
    """End of the check period holding `decided_at`: periods of `months` months from the fiscal year's start
    (April, Asia/Tokyo), so 3 gives the fiscal quarters Apr–Jun, Jul–Sep, Oct–Dec, Jan–Mar."""
    local = decided_at.astimezone(clock.TOKYO)
    index = (local.month - 4) % 12 // months  # periods since April
    start_offset = 3 + index * months + months  # months from January of the fiscal year's calendar year
    fiscal_year = local.year if local.month >= 4 else local.year - 1
    year, month = fiscal_year + start_offset // 12, start_offset % 12 + 1
    return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def manual_corrections_unchecked_alerts(*, as_of: dt.datetime) -> int:
    """Raise one Alert per correction still unchecked after its quarter (§6.6, §15); each only once."""
    months = int(setting_value("MANUAL_CORRECTION_CHECK_MONTHS", on=clock.local_date(as_of)))
    overdue = [
        c
        for c in ManualCorrection.objects.select_for_update(skip_locked=True)
        .filter(checked_at__isnull=True, unchecked_alerted_at__isnull=True, decided_at__isnull=False)
        .order_by("pk")
        if c.decided_at is not None and check_deadline(c.decided_at, months=months) <= as_of
    ]
    for correction in overdue:
        Alert.objects.create(kind=Alert.Kind.MANUAL_CORRECTION_UNCHECKED, message=unchecked_alert_message(correction))
        correction.unchecked_alerted_at = as_of
        correction.save(update_fields=["unchecked_alerted_at"])
    if overdue:
        operation_log_record(
            actor=SYSTEM_ACTOR,
            kind=OperationKind.ALERT_RAISED,
            targets=overdue,
            conditions={"check": "manual_correction_unchecked", "count": len(overdue), "months": months},
        )
    return len(overdue)


# --- reads for the screens ------------------------------------------------------------------------------------


def display_changes(correction: ManualCorrection) -> list[tuple[str, Any]]:
    """The drafted changes for the approver's screen: the number masked as ********3214 (§4.2)."""
    changes = changes_of(correction)
    if "individual_number" in changes:
        changes["individual_number"] = mask_individual_number(str(changes["individual_number"]))
    return sorted(changes.items())


@transaction.atomic
def manual_correction_for_approval(
    *, administrator: Operator, terminal: Terminal | None, correction_id: int
) -> tuple[ManualCorrection, list[tuple[str, Any]]]:
    """A draft with its values for the administrator who judges it; the view is logged like a record view."""
    _require_role(administrator, Role.ADMINISTRATOR)
    correction = ManualCorrection.objects.select_related("drafted_by", "drafted_terminal").get(pk=correction_id)
    changes = display_changes(correction)
    operation_log_record(
        actor=administrator,
        kind=OperationKind.IDENTITY_VIEWED if correction.file == IDENTITY else OperationKind.FURYO_VIEWED,
        terminal=terminal,
        targets=[correction, _person_target(correction.file, correction.person_id)],
        conditions={"file": correction.file, "view": "manual_correction"},
    )
    return correction, changes

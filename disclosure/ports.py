"""The disclosure app's doors to other apps' data (identity reads, provision records, suspension marker).

Citizens' requests read identity data only through the functions below. Each identity read writes its
operation-log entry (a search with conditions and count, or a view), as the provision app's selector door
does (domain.md §9, §11).

Wired to provision:
- `provision_records_for_person`  → `provision.selectors.provision_records_for_person(person, since)`
- `provision_suspension_set` / `provision_suspension_lift` → `provision.models.ProvisionSuspension` (Q11)

- `identity_match_candidates`       → `provision.selectors.staff_search` under affair INT-001 (rule 4)

Local, reading `prefserver`/`furyo` versions directly and logging IDENTITY/FURYO_VIEWED under INT-001:
- `identity_records_for_disclosure`, `identity_subject`. Provision's `record_detail` masks the number and
  reveals it only under an affair that permits it (INT-001 does not: Q08), while the confirmation sheet
  prints the requester's own number on paper. A print-purpose read in provision would replace these.

The return types are this module's own dataclasses so that callers do not change when the wiring does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.models import OperationKind, Operator, Terminal
from audit.services import operation_log_record
from disclosure.pdf import FuryoRecordItems, ReleasedItem, ResidentRecordItems, Sex
from jukinet import clock


@dataclass(frozen=True, kw_only=True)
class MatchCandidate:
    """A person meeting the exact matching conditions, as shown to staff to confirm the address."""

    person_id: int
    name: str
    name_kana: str
    birth_date: dt.date
    sex: int
    address: str
    removed: bool

    def __repr__(self) -> str:  # no personal data in repr (logs, tracebacks)
        return f"<MatchCandidate person #{self.person_id}>"


@dataclass(frozen=True, kw_only=True)
class Subject:
    """The recorded items a referral to the municipality names (current version)."""

    person_id: int
    name: str
    birth_date: dt.date
    address: str
    resident_code: str
    municipality_code: str  # the municipality holding the master (field 14 / 附票管理市町村)

    def __repr__(self) -> str:
        return f"<Subject person #{self.person_id}>"


@dataclass(frozen=True, kw_only=True)
class ProvisionRecordRow:
    """One provision record (domain.md §9.4) as the 提供状況 report needs it: no conditions, no number."""

    person_id: int
    recorded_at: dt.datetime
    recipient: str
    kind: str  # "provision" | "transfer"
    affair: str
    items: tuple[str, ...]  # ReleasedItem values (item names, never values)
    result: str  # "released" | "not_found" | "refused"


def _file_models(file: str) -> tuple[Any, Any, OperationKind, OperationKind]:
    from furyo.models import FuryoPerson, FuryoVersion
    from prefserver.models import IdentityPerson, IdentityVersion

    if file == "furyo":
        return FuryoPerson, FuryoVersion, OperationKind.FURYO_SEARCHED, OperationKind.FURYO_VIEWED
    return IdentityPerson, IdentityVersion, OperationKind.IDENTITY_SEARCHED, OperationKind.IDENTITY_VIEWED


# The catalogue's internal affair for this duty (fixtures/affairs.json): every identity read of a case names it.
MATCHING_AFFAIR_CODE = "INT-001"  # 本人確認情報の開示請求等に係る本人の照合に関する事務 (住基法 第30条の32)


class IdentityDoorRefused(Exception):
    """The identity door refused (Q09 terminal, Q10 usage approval, Q01/Q02 affair, Q06 too many…)."""

    def __init__(self, code: str) -> None:
        from jukinet.models import ResultCode

        self.code = code
        message = ResultCode.objects.filter(code=code).values_list("message", flat=True).first()
        super().__init__(f"{code}: {message or 'この操作は利用できません。'}")


def identity_match_candidates(
    *, operator: Operator, terminal: Terminal | None, file: str, name: str, birth_date: dt.date, sex: int
) -> list[MatchCandidate]:
    """Disclosure matching (domain.md §12): exact `name_key` + birth date + sex (§9.2 rule 4) through
    provision's staff door `staff_search` under MATCHING_AFFAIR_CODE, which checks terminal, usage
    approval and affair, logs the search with its count and writes its internal provision record.

    Removed persons are found too (a disclosure covers the latest version of a removed person); a person
    whose current version is deleted is never found. Raises `IdentityDoorRefused` with the Q code.
    """
    from provision.selectors import staff_search

    outcome = staff_search(
        operator=operator,
        terminal=terminal,
        file=file,
        affair_code=MATCHING_AFFAIR_CODE,
        conditions={"name": name, "birth_date": birth_date, "sex": sex},
    )
    if outcome.code:
        raise IdentityDoorRefused(outcome.code)
    return [
        MatchCandidate(
            person_id=row["person_id"],
            name=row["name"],
            name_kana=row["name_kana"],
            birth_date=row["birth_date"],
            sex=sex,
            address=row["address"],
            removed=row["removed"],
        )
        for row in sorted(outcome.rows, key=lambda r: r["person_id"])
    ]


def _matching_affair() -> Any:
    from audit.selectors import affair_in_force

    return affair_in_force(MATCHING_AFFAIR_CODE, clock.today())


def _change_reason_names() -> dict[str, str]:
    from jukinet.models import ChangeReason

    return dict(ChangeReason.objects.values_list("code", "name"))


def _resident_items(v: Any, reasons: dict[str, str]) -> ResidentRecordItems:
    from prefserver.versions import individual_number_of

    return ResidentRecordItems(
        name=v.name,
        name_kana=v.name_kana,
        birth_date=v.birth_date,
        sex=Sex(str(v.sex)),
        address=v.address,
        individual_number=individual_number_of(v),
        resident_code=v.resident_code,
        change_reason=reasons.get(v.change_reason, v.change_reason),
        change_date=v.change_date,
        former_surname=v.former_surname,
        former_surname_kana=v.former_surname_kana,
    )


def _furyo_items(v: Any) -> FuryoRecordItems:
    return FuryoRecordItems(
        name=v.name,
        name_kana=v.name_kana,
        birth_date=v.birth_date,
        sex=Sex(str(v.sex)),
        address=v.address,
        resident_code=v.resident_code,
        change_date=v.change_date,
        last_address=v.last_address,
    )


def identity_records_for_disclosure(
    *, operator: Operator, terminal: Terminal | None, file: str, person_id: int, include_history: bool
) -> tuple[ResidentRecordItems, ...] | tuple[FuryoRecordItems, ...]:
    """The versions a confirmation sheet prints (domain.md §12 'Scope'), current first, then history
    (newest first) only when asked for. Versions flagged deleted are not printed. Logged as a view."""
    person_model, version_model, _, viewed = _file_models(file)
    with transaction.atomic():
        person = person_model.objects.get(pk=person_id)
        current = version_model.objects.get(
            pk=person.current_version_id, expiry_year=person.current_version_expiry_year
        )
        versions = [current]
        if include_history:
            versions += list(
                version_model.objects.filter(person_id=person_id, is_current=False, deleted=False)
                .exclude(pk=current.pk)
                .order_by("-recorded_at", "-pk")
            )
        operation_log_record(
            actor=operator,
            kind=viewed,
            terminal=terminal,
            affair=_matching_affair(),
            targets=[person],
            conditions={"purpose": "disclosure", "include_history": include_history},
            result_count=len(versions),
        )
    if file == "furyo":
        return tuple(_furyo_items(v) for v in versions)
    reasons = _change_reason_names()
    return tuple(_resident_items(v, reasons) for v in versions)


def identity_subject(*, operator: Operator, terminal: Terminal | None, file: str, person_id: int) -> Subject:
    """Current recorded items for a referral to the municipality holding the master. Logged as a view."""
    person_model, version_model, _, viewed = _file_models(file)
    with transaction.atomic():
        person = person_model.objects.get(pk=person_id)
        v = version_model.objects.get(pk=person.current_version_id, expiry_year=person.current_version_expiry_year)
        operation_log_record(
            actor=operator,
            kind=viewed,
            terminal=terminal,
            affair=_matching_affair(),
            targets=[person],
            conditions={"purpose": "correction_referral"},
            result_count=1,
        )
    municipality = v.furyo_municipality_code if file == "furyo" else v.municipality_code
    return Subject(
        person_id=person_id,
        name=v.name,
        birth_date=v.birth_date,
        address=v.address,
        resident_code=v.resident_code,
        municipality_code=municipality,
    )


# --- provision records and the suspension marker (provision's functions) --------------------------------

_REPORTED_ITEMS = frozenset(ReleasedItem.values)  # name_kana goes out with 氏名 and is not listed apart


def provision_records_for_person(*, person_id: int, file: str, since: dt.datetime) -> list[ProvisionRecordRow]:
    """That person's `released` provision and transfer records since `since`, oldest first (domain.md §9.4,
    scenario 37), through `provision.selectors.provision_records_for_person`.

    The person, result and period are checked here again: a report must never list another person's
    record or a refusal, whatever the source returns. Item names only; a record keeps no number anyway.
    """
    from provision.selectors import provision_records_for_person as released_records

    person_model = _file_models(file)[0]
    person = person_model.objects.get(pk=person_id)
    rows = [
        ProvisionRecordRow(
            person_id=person_id,
            recorded_at=r.recorded_at,
            recipient=r.recipient.name if r.recipient else "",
            kind=r.release_kind,
            affair=r.affair.name if r.affair else r.affair_code,
            items=tuple(i for i in r.items if i in _REPORTED_ITEMS),
            result=r.result,
        )
        for r in released_records(person, since)
        if person_id in r.subjects and r.result == "released" and r.recorded_at >= since
    ]
    return sorted(rows, key=lambda r: r.recorded_at)


def provision_suspension_set(*, person_id: int, file: str, affair_codes: Sequence[str], case_reference: str) -> None:
    """Set provision's `ProvisionSuspension` marker for each named affair: from now on, provision and
    transfer of this person under it refuse with Q11 until lifted (domain.md §12)."""
    from provision.models import ProvisionSuspension

    for code in affair_codes:
        ProvisionSuspension.objects.create(
            person_id=person_id, file=file, affair_code=code, active=True, case_reference=case_reference
        )


def provision_suspension_lift(*, person_id: int, file: str, case_reference: str) -> int:
    """Lift the markers a case set; returns how many were active."""
    from provision.models import ProvisionSuspension

    return ProvisionSuspension.objects.filter(
        person_id=person_id, file=file, case_reference=case_reference, active=True
    ).update(active=False, lifted_at=clock.now())

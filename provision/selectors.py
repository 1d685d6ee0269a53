"""The only door to identity and 附票 records for search, view and release (domain.md §9; style.md).

Every function here checks access in the order of §9.2 (Q09 → Q10 → Q01 → Q02 → Q05 → Q04 → Q03 → Q08 →
query → Q06 → Q07 → Q11; Q12 belongs to bulk files), writes one provision record per attempt for releases
and staff searches, and writes the operation-log entry in the same transaction as its last statement.

- `release_lookup`: body and department operators (and clerks for bulk, media and paper on behalf of a named
  recipient). Exact single match only (§9.3): individual number, resident code, or the four 4情報 exact.
- `staff_search`, `record_detail`, `person_history`: municipal-affairs staff screens (§9.2 rules 1-5, cap).
- `national_release`: 別表第3 lookups of persons not held here, through the national simulator (§7).
- `provision_records_for_person`: the 提供状況 report's source (§12): released records of one subject.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from audit.models import Affair, Office, OperationKind, Operator, Role, Terminal, UsageApproval
from audit.services import operation_log_record, standalone_append_ready
from furyo.models import FuryoPerson, FuryoStatus, FuryoVersion
from furyo.temporary_numbers import temporary_number_pull
from jukinet import clock
from jukinet.config import DEFAULTS, setting_value
from jukinet.crypto import blind_index, blind_index_hex, mask_individual_number
from jukinet.db import loaded, prepared_cursor
from jukinet.models import Prefecture
from jukinet.partitions import SENTINEL_YEAR
from jukinet.reference import prefecture_name
from jukinet.search_keys import address_key, has_wildcard, name_key, seion_kana
from prefserver.models import IdentityPerson, IdentityVersion
from prefserver.versions import individual_number_of
from provision import access, sql
from provision.models import Channel, ProvisionRecord, ReleaseKind, Result, Source
from provision.records import provision_record_next_id, provision_record_statement, provision_record_write

IDENTITY = Affair.File.IDENTITY
FURYO = Affair.File.FURYO
CONDITION_KEYS = ("resident_code", "individual_number", "name", "name_kana", "birth_date", "sex", "address")
STAFF_ROLES = (Role.CLERK, Role.ADMINISTRATOR)
RECIPIENT_ROLES = (Role.BODY_OPERATOR, Role.DEPARTMENT_OPERATOR)
# Staff screens serve the section's own duties and the preparation of national queries (§9.2 Decision).
STAFF_CATEGORIES = (Affair.Category.INTERNAL, Affair.Category.SCHEDULE_3)
_DIGITS12 = re.compile(r"^\s*[0-9０-９]{12}\s*$")


class Refused(Exception):
    """A §19 refusal; `code` is the Q code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class LookupOutcome:
    """What a release answers: released (one record), not_found, or refused with its Q code."""

    result: str
    code: str = ""
    record: dict[str, Any] | None = field(default=None, repr=False)
    provision_record_id: int | None = None
    source: str = Source.LOCAL


@dataclass
class SearchOutcome:
    """A staff search: rows (≤ cap), or refused with a Q code (Q06 over the cap); `count` as logged."""

    result: str
    code: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    count: int = 0
    provision_record_id: int | None = None


# --- conditions -------------------------------------------------------------------------------------------


def logged_conditions(conditions: dict[str, Any]) -> dict[str, Any]:
    """Conditions as the log and provision records keep them: an individual number only as its blind index."""
    out: dict[str, Any] = {}
    for key, value in conditions.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, str) and (key == "individual_number" or _DIGITS12.match(value)):
            digits = unicodedata.normalize("NFKC", value).strip()
            out[f"{key}_blind_index"] = blind_index_hex(digits)
        elif value is not None:
            out[key] = value
    return out


def _present(conditions: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in conditions.items() if v not in (None, "")}


def _wildcard(conditions: dict[str, Any]) -> bool:
    return any(isinstance(v, str) and has_wildcard(v) for v in conditions.values())


def _is_release_rule(c: dict[str, Any], file: str) -> bool:
    """§9.3 exact rules: individual number (file (1)), resident code, or all four 4情報."""
    if "resident_code" in c or (file == IDENTITY and "individual_number" in c):
        return True
    return all(k in c for k in ("name", "birth_date", "sex", "address"))


def _strip_prefecture(text: str) -> str:
    for name in _prefecture_names():
        if text.startswith(name):
            return text[len(name) :]
    return text


_PREFECTURES: list[str] = []


def _prefecture_names() -> list[str]:
    if not _PREFECTURES:
        _PREFECTURES.extend(sorted(Prefecture.objects.values_list("name", flat=True), key=len, reverse=True))
    return _PREFECTURES


def _is_staff_rule(c: dict[str, Any], file: str) -> bool:
    """§9.2 rules 1-5 for staff screens."""
    if "resident_code" in c or (file == IDENTITY and "individual_number" in c):
        return True
    kana = seion_kana(c["name_kana"]) if "name_kana" in c else ""
    if kana and "birth_date" in c:  # rule 3 (exact, or a prefix of at least 2)
        return True
    if "name" in c and "birth_date" in c and "sex" in c:  # rule 4
        return True
    named = len(kana) >= 2 or "name" in c
    return named and "address" in c and len(_strip_prefecture(address_key(c["address"]))) >= 4  # rule 5


# --- queries ------------------------------------------------------------------------------------------------


def _versions(file: str) -> QuerySet[Any]:
    model = IdentityVersion if file == IDENTITY else FuryoVersion
    return model.objects.filter(is_current=True, deleted=False)


def _release_versions(file: str) -> QuerySet[Any]:
    """Current, not removed, not deleted. Such a version has no retention start, so it always sits in the
    sentinel partition: pinning `expiry_year` prunes the query to one partition (planning drops from tens of
    milliseconds to about one on a million residents; bench/lookup.py)."""
    return _versions(file).filter(removed=False, expiry_year=SENTINEL_YEAR)


def _filter(qs: QuerySet[Any], c: dict[str, Any], *, exact: bool) -> QuerySet[Any]:
    """All given conditions narrow (a conjunction). `exact` (releases) compares every key exactly."""
    if "resident_code" in c:
        qs = qs.filter(person__codes__resident_code=c["resident_code"], resident_code=c["resident_code"])
    if "individual_number" in c:
        digits = unicodedata.normalize("NFKC", c["individual_number"]).strip()
        qs = qs.filter(individual_number_blind_index=blind_index(digits))
    if "name" in c:
        qs = qs.filter(name_key=name_key(c["name"]))
    if "name_kana" in c:
        kana = seion_kana(c["name_kana"])
        qs = qs.filter(seion_kana=kana) if exact or len(kana) < 2 else qs.filter(seion_kana__startswith=kana)
    if "birth_date" in c:
        qs = qs.filter(birth_date=c["birth_date"])
    if "sex" in c:
        qs = qs.filter(sex=c["sex"])
    if "address" in c:
        key = address_key(c["address"])
        if exact:
            qs = qs.filter(address_key=key)
        elif _strip_prefecture(key) == key:  # no prefecture given: stored addresses begin with one
            own = prefecture_name()
            qs = qs.filter(Q(address_key__startswith=key) | Q(address_key__startswith=f"{own}{key}"))
        else:
            qs = qs.filter(address_key__startswith=key)
    return qs


# --- items released (§9.3) -----------------------------------------------------------------------------------


def identity_items(version: IdentityVersion, *, with_number: bool, resident_code: bool | None = None) -> dict[str, Any]:
    """File (1) items; `resident_code`: RESIDENT_CODE_RELEASE as already read (None: read it now)."""
    record: dict[str, Any] = {}
    # 番号整備法 第22条第7項 (seeds/002_b6d1246946737152.txt:870-872): transitional, a setting.
    if setting_value("RESIDENT_CODE_RELEASE") if resident_code is None else resident_code:
        record["resident_code"] = version.resident_code
    record.update(
        name=version.name,
        name_kana=version.name_kana,
        birth_date=version.birth_date.isoformat(),
        sex=version.sex,
        address=version.address,
        change_reason=version.change_reason,
        change_date=version.change_date.isoformat(),
    )
    if with_number:
        record["individual_number"] = individual_number_of(version)
    # 旧氏 (fields 25-28) is not released: seeds/002_b6d1246946737152.txt:818 omits it.
    return record


def furyo_items(version: FuryoVersion, *, resident_code: bool | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if setting_value("RESIDENT_CODE_RELEASE") if resident_code is None else resident_code:
        record["resident_code"] = version.resident_code
    record.update(
        name=version.name,
        name_kana=version.name_kana,
        birth_date=version.birth_date.isoformat(),
        sex=version.sex,
        address=version.address,
    )
    return record


def _emigrant_number(version: FuryoVersion, affair: Affair, record_id: int) -> str | None:
    """§5.3: the number of an emigrant (status 2) under a permitting affair, through furyo's
    `temporary_number_pull` (prefserver's one function, then the temporary store linked to the record)."""
    if version.status != FuryoStatus.ABROAD or not affair.individual_number_permitted:
        return None
    return temporary_number_pull(
        resident_code=version.resident_code, affair=affair, provision_record=ProvisionRecord(pk=record_id)
    )


def _log_pull(
    version: FuryoVersion, affair: Affair, record_id: int, operator: Operator, terminal: Terminal | None
) -> None:
    operation_log_record(
        actor=operator,
        kind=OperationKind.TEMPORARY_NUMBER_PULLED,
        terminal=terminal,
        affair=affair,
        targets=[("provision.provisionrecord", record_id), _person_target(FURYO, version.person_id)],
    )


# --- shared checks ------------------------------------------------------------------------------------------


def _check_terminal_and_role(*, operator: Operator, terminal: Terminal | None, capability: str) -> None:
    """Q09 (terminal and its capability), the role rule (recorded as Q02)."""
    if terminal is None or not terminal.can(capability):
        raise Refused("Q09")
    if not access.may_see_personal_data(operator, capability):
        raise Refused("Q02")  # the contractor, and roles without this capability (§10.1)


def _check_terminal_and_approval(*, operator: Operator, terminal: Terminal | None, capability: str) -> UsageApproval:
    """Q09 (terminal and its capability), the role rule (recorded as Q02), Q10 (today's usage approval)."""
    _check_terminal_and_role(operator=operator, terminal=terminal, capability=capability)
    approval = access.usage_approval(operator=operator, terminal=terminal)  # type: ignore[arg-type]
    if approval is None:
        raise Refused("Q10")
    return approval


def _check_affair_approval(approval: UsageApproval, affair: Affair) -> None:
    # A usage approval that names affairs covers only those (§10.4); answered by the affair's query.
    if not affair.approval_covers:  # type: ignore[attr-defined]
        raise Refused("Q10")


def _affair(
    code: str, on: dt.date, *, approval: UsageApproval | None = None, recipient: Office | None = None
) -> Affair:
    """The entry in force on `on` (Q01 if none); the same statement also answers whether it is assigned to the
    recipient and covered by the usage approval (provision.sql.AFFAIR_IN_FORCE)."""
    if not code:
        raise Refused("Q01")
    params = {"code": code, "on": on, "office": recipient.pk if recipient else None,
              "approval": approval.pk if approval else None}  # fmt: skip
    affair = next(iter(Affair.objects.raw(sql.AFFAIR_IN_FORCE, params)), None)
    if affair is None:
        raise Refused("Q01")
    return affair


_AFFAIR_COLUMNS = [f.attname for f in Affair._meta.concrete_fields]


def _access_params(
    operator: Operator, terminal: Terminal | None, affair_code: str, recipient: Office | None
) -> dict[str, Any]:
    now = clock.now()
    today = clock.local_date(now)
    return {
        "operator": operator.pk, "terminal": terminal.pk if terminal else None, "now": now,
        "day_end": clock.end_of_day(today), "code": affair_code, "on": today,
        "office": recipient.pk if recipient else None,
    }  # fmt: skip


_ACCESS_WIDTH = 2 + len(_AFFAIR_COLUMNS) + 2  # approval_id, record_id, the affair's columns, assigned, covers


def _access_from_row(row: Any) -> tuple[bool, int, Affair | None, bool]:
    """RELEASE_ACCESS's columns: approval found, record id, the affair in force (with `approval_covers`) or
    None, assigned to the recipient."""
    approval_id, record_id = row[0], int(row[1])
    affair_row = row[2 : 2 + len(_AFFAIR_COLUMNS)]
    assigned, covers = bool(row[_ACCESS_WIDTH - 2]), bool(row[_ACCESS_WIDTH - 1])
    affair = None
    if affair_row[0] is not None:
        affair = loaded(Affair, connection.alias, _AFFAIR_COLUMNS, affair_row)
        affair.approval_covers = covers  # type: ignore[attr-defined]
    return approval_id is not None, record_id, affair, assigned


def _release_access(
    operator: Operator, terminal: Terminal, affair_code: str, recipient: Office | None
) -> tuple[bool, int, Affair | None, bool]:
    """One statement (provision.sql.RELEASE_ACCESS): whether today's usage approval exists, the id of the
    provision record this attempt writes, the affair in force today (with `approval_covers`) or None, and
    whether it is assigned to the recipient. The caller applies §9.2's order."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.RELEASE_ACCESS, _access_params(operator, terminal, affair_code, recipient))
        return _access_from_row(cursor.fetchone())


def _conditions_pass(c: dict[str, Any], file: str) -> bool:
    """Q05, Q04 and Q03 would not refuse these conditions (they are decided after the access checks)."""
    return not (file == FURYO and "individual_number" in c) and not _wildcard(c) and _is_release_rule(c, file)


def _release_access_and_match(
    operator: Operator, terminal: Terminal | None, affair_code: str, recipient: Office, file: str,
    c: dict[str, Any], needs_number: bool,
) -> tuple[bool, int, Affair | None, bool, tuple[list[Any], bool] | None]:  # fmt: skip
    """`_release_access` and `release_match` in one statement (provision.sql.release_access_and_match). The
    match part is None when the database's guard did not pass (the caller then refuses, in §9.2 order)."""
    model, statement, params, columns = _match_statement(file, c, affair_code)
    params.update(_access_params(operator, terminal, affair_code, recipient), needs_number=needs_number)
    with prepared_cursor() as cursor:
        cursor.execute(sql.release_access_and_match(statement), params)
        rows = cursor.fetchall()
    approved, record_id, affair, assigned = _access_from_row(rows[0])
    guard = bool(rows[0][_ACCESS_WIDTH])
    access_width = _ACCESS_WIDTH + 1  # and the guard column
    matched = _matched_versions(model, columns, [row[access_width:] for row in rows if row[access_width] is not None])
    return approved, record_id, affair, assigned, matched if guard else None


def _match_statement(file: str, c: dict[str, Any], affair_code: str) -> tuple[Any, str, dict[str, Any], list[str]]:
    model = IdentityVersion if file == IDENTITY else FuryoVersion
    conditions: dict[str, Any] = {}
    if "resident_code" in c:
        conditions["resident_code"] = c["resident_code"]
    if "individual_number" in c:
        conditions["individual_number_blind_index"] = blind_index(
            unicodedata.normalize("NFKC", c["individual_number"]).strip()
        )
    if "name" in c:
        conditions["name_key"] = name_key(c["name"])
    if "name_kana" in c:
        conditions["seion_kana"] = seion_kana(c["name_kana"])
    if "birth_date" in c:
        conditions["birth_date"] = c["birth_date"]
    if "sex" in c:
        conditions["sex"] = c["sex"]
    if "address" in c:
        conditions["address_key"] = address_key(c["address"])
    statement, params, columns = sql.release_match(model, conditions)
    params.update(affair_code=affair_code, file=file, today=clock.today())
    return model, statement, params, columns


def _matched_versions(model: Any, columns: list[str], rows: list[Any]) -> tuple[list[Any], bool]:
    """release_match's rows as versions with `suspended`, and RESIDENT_CODE_RELEASE (default when no row)."""
    release_setting = DEFAULTS["RESIDENT_CODE_RELEASE"]
    found = []
    for row in rows:
        version = loaded(model, connection.alias, columns, row[: len(columns)])
        version.suspended = bool(row[len(columns)])
        if row[len(columns) + 1] is not None:
            release_setting = _json_value(row[len(columns) + 1])
        found.append(version)
    return found, bool(release_setting)


def release_match(file: str, c: dict[str, Any], affair_code: str) -> tuple[list[Any], bool]:
    """The §9.3 exact match in one statement (provision.sql.release_match): up to two current, not removed,
    not deleted versions meeting every given condition, each with `suspended` (an active suspension for the
    subject and affair, Q11); and RESIDENT_CODE_RELEASE in force today. The bench's bare endpoint uses it too."""
    model, statement, params, columns = _match_statement(file, c, affair_code)
    with prepared_cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    return _matched_versions(model, columns, rows)


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _assigned(affair: Affair, recipient: Office) -> bool:
    return bool(affair.assigned)  # type: ignore[attr-defined]  # the affair query asked for this recipient


def _release_recipient(operator: Operator, recipient: Office | None) -> Office | None:
    """The recipient a release is for: the operator's own body or department, or (clerk-run bulk, media and
    paper) the requesting recipient named on the request (§9.1)."""
    if recipient is not None:
        return recipient if any(operator.has_role(r) for r in STAFF_ROLES) else None
    office = operator.office
    if office is not None and office.is_recipient and any(operator.has_role(r) for r in RECIPIENT_ROLES):
        return office
    return None


def _release_kind(recipient: Office | None) -> str:
    if recipient is not None and recipient.kind == Office.Kind.BODY:
        return ReleaseKind.PROVISION
    return ReleaseKind.TRANSFER


def _log_kind(release_kind: str, source: str) -> OperationKind:
    if source == Source.NATIONAL:
        return OperationKind.NATIONAL_QUERY
    return OperationKind.PROVISION if release_kind == ReleaseKind.PROVISION else OperationKind.TRANSFER


def _person_target(file: str, person_id: int) -> tuple[str, int]:
    return ("prefserver.identityperson" if file == IDENTITY else "furyo.furyoperson", person_id)


# --- releases (bodies and departments) -----------------------------------------------------------------------


def release_lookup(
    *,
    operator: Operator,
    terminal: Terminal | None,
    file: str,
    affair_code: str,
    conditions: dict[str, Any],
    include_individual_number: bool = False,
    document_reference: str = "",
    channel: str = Channel.API,
    recipient: Office | None = None,
    bulk_request_id: int | None = None,
    log: bool = True,
) -> LookupOutcome:
    """One release attempt (§9.3): exactly one person, not_found, or refused; always one provision record.

    `log=False` only for bulk rows, whose file gets one operation-log entry with the counts (provision.bulk).

    Its writes (the provision record and the operation-log entry) are one transaction. Called outside any
    transaction (the API), the reads run in autocommit (each statement has its own snapshot under READ
    COMMITTED in a transaction too, so nothing is lost) and the record and the entry go to the server as one
    multi-statement text, which PostgreSQL runs as one implicit transaction: no BEGIN and COMMIT round trips
    (audit.services.operation_log_record's `standalone`). A release that pulls an emigrant's number from the
    temporary store (several writes) and any call inside a transaction use `transaction.atomic` as before.
    """
    arguments = dict(operator=operator, terminal=terminal, file=file, affair_code=affair_code,
                     conditions=conditions, include_individual_number=include_individual_number,
                     document_reference=document_reference, channel=channel, recipient=recipient,
                     bulk_request_id=bulk_request_id, log=log)  # fmt: skip
    if log and not (file == FURYO and include_individual_number) and standalone_append_ready():
        return _release_lookup(**arguments, standalone=True)  # type: ignore[arg-type]
    with transaction.atomic():
        return _release_lookup(**arguments, standalone=False)  # type: ignore[arg-type]


def _release_lookup(
    *,
    operator: Operator,
    terminal: Terminal | None,
    file: str,
    affair_code: str,
    conditions: dict[str, Any],
    include_individual_number: bool,
    document_reference: str,
    channel: str,
    recipient: Office | None,
    bulk_request_id: int | None,
    log: bool,
    standalone: bool,
) -> LookupOutcome:
    c = _present(conditions)
    target = _release_recipient(operator, recipient)
    kind = _release_kind(target)
    affair: Affair | None = None
    subjects: list[int] = []
    record: dict[str, Any] | None = None
    version: Any = None
    record_id: int | None = None
    resident_code_release: bool | None = None
    try:
        capability = Terminal.Capability.MEDIA_EXPORT if channel == Channel.MEDIA else Terminal.Capability.PROVIDE
        _check_terminal_and_role(operator=operator, terminal=terminal, capability=capability)
        needs_number = "individual_number" in c or include_individual_number
        matched: tuple[list[Any], bool] | None = None
        if target is not None and _conditions_pass(c, file):
            # Access and match in one statement; the match runs only if the access passes (sql's `guard`).
            approved, record_id, affair, assigned, matched = _release_access_and_match(
                operator,
                terminal,
                affair_code,
                target,
                file,
                c,
                needs_number,  # type: ignore[arg-type]
            )
        else:
            approved, record_id, affair, assigned = _release_access(operator, terminal, affair_code, target)  # type: ignore[arg-type]
        if not approved:
            raise Refused("Q10")
        if affair is None:
            raise Refused("Q01")
        if not affair.approval_covers:  # type: ignore[attr-defined]  # an approval naming affairs (§10.4)
            raise Refused("Q10")
        if target is None or file not in affair.files or not assigned:
            raise Refused("Q02")
        if file == FURYO and "individual_number" in c:
            raise Refused("Q05")
        if _wildcard(c):
            raise Refused("Q04")
        if not _is_release_rule(c, file):
            raise Refused("Q03")
        if needs_number and not affair.individual_number_permitted:
            raise Refused("Q08")
        found, resident_code_release = matched if matched is not None else release_match(file, c, affair.code)
        if len(found) > 1:
            raise Refused("Q07")
        if found:
            version = found[0]
            subjects = [version.person_id]
            if version.suspended:
                raise Refused("Q11")
        result, code = (Result.RELEASED, "") if version is not None else (Result.NOT_FOUND, "")
    except Refused as refusal:
        result, code = Result.REFUSED, refusal.code
        subjects = subjects if code in ("Q11",) else []
    items: list[str] = []
    emigrant_number: str | None = None
    # The record's id is taken first (with the access statement) so that the temporary store can link the
    # pulled number to it and the append-only record can list the number among the items released.
    if result == Result.RELEASED:
        if file == IDENTITY:
            record = identity_items(version, with_number=include_individual_number, resident_code=resident_code_release)
        else:
            record = furyo_items(version, resident_code=resident_code_release)
            if include_individual_number and affair is not None:
                record_id = record_id or provision_record_next_id()
                emigrant_number = _emigrant_number(version, affair, record_id)
                if emigrant_number is not None:
                    record["individual_number"] = emigrant_number
        items = list(record)
    logged = logged_conditions(c)
    fields = dict(operator=operator, terminal=terminal, recipient=target, release_kind=kind, affair=affair,
                  affair_code=affair_code, file=file, conditions=logged, subjects=subjects, items=items,
                  channel=channel, result=result, code=code, document_reference=document_reference,
                  bulk_request_id=bulk_request_id)  # fmt: skip
    if standalone and record_id is None:
        with transaction.atomic():  # refused before the access statement (Q09, Q02): the plain writes
            provision_id = _release_write(fields, record_id, None, kind, file, subjects, logged, standalone=False)
    else:
        provision_id = _release_write(
            fields, record_id, emigrant_number, kind, file, subjects, logged, standalone=standalone, log=log,
            version=version,
        )  # fmt: skip
    return LookupOutcome(result=result, code=code, record=record, provision_record_id=provision_id)


def _release_write(
    fields: dict[str, Any], record_id: int | None, emigrant_number: str | None, kind: str, file: str,
    subjects: list[int], logged: dict[str, Any], *, standalone: bool, log: bool = True, version: Any = None,
) -> int:  # fmt: skip
    """The attempt's provision record and (unless `log` is off) its operation-log entry; the record's id."""
    operator, terminal, affair = fields["operator"], fields["terminal"], fields["affair"]
    preceding = None
    if log and emigrant_number is None and record_id is not None:
        # The record goes with the log append: record + lock + entry in one round trip (§9.4, §11.1).
        preceding = provision_record_statement(record_id=record_id, **fields)
        provision_id = record_id
    else:
        provision_id = provision_record_write(record_id=record_id, **fields).pk
    if emigrant_number is not None and affair is not None:
        _log_pull(version, affair, provision_id, operator, terminal)
    if not log:
        return provision_id
    operation_log_record(
        actor=operator,
        kind=_log_kind(kind, Source.LOCAL),
        terminal=terminal,
        affair=affair,
        targets=[*(_person_target(file, s) for s in subjects), ("provision.provisionrecord", provision_id)],
        outcome=fields["code"] or fields["result"],
        conditions={**logged, "file": file},
        result_count=len(subjects),
        preceding=preceding,
        commit=not standalone,  # nothing follows: the transaction ends with the entry (if the block is outermost)
        standalone=standalone,
    )
    return provision_id


# --- national queries (別表第3, §7) -------------------------------------------------------------------------


@transaction.atomic
def national_release(
    *,
    operator: Operator,
    terminal: Terminal | None,
    file: str,
    affair_code: str,
    conditions: dict[str, Any],
    include_individual_number: bool = False,
    document_reference: str = "",
    channel: str = Channel.API,
) -> LookupOutcome:
    """A 別表第3 lookup: the person is looked for here first; only a person not held here (or held only as
    removed) is asked of the national server. Each leg has its own provision record and log entry."""
    c = _present(conditions)
    target = _release_recipient(operator, None)
    kind = _release_kind(target)
    affair: Affair | None = None
    try:
        approval = _check_terminal_and_approval(
            operator=operator, terminal=terminal, capability=Terminal.Capability.PROVIDE
        )
        affair = _affair(affair_code, clock.today(), approval=approval, recipient=target)
        _check_affair_approval(approval, affair)
        if target is None or not affair.national_query or file not in affair.files or not _assigned(affair, target):
            raise Refused("Q02")
    except Refused as refusal:
        return _national_refusal(operator, terminal, target, kind, affair, affair_code, file, c, channel,
                                 document_reference, refusal.code)  # fmt: skip
    local = release_lookup(
        operator=operator,
        terminal=terminal,
        file=file,
        affair_code=affair_code,
        conditions=c,
        include_individual_number=include_individual_number,
        document_reference=document_reference,
        channel=channel,
    )
    if local.result != Result.NOT_FOUND:
        return local
    return _national_leg(operator, terminal, target, kind, affair, affair_code, file, c, channel,
                         document_reference, include_individual_number)  # fmt: skip


def _national_refusal(
    operator: Operator,
    terminal: Terminal | None,
    target: Office | None,
    kind: str,
    affair: Affair | None,
    affair_code: str,
    file: str,
    c: dict[str, Any],
    channel: str,
    document_reference: str,
    code: str,
) -> LookupOutcome:
    provision = provision_record_write(
        operator=operator, terminal=terminal, recipient=target, release_kind=kind, affair=affair,
        affair_code=affair_code, file=file, conditions=logged_conditions(c), subjects=[], items=[],
        channel=channel, result=Result.REFUSED, code=code, document_reference=document_reference,
        source=Source.NATIONAL,
    )  # fmt: skip
    operation_log_record(
        actor=operator, kind=OperationKind.NATIONAL_QUERY, terminal=terminal, affair=affair,
        targets=[("provision.provisionrecord", provision.pk)], outcome=code,
        conditions={**logged_conditions(c), "file": file}, result_count=0,
    )  # fmt: skip
    return LookupOutcome(result=Result.REFUSED, code=code, provision_record_id=provision.pk, source=Source.NATIONAL)


NATIONAL_UNAVAILABLE = "N503"


def _national_leg(
    operator: Operator,
    terminal: Terminal | None,
    target: Office | None,
    kind: str,
    affair: Affair,
    affair_code: str,
    file: str,
    c: dict[str, Any],
    channel: str,
    document_reference: str,
    include_individual_number: bool,
) -> LookupOutcome:
    from prefserver.national_client import NationalClient, NationalError

    sent = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in c.items() if k != "name_kana"}
    code, record = "", None
    try:
        client = NationalClient.from_settings(timeout=10.0)
        try:
            answer = client.lookup(file, sent)  # type: ignore[arg-type]
        finally:
            client.close()
        if answer.result == "several":
            result, code = Result.REFUSED, "Q07"
        elif answer.result == "found" and answer.record is not None:
            result, record = Result.RELEASED, _national_items(answer.record, file, include_individual_number)
        else:
            result = Result.NOT_FOUND
    except NationalError:
        result, code = Result.REFUSED, NATIONAL_UNAVAILABLE
    provision = provision_record_write(
        operator=operator, terminal=terminal, recipient=target, release_kind=kind, affair=affair,
        affair_code=affair_code, file=file, conditions=logged_conditions(c), subjects=[],
        items=list(record or {}), channel=channel, result=result, code=code,
        document_reference=document_reference, source=Source.NATIONAL,
    )  # fmt: skip
    operation_log_record(
        actor=operator, kind=OperationKind.NATIONAL_QUERY, terminal=terminal, affair=affair,
        targets=[("provision.provisionrecord", provision.pk)], outcome=code or result,
        conditions={**logged_conditions(c), "file": file}, result_count=1 if record else 0,
    )  # fmt: skip
    return LookupOutcome(
        result=result, code=code, record=record, provision_record_id=provision.pk, source=Source.NATIONAL
    )


def _national_items(raw: dict[str, Any], file: str, include_individual_number: bool) -> dict[str, Any]:
    keys = ["name", "name_kana", "birth_date", "sex", "address"]
    if file == IDENTITY:
        keys += ["change_reason", "change_date"]
        if include_individual_number:
            keys.append("individual_number")
    if setting_value("RESIDENT_CODE_RELEASE"):
        keys.insert(0, "resident_code")
    return {k: raw.get(k) for k in keys}


# --- staff screens ----------------------------------------------------------------------------------------------


def _staff_affair(operator: Operator, terminal: Terminal | None, affair_code: str, file: str) -> Affair:
    approval = _check_terminal_and_approval(operator=operator, terminal=terminal, capability=Terminal.Capability.SEARCH)
    affair = _affair(affair_code, clock.today(), approval=approval)
    _check_affair_approval(approval, affair)
    staff = any(operator.has_role(r) for r in STAFF_ROLES)
    if not staff or affair.category not in STAFF_CATEGORIES or file not in affair.files:
        raise Refused("Q02")
    return affair


def _search_row(version: Any, file: str) -> dict[str, Any]:
    row = {
        "person_id": version.person_id,
        "resident_code": version.resident_code,
        "name": version.name,
        "name_kana": version.name_kana,
        "birth_date": version.birth_date,
        "sex": version.get_sex_display(),
        "address": version.address,
        "removed": version.removed,
    }
    if file == FURYO:
        row["status"] = version.get_status_display()
    return row


@transaction.atomic
def staff_search(
    *, operator: Operator, terminal: Terminal | None, file: str, affair_code: str, conditions: dict[str, Any]
) -> SearchOutcome:
    """Municipal-affairs staff search (§9.2 rules 1-5): rows up to the cap, else Q06; counted up to the limit."""
    c = _present(conditions)
    affair: Affair | None = None
    rows: list[dict[str, Any]] = []
    count = 0
    try:
        affair = _staff_affair(operator, terminal, affair_code, file)
        if file == FURYO and "individual_number" in c:
            raise Refused("Q05")
        if _wildcard(c):
            raise Refused("Q04")
        if not _is_staff_rule(c, file):
            raise Refused("Q03")
        if "individual_number" in c and not affair.individual_number_permitted:
            raise Refused("Q08")
        limit, cap = setting_value("SEARCH_COUNT_LIMIT"), setting_value("SEARCH_RESULT_CAP")
        qs = _filter(_versions(file), c, exact=False)
        count = qs[: limit + 1].count()  # counting stops at the limit: 10,001 stands for "10000+"
        if count > cap:
            raise Refused("Q06")
        rows = [_search_row(v, file) for v in qs.order_by("seion_kana", "birth_date", "id")[:cap]]
        result, code = (Result.RELEASED if rows else Result.NOT_FOUND), ""
    except Refused as refusal:
        result, code = Result.REFUSED, refusal.code
    subjects = [row["person_id"] for row in rows]
    provision = provision_record_write(
        operator=operator, terminal=terminal, recipient=None, release_kind=ReleaseKind.INTERNAL, affair=affair,
        affair_code=affair_code, file=file, conditions=logged_conditions(c), subjects=subjects,
        items=["search_list"] if rows else [], channel=Channel.SCREEN, result=result, code=code,
    )  # fmt: skip
    operation_log_record(
        actor=operator,
        kind=OperationKind.IDENTITY_SEARCHED if file == IDENTITY else OperationKind.FURYO_SEARCHED,
        terminal=terminal,
        affair=affair,
        targets=[*(_person_target(file, s) for s in subjects), ("provision.provisionrecord", provision.pk)],
        outcome=code or "ok",
        conditions={**logged_conditions(c), "file": file},
        result_count=count,
    )
    return SearchOutcome(result=result, code=code, rows=rows, count=count, provision_record_id=provision.pk)


def _person_current(file: str, person_id: int) -> Any:
    person_model = IdentityPerson if file == IDENTITY else FuryoPerson
    version_model = IdentityVersion if file == IDENTITY else FuryoVersion
    person = person_model.objects.filter(pk=person_id).first()
    if person is None or person.current_version_id is None or person.current_version_expiry_year is None:
        return None
    return version_model.objects.filter(
        pk=person.current_version_id, expiry_year=person.current_version_expiry_year
    ).first()


def detail_fields(version: Any, file: str, *, reveal: bool) -> dict[str, Any]:
    """The fields a staff screen shows; the number masked as ********3214 unless revealed (§4.2)."""
    fields = {
        "person_id": version.person_id,
        "resident_code": version.resident_code,
        "name": version.name,
        "name_kana": version.name_kana,
        "birth_date": version.birth_date,
        "sex": version.get_sex_display(),
        "address": version.address,
        "change_date": version.change_date,
        "update_sequence": version.update_sequence,
        "removed": version.removed,
        "deleted": version.deleted,
        "recorded_at": version.recorded_at,
    }
    if file == IDENTITY:
        number = individual_number_of(version)
        fields["individual_number"] = number if reveal else mask_individual_number(number)
        fields["change_reason"] = version.change_reason
        fields["municipality_code"] = version.municipality_code
        fields["former_surname"] = version.former_surname
    else:
        fields["status"] = version.get_status_display()
        fields["furyo_municipality_code"] = version.furyo_municipality_code
        fields["last_address"] = version.last_address
    return fields


def record_detail(
    *, operator: Operator, terminal: Terminal | None, file: str, person_id: int, affair_code: str, reveal: bool = False
) -> dict[str, Any] | None:
    """A person's current record for staff; `reveal` shows the number (Q08 unless the affair permits), logged.

    Raises `Refused` after the refusal's log entry has been committed.
    """
    code, fields = _record_detail(operator, terminal, file, person_id, affair_code, reveal)
    if code:
        raise Refused(code)
    return fields


@transaction.atomic
def _record_detail(
    operator: Operator, terminal: Terminal | None, file: str, person_id: int, affair_code: str, reveal: bool
) -> tuple[str, dict[str, Any] | None]:
    affair: Affair | None = None
    try:
        affair = _staff_affair(operator, terminal, affair_code, file)
        if reveal and (file != IDENTITY or not affair.individual_number_permitted):
            raise Refused("Q08")
    except Refused as refusal:
        _log_view(operator, terminal, affair, file, person_id, refusal.code, reveal=reveal)
        return refusal.code, None
    version = _person_current(file, person_id)
    fields = detail_fields(version, file, reveal=reveal) if version is not None else None
    _log_view(operator, terminal, affair, file, person_id, "ok" if fields else "not_found", reveal=reveal)
    return "", fields


def _log_view(
    operator: Operator, terminal: Terminal | None, affair: Affair | None, file: str, person_id: int, outcome: str,
    *, reveal: bool, history: bool = False,
) -> None:  # fmt: skip
    if reveal:
        kind = OperationKind.INDIVIDUAL_NUMBER_REVEALED
    else:
        kind = OperationKind.IDENTITY_VIEWED if file == IDENTITY else OperationKind.FURYO_VIEWED
    operation_log_record(
        actor=operator,
        kind=kind,
        terminal=terminal,
        affair=affair,
        targets=[_person_target(file, person_id)],
        outcome=outcome,
        conditions={"file": file, "view": "history" if history else "detail"},
    )


def person_history(
    *, operator: Operator, terminal: Terminal | None, file: str, person_id: int, affair_code: str
) -> list[dict[str, Any]]:
    """Every version of a person, oldest first (deleted ones flagged), numbers masked; logged.

    Raises `Refused` after the refusal's log entry has been committed.
    """
    code, rows = _person_history(operator, terminal, file, person_id, affair_code)
    if code:
        raise Refused(code)
    return rows


@transaction.atomic
def _person_history(
    operator: Operator, terminal: Terminal | None, file: str, person_id: int, affair_code: str
) -> tuple[str, list[dict[str, Any]]]:
    affair: Affair | None = None
    try:
        affair = _staff_affair(operator, terminal, affair_code, file)
    except Refused as refusal:
        _log_view(operator, terminal, affair, file, person_id, refusal.code, reveal=False, history=True)
        return refusal.code, []
    model = IdentityVersion if file == IDENTITY else FuryoVersion
    versions = model.objects.filter(person_id=person_id).order_by("update_sequence", "revision", "id")
    rows = [detail_fields(v, file, reveal=False) for v in versions]
    _log_view(operator, terminal, affair, file, person_id, "ok" if rows else "not_found", reveal=False, history=True)
    return "", rows


# --- the 提供状況 report (§12) -----------------------------------------------------------------------------------


def provision_records_for_person(person: IdentityPerson | FuryoPerson, since: dt.datetime) -> QuerySet[ProvisionRecord]:
    """Released provision and transfer records naming this person since `since` (oldest first).

    Staff searches (internal use) are not provisions and are left out. The caller (the disclosure service)
    logs its own report.
    """
    file = IDENTITY if isinstance(person, IdentityPerson) else FURYO
    return (
        ProvisionRecord.objects.filter(
            recorded_at__gte=since,
            file=file,
            result=Result.RELEASED,
            release_kind__in=[ReleaseKind.PROVISION, ReleaseKind.TRANSFER],
            subjects__contains=[person.pk],
        )
        .select_related("recipient", "affair")
        .order_by("recorded_at", "id")
    )

"""Cast, catalogue and synthetic persons for the provision tests."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import transaction

from audit.models import Office, Operator, Role, Terminal, UsageApproval
from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from jukinet import clock
from prefserver.models import IdentityPerson
from prefserver.versions import identity_person_create, identity_version_write
from provision.access import credential_hash
from provision.catalogue import affair_catalogue_load
from tests.prefserver.factories import envelope, identity_content, make_individual_number, make_resident_code

ALL_CAPABILITIES = ["search", "provide", "media_export", "print"]


@pytest.fixture
def catalogue(db: Any) -> dict[str, Office]:
    affair_catalogue_load()
    return {office.code: office for office in Office.objects.filter(kind__in=["body", "department"])}


@pytest.fixture
def section(db: Any) -> Office:
    return Office.objects.get_or_create(code="SEC-SHICHO", defaults={"name": "総合企画部市町課", "kind": "section"})[0]


def approve_usage(operator: Operator, terminal: Terminal) -> UsageApproval:
    """Today's approved 使用伺い (valid to 24:00 Asia/Tokyo), recorded directly (audit tests the workflow)."""
    now = clock.now()
    return UsageApproval.objects.create(
        operator=operator, office=operator.office or terminal.office, terminal=terminal, purpose="業務",
        requested_at=now, status=UsageApproval.Status.APPROVED, devices_checked=True, approved_at=now,
        valid_until=clock.end_of_day(clock.today()),
    )  # fmt: skip


def make_operator(username: str, office: Office, *roles: str, approved: bool = True) -> Operator:
    """An operator with today's usage approval on every registered terminal (tests of Q10 delete them)."""
    operator = Operator.objects.create(username=username, display_name=username, office=office, roles=list(roles))
    for terminal in Terminal.objects.all() if approved else ():
        approve_usage(operator, terminal)
    return operator


def make_terminal(name: str, office: Office, key: str, capabilities: list[str] | None = None) -> Terminal:
    terminal = Terminal.objects.create(
        name=name,
        kind="business",
        office=office,
        credential_hash=credential_hash(key),
        capabilities=ALL_CAPABILITIES if capabilities is None else capabilities,
    )
    for operator in Operator.objects.all():
        approve_usage(operator, terminal)
    return terminal


def tax_chief_approval(catalogue: dict[str, Office], *, max_rows: int) -> Any:
    """The tax department's responsible officer (a registered bulk approver) and the bulk approval they record
    and give for S5-TAX-01 up to `max_rows`: (officer, approval)."""
    from audit.models import Affair
    from provision.bulk import bulk_approval_record
    from provision.models import BulkApprover

    officer = make_operator("tax-chief", catalogue["DEPT-TAX"], "department_operator")
    BulkApprover.objects.create(operator=officer, office=catalogue["DEPT-TAX"])
    approval = bulk_approval_record(
        recorded_by=officer, approver=officer, recipient=catalogue["DEPT-TAX"],
        affair=Affair.objects.get(code="S5-TAX-01"), max_rows=max_rows,
    )  # fmt: skip
    return officer, approval


@pytest.fixture
def clerk(section: Office) -> Operator:
    return make_operator("clerk", section, Role.CLERK)


@pytest.fixture
def clerk_terminal(section: Office) -> Terminal:
    return make_terminal("市町課-01", section, "clerk-terminal-key")


@pytest.fixture
def body_operator(catalogue: dict[str, Office]) -> Operator:
    return make_operator("edu", catalogue["BODY-EDU"], Role.BODY_OPERATOR)


@pytest.fixture
def body_terminal(catalogue: dict[str, Office]) -> Terminal:
    return make_terminal("教育庁-01", catalogue["BODY-EDU"], "edu-terminal-key")


@pytest.fixture
def police_operator(catalogue: dict[str, Office]) -> Operator:
    return make_operator("police", catalogue["BODY-POLICE"], Role.BODY_OPERATOR)


@pytest.fixture
def tax_operator(catalogue: dict[str, Office]) -> Operator:
    return make_operator("tax", catalogue["DEPT-TAX"], Role.DEPARTMENT_OPERATOR)


@pytest.fixture
def tax_terminal(catalogue: dict[str, Office]) -> Terminal:
    return make_terminal("税務課-01", catalogue["DEPT-TAX"], "tax-terminal-key")


_rng = random.Random(20261126)


def person(**overrides: Any) -> tuple[IdentityPerson, str, str]:
    """A current file (1) person written through the real writer; → (person, resident code, number)."""
    code = overrides.pop("resident_code", None) or make_resident_code(_rng)
    number = overrides.pop("individual_number", None) or make_individual_number(_rng)
    deleted = overrides.pop("deleted", False)
    removed = overrides.pop("removed", False)
    with transaction.atomic():
        someone = identity_person_create(resident_code=code, assigned_on=dt.date(2025, 4, 1))
        identity_version_write(
            person=someone,
            content=identity_content(individual_number=number, **overrides),
            envelope=envelope(resident_code=code),
            removed=removed,
            deleted=deleted,
        )
    return someone, code, number


def furyo_person(**overrides: Any) -> tuple[FuryoPerson, str]:
    """A current file (2) person (inserted directly: the furyo writer is on another branch)."""
    code = overrides.pop("resident_code", None) or make_resident_code(_rng)
    values: dict[str, Any] = {
        "name": "見本 太郎", "name_gaiji_count": 0, "name_kana": "ミホン タロウ", "birth_date": dt.date(1980, 4, 1),
        "sex": 1, "address_municipality_code": "352039", "address": "山口県山口市見本町一丁目2番3号",
        "address_gaiji_count": 0, "change_date": dt.date(2025, 4, 1), "furyo_municipality_code": "352039",
        "status": 1, "gaiji_flag": False, "gaiji_pattern": "", "notice_kind": "51", "update_sequence": 1,
        "received_on": dt.date(2025, 4, 1), "municipality_code": "352039", "operator_id": "OP1",
        "terminal_id": "T1",
    }  # fmt: skip
    values.update(overrides)
    from jukinet.search_keys import address_key, name_key, seion_kana

    with transaction.atomic():
        someone = FuryoPerson.objects.create()
        FuryoResidentCode.objects.create(resident_code=code, person=someone, assigned_on=dt.date(2025, 4, 1))
        version = FuryoVersion.objects.create(
            person=someone,
            resident_code=code,
            seion_kana=seion_kana(values["name_kana"]),
            name_key=name_key(values["name"]),
            address_key=address_key(values["address"]),
            **values,
        )
        someone.current_version_id, someone.current_version_expiry_year = version.pk, version.expiry_year
        someone.save(update_fields=["current_version_id", "current_version_expiry_year"])
    return someone, code


def verified_client(operator: Operator, terminal_key: str | None = None) -> Any:
    """An API client whose session passed TOTP (django-otp), sending the terminal's key."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.test import APIClient

    device = TOTPDevice.objects.create(user=operator, name="default", confirmed=True)
    client = APIClient(**({"HTTP_X_TERMINAL_KEY": terminal_key} if terminal_key else {}))
    client.force_login(operator)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client

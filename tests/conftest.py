"""Shared fixtures. Tests run against the real PostgreSQL and Redis started by `make test`."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Reference data (municipalities, code tables) is loaded once per test database."""
    from jukinet.reference import reference_data_load

    with django_db_blocker.unblock():
        reference_data_load()


# --- The named cast (audit, domain.md §10.1) --------------------------------------------------------------
# Every operator has a confirmed TOTP device; compute codes with `otp_code(operator)` or
# `django_otp.oath.totp(device.bin_key)`. `login_with_otp(client, operator, terminal)` logs in through the
# real login form; `terminal` gives a registered representative terminal and its X-Terminal-Key;
# `approve_usage(operator, terminal)` records today's 使用伺い approved by the security officer.

CAST_PASSWORD = "cast-password-2026"


@pytest.fixture
def section_office(db):  # type: ignore[no-untyped-def]
    from audit.models import Office

    return Office.objects.create(code="S01", name="総合企画部市町課", kind=Office.Kind.SECTION)


@pytest.fixture
def body_office(db):  # type: ignore[no-untyped-def]
    from audit.models import Office

    return Office.objects.create(code="B01", name="教育委員会", kind=Office.Kind.BODY)


def _cast_member(username, display_name, roles, office, employee_id=""):  # type: ignore[no-untyped-def]
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.models import Operator

    operator = Operator.objects.create_user(
        username=username,
        password=CAST_PASSWORD,
        display_name=display_name,
        roles=roles,
        office=office,
        employee_id=employee_id or f"E-{username}",
    )
    TOTPDevice.objects.create(user=operator, name="default", confirmed=True)
    return operator


@pytest.fixture
def clerk(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("clerk", "担当 花子", ["clerk"], section_office)


@pytest.fixture
def administrator(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("administrator", "管理 一郎", ["administrator"], section_office)


@pytest.fixture
def security_officer(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("security_officer", "責任 次郎", ["security_officer"], section_office)


@pytest.fixture
def body_operator(body_office):  # type: ignore[no-untyped-def]
    return _cast_member("body_operator", "教委 三郎", ["body_operator"], body_office)


@pytest.fixture
def auditor(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("auditor", "監査 四郎", ["auditor"], section_office)


@pytest.fixture
def contractor(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("contractor", "委託 五郎", ["contractor"], section_office)


@pytest.fixture
def stranger(section_office):  # type: ignore[no-untyped-def]
    return _cast_member("stranger", "無権 六子", [], section_office)


@pytest.fixture
def otp_code():  # type: ignore[no-untyped-def]
    """`otp_code(operator, drift=0)`: the current TOTP code; drift=1 gives the next step's (a fresh code)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def code(operator, drift=0):  # type: ignore[no-untyped-def]
        device = TOTPDevice.objects.get(user=operator)
        return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"

    return code


class RegisteredTerminal:
    def __init__(self, terminal, key):  # type: ignore[no-untyped-def]
        self.terminal = terminal
        self.key = key
        # Pass as **terminal.headers to Django's test client / APIClient.
        self.headers = {"HTTP_X_TERMINAL_KEY": key}


def _register_terminal(name, kind, office, capabilities):  # type: ignore[no-untyped-def]
    from django.db import transaction

    from audit.services import terminal_register

    with transaction.atomic():
        terminal, key = terminal_register(
            name=name, kind=kind, office=office, capabilities=capabilities, registered_by="system:test"
        )
    return RegisteredTerminal(terminal, key)


@pytest.fixture
def terminal(section_office):  # type: ignore[no-untyped-def]
    """A representative terminal with every capability (search, provide, media_export, print, log_audit)."""
    return _register_terminal(
        "代表端末01",
        "representative",
        section_office,
        ["search", "provide", "media_export", "print", "log_audit"],
    )


@pytest.fixture
def business_terminal(body_office):  # type: ignore[no-untyped-def]
    return _register_terminal("業務端末01", "business", body_office, ["search", "provide"])


@pytest.fixture
def approve_usage(security_officer, administrator):  # type: ignore[no-untyped-def]
    """`approve_usage(operator, registered_terminal, affairs=())`: today's approved 使用伺い."""
    from audit.rights import usage_approval_approve, usage_approval_request

    def approve(operator, registered, affairs=()):  # type: ignore[no-untyped-def]
        approval = usage_approval_request(
            operator=operator, terminal=registered.terminal, purpose="業務", affairs=affairs
        )
        approver = security_officer
        if approver.pk == operator.pk or approver.office_id != approval.office_id:
            approver = administrator
        return usage_approval_approve(approval=approval, approver=approver, devices_checked=True)

    return approve


@pytest.fixture
def login_with_otp(otp_code):  # type: ignore[no-untyped-def]
    """`login_with_otp(client, operator, terminal=None, drift=0)`: real login (password + TOTP); with a
    terminal, the client also sends its X-Terminal-Key on every request."""

    def do_login(client, operator, terminal=None, drift=0):  # type: ignore[no-untyped-def]
        if terminal is not None:
            client.defaults.update(terminal.headers)
        response = client.post(
            "/login/",
            {"username": operator.username, "password": CAST_PASSWORD, "otp": otp_code(operator, drift)},
        )
        assert response.status_code == 302, response.content.decode()[:500]
        return response

    return do_login


VERSION_TABLES = ("prefserver_identity_version", "furyo_version")


@pytest.fixture(autouse=True)
def _empty_version_tables_after_transactional_tests(request, django_db_blocker):  # type: ignore[no-untyped-def]
    """Transactional tests commit; Django's flush skips the unmanaged, append-only version tables and empties
    the reference data: both are put back to a fresh test database's state.

    Set up before `transactional_db`, so this runs after its flush. Replica mode skips the append-only
    triggers (superuser only: the test role is one); production never does this.
    """
    yield
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and marker.kwargs.get("transaction", False)
    if not marked and "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        return
    from django.db import connection

    # By now transactional_db's teardown has blocked database access again.
    from jukinet.partitions import SENTINEL_YEAR, existing_partition_years, partition_name

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"TRUNCATE {', '.join(VERSION_TABLES)}")
        cursor.execute("SET session_replication_role = DEFAULT")
        # Year partitions created by committed writes would outlive the test and change what a later
        # purge test sees: only the sentinel partition belongs to a fresh database.
        for table in VERSION_TABLES:
            for year in existing_partition_years(table) - {SENTINEL_YEAR}:
                cursor.execute(f"DROP TABLE {partition_name(table, year)}")
    # Django's flush also emptied the reference data every test relies on (municipalities, code tables).
    from jukinet.reference import reference_data_load

    with django_db_blocker.unblock():
        reference_data_load()


@pytest.fixture
def seven_years(settings):  # type: ignore[no-untyped-def]
    """RETENTION_YEARS = 7, the period the registers purge tests (tests/registers_times.py) count from."""
    settings.RETENTION_YEARS = 7

"""History purge (domain.md §13, scenario 19): whole expired partitions of both files, never a live person."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import OperationKind, OperationLogEntry
from furyo.models import FuryoPerson, FuryoResidentCode, FuryoVersion
from furyo.versions import furyo_person_create, furyo_version_write
from jukinet import clock
from jukinet.models import PurgeRun
from jukinet.partitions import existing_partition_years
from jukinet.retention import purge_expired
from prefserver.models import IdentityPerson, IdentityResidentCode, IdentityVersion
from prefserver.versions import identity_person_create, identity_version_write
from tests.furyo.factories import furyo_content, furyo_envelope
from tests.prefserver.factories import envelope, identity_content

pytestmark = pytest.mark.django_db(transaction=False)


def _identity(code, *steps):
    """steps: (change_reason, received_on, removed) after an entry received 2025-04-01."""
    person = identity_person_create(resident_code=code, assigned_on=dt.date(2025, 4, 1))
    identity_version_write(person=person, content=identity_content(), envelope=envelope(resident_code=code),
                           removed=False)  # fmt: skip
    for sequence, (reason, received_on, removed) in enumerate(steps, start=2):
        identity_version_write(
            person=person, content=identity_content(address=f"山口県山口市見本町{sequence}番"),
            envelope=envelope(resident_code=code, change_reason=reason, update_sequence=sequence,
                              received_on=received_on), removed=removed,
        )  # fmt: skip
    return person


def _furyo(code, *steps):
    person = furyo_person_create(resident_code=code, assigned_on=dt.date(2025, 4, 1))
    furyo_version_write(person=person, content=furyo_content(), envelope=furyo_envelope(resident_code=code))
    for sequence, (kind, received_on, status) in enumerate(steps, start=2):
        furyo_version_write(
            person=person, content=furyo_content(status=status),
            envelope=furyo_envelope(resident_code=code, notice_kind=kind, update_sequence=sequence,
                                    received_on=received_on),
        )  # fmt: skip
    return person


@pytest.fixture
def population():
    return {
        # alive, with a 転居 in 2025: history expires 2175, the current version never
        "alive": _identity("12345678903", ("21", dt.date(2025, 5, 10), False)),
        # died 2025-07-01: the death version (current) expires 2175 with the older history
        "dead": _identity("59130274611", ("32", dt.date(2025, 7, 1), True)),
        # moved out 2026-02-01 (expires 2176)
        "moved_out": _identity("59130274620", ("31", dt.date(2026, 2, 1), True)),
        # emigrated in 2031: expires 2181, after the as-of date
        "late": _identity("59130274670", ("34", dt.date(2031, 1, 10), True)),
        # 附票: one still domestic with history, one removed (status 9)
        "furyo_alive": _furyo("12345678903", ("52", dt.date(2025, 8, 1), 1)),
        "furyo_removed": _furyo("59130274611", ("54", dt.date(2025, 7, 2), 9)),
    }


def test_purge_151_years_ahead_drops_expired_partitions_and_removed_persons_only(population):
    # when the purge runs 151 years after 2026 (domain.md §17 scenario 19)
    run = purge_expired(as_of=dt.date(2177, 1, 15), dry_run=False)
    # then exactly the expired partitions are gone: 2175 and 2176 of file (1), 2175 of file (2)
    # (an empty furyo_version_y2176 may exist too when a committed test created this year's partitions before)
    expected = {"furyo_version_y2175", "prefserver_identity_version_y2175", "prefserver_identity_version_y2176"}
    assert set(run.partitions_dropped) - {"furyo_version_y2176"} == expected
    assert not {2175, 2176} & existing_partition_years("prefserver_identity_version")
    assert 2181 in existing_partition_years("prefserver_identity_version")
    # the dead and the moved-out are gone with their code history; the late emigrant stays
    remaining = set(IdentityResidentCode.objects.values_list("resident_code", flat=True))
    assert remaining == {"12345678903", "59130274670"}
    assert set(IdentityPerson.objects.values_list("pk", flat=True)) == {population["alive"].pk, population["late"].pk}
    assert set(FuryoResidentCode.objects.values_list("resident_code", flat=True)) == {"12345678903"}
    assert not FuryoPerson.objects.filter(pk=population["furyo_removed"].pk).exists()
    # never the current version of a person not removed
    alive = IdentityVersion.objects.get(pk=population["alive"].current_version_id)
    assert (alive.is_current, alive.removed, alive.expiry_year) == (True, False, 9999)
    assert FuryoVersion.objects.filter(pk=population["furyo_alive"].current_version_id, is_current=True).exists()
    assert IdentityVersion.objects.filter(person=population["alive"]).count() == 1  # its history went
    # counts: file (1) 2175: alive's history (1) + dead (2); 2176: moved-out (2)
    assert run.counts["prefserver_identity_version"] == 5
    assert run.counts["prefserver_identity_person"] == 2 and run.counts["prefserver_identity_resident_code"] == 2
    assert (run.counts["furyo_version"], run.counts["furyo_person"]) == (3, 1)
    # partitions ahead were created for the next expiry years
    assert {2327, 2328, 2329, 2330} <= existing_partition_years("furyo_version")
    assert PurgeRun.objects.get(pk=run.pk).finished_at is not None
    # and the run has one operation-log entry with its counts, partitions and id
    entry = OperationLogEntry.objects.get(kind=OperationKind.PURGE)
    assert (entry.actor, entry.targets, entry.result_count) == ("system:purge", [["jukinet.purgerun", str(run.pk)]], 14)
    assert entry.conditions["run_id"] == run.pk and entry.conditions["counts"] == run.counts
    assert entry.conditions["partitions_dropped"] == run.partitions_dropped and entry.conditions["dry_run"] is False
    assert entry.conditions["as_of"].startswith("2177-01-1")


def test_purge_on_the_last_day_of_the_expiry_year_keeps_it(population):
    run = purge_expired(as_of=dt.date(2175, 12, 31), dry_run=False)
    assert run.partitions_dropped == []
    assert IdentityPerson.objects.filter(pk=population["dead"].pk).exists()


def test_dry_run_prints_what_it_would_remove_and_removes_nothing(population):
    out = StringIO()
    call_command("purge_expired", "--dry-run", "--as-of", "2177-01-15", stdout=out)
    text = out.getvalue()
    assert "prefserver_identity_version_y2175: would remove" in text
    assert "prefserver_identity_version: would remove 5 rows" in text
    assert 2175 in existing_partition_years("prefserver_identity_version")
    assert IdentityPerson.objects.filter(pk=population["dead"].pk).exists()
    assert PurgeRun.objects.filter(kind=PurgeRun.Kind.HISTORY).latest("pk").dry_run
    entries = OperationLogEntry.objects.filter(kind=OperationKind.PURGE).order_by("sequence")
    assert [(e.conditions["purge_kind"], e.conditions["dry_run"]) for e in entries] == [
        ("history", True), ("temporary_numbers", True), ("registers", True)]  # fmt: skip


def test_today_purge_drops_nothing_and_the_daily_task_records_a_run(population, settings):
    from prefserver.tasks import history_purge_task

    run_id = history_purge_task.delay().get()
    run = PurgeRun.objects.get(pk=run_id)
    assert run.partitions_dropped == [] and sum(run.counts.values()) == 0
    assert clock.local_date(run.as_of) == clock.today()
    assert IdentityVersion.objects.count() == 8
    assert "prefserver.tasks.history_purge_task" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}

"""generate_population: valid codes, consistent history, shared rules, determinism, kana properties."""

import dataclasses
import datetime as dt
import unicodedata
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from furyo.models import FuryoPerson, FuryoVersion
from furyo.versions import FuryoEnvelope
from jukinet.crypto import blind_index
from jukinet.identifiers import is_valid_individual_number, is_valid_municipality_code, is_valid_resident_code
from jukinet.models import Municipality
from jukinet.partitions import ensure_partitions
from jukinet.population import (
    COPY_TABLES,
    FURYO_VERSION_COLUMNS,
    PopulationSpec,
    deferred_indexes_for_empty_tables,
    encoded_chunks,
    expiry_years_ahead,
    generate_chunk,
    population_load,
)
from jukinet.retention import purge_expired
from jukinet.search_keys import seion_kana
from prefserver.intake.envelope import FURYO_PAYLOAD_KEYS, IDENTITY_PAYLOAD_KEYS
from prefserver.models import IdentityPerson, IdentityResidentCode, IdentityVersion
from prefserver.versions import Envelope, individual_number_of

pytestmark = pytest.mark.django_db(transaction=False)

SPEC = PopulationSpec(
    prefecture_code="35", prefecture_name="山口県", municipalities=(("352039", "山口市"), ("352012", "下関市")),
    elsewhere=(("131016", "東京都千代田区"),), residents=60, history_per_person=2, seed=9, chunk_size=25,
)  # fmt: skip
RANDOM_COLUMNS = {"individual_number_ciphertext"}  # AES-GCM nonces are random on purpose


@pytest.fixture
def loaded():
    return population_load(prefecture_code="35", residents=150, history_per_person=1, seed=5, chunk_size=100)


def _content(rows):
    return [{k: v for k, v in row.items() if k not in RANDOM_COLUMNS} for row in rows]


def test_every_generated_code_has_a_valid_check_digit(loaded):
    codes = list(IdentityResidentCode.objects.values_list("resident_code", flat=True))
    codes += list(FuryoVersion.objects.values_list("resident_code", flat=True))
    assert len(codes) > 150 and all(is_valid_resident_code(code) for code in codes)
    numbers = [individual_number_of(v) for v in IdentityVersion.objects.all()]
    assert all(is_valid_individual_number(number) for number in numbers)
    municipality_codes = set(IdentityVersion.objects.values_list("municipality_code", flat=True))
    municipality_codes |= set(FuryoVersion.objects.values_list("furyo_municipality_code", flat=True))
    municipality_codes |= set(
        FuryoVersion.objects.exclude(address_municipality_code=None).values_list("address_municipality_code", flat=True)
    )
    assert all(is_valid_municipality_code(code) for code in municipality_codes)
    senders = set(Municipality.objects.filter(prefecture_id="35", is_sender=True).values_list("code", flat=True))
    assert set(IdentityVersion.objects.values_list("municipality_code", flat=True)) <= senders
    assert set(FuryoVersion.objects.values_list("furyo_municipality_code", flat=True)) <= senders


def test_codes_and_numbers_are_unique_per_person(loaded):
    current = IdentityVersion.objects.filter(is_current=True)
    numbers = [individual_number_of(v) for v in current]
    assert len(set(numbers)) == len(numbers) == 150
    assert IdentityResidentCode.objects.count() == 150


def test_encryption_round_trip_and_blind_index_lookup_on_generated_people(loaded):
    for version in IdentityVersion.objects.filter(is_current=True)[:50]:
        number = individual_number_of(version)
        assert bytes(version.individual_number_blind_index) == blind_index(number)
        assert number.encode() not in bytes(version.individual_number_ciphertext)
        found = IdentityVersion.objects.get(individual_number_blind_index=blind_index(number), is_current=True)
        assert found.pk == version.pk


def test_history_is_consistent_per_person(loaded):
    persons = {p.pk: p for p in IdentityPerson.objects.filter(pk__gte=loaded.spec.identity_person_base)}
    assert len(persons) == 150
    by_person: dict[int, list] = {}
    for version in IdentityVersion.objects.order_by("person_id", "update_sequence"):
        by_person.setdefault(version.person_id, []).append(version)
    kinds = set()
    for person_id, versions in by_person.items():
        sequences = [v.update_sequence for v in versions]
        assert sequences == list(range(sequences[0], sequences[0] + len(versions)))
        *history, last = versions
        person = persons[person_id]
        assert (person.current_version_id, person.current_version_expiry_year) == (last.pk, last.expiry_year)
        assert last.is_current and not any(v.is_current for v in history)
        assert all(v.retention_start is not None and v.expiry_year == v.retention_start.year + 150 for v in history)
        assert last.removed == (last.change_reason in {"31", "32", "33", "34"})
        assert (last.expiry_year == 9999) == (not last.removed)
        kinds.add(last.change_reason)
    assert {"31", "32"} <= kinds and any(len(v) > 1 for v in by_person.values())
    # 附票: status 9 versions are removed and carry their retention; statuses 1 and 2 occur
    statuses = set(FuryoVersion.objects.filter(is_current=True).values_list("status", flat=True))
    assert {1, 9} <= statuses
    assert not FuryoVersion.objects.filter(status=9, retention_start=None).exists()
    assert FuryoPerson.objects.count() == loaded.rows["furyo_person"]


def test_generation_is_deterministic_for_a_seed_whatever_the_worker_count():
    first = [generate_chunk(SPEC, chunk) for chunk in range(SPEC.chunks)]
    again = [generate_chunk(SPEC, chunk) for chunk in range(SPEC.chunks)]
    identity, furyo = "prefserver_identity_version", "furyo_version"
    assert [_content(c[identity]) for c in first] == [_content(c[identity]) for c in again]
    assert [c[furyo] for c in first] == [c[furyo] for c in again]
    other_seed = generate_chunk(dataclasses.replace(SPEC, seed=10), 0)
    assert other_seed["prefserver_identity_resident_code"] != first[0]["prefserver_identity_resident_code"]
    # two worker processes produce the same content, chunk for chunk
    solo = [chunk.data["furyo_version"] for chunk in encoded_chunks(SPEC, workers=0)]
    parallel = [chunk.data["furyo_version"] for chunk in encoded_chunks(SPEC, workers=2)]
    assert solo == parallel and len(solo) == SPEC.chunks


def test_kana_normalisation_properties_hold_on_generated_names():
    rows = [row for chunk in range(SPEC.chunks) for row in generate_chunk(SPEC, chunk)["prefserver_identity_version"]]
    hiragana_seen = False
    for row in rows:
        kana, key = row["name_kana"], row["seion_kana"]
        hiragana_seen |= any("\u3041" <= c <= "\u3096" for c in kana)
        assert key == seion_kana(key)  # idempotent
        assert key == seion_kana(kana.translate({c: c + 0x60 for c in range(0x3041, 0x3097)}))  # script-blind
        assert all("\u30a1" <= c <= "\u30fa" or c == "ー" for c in key)  # katakana only, no spaces
        assert not set(key) & set("ァィゥェォッャュョヮヵヶ")  # no small kana
        assert all(not unicodedata.decomposition(c).endswith(("3099", "309A")) for c in key)  # no voiced kana
    assert hiragana_seen


def test_some_people_have_gaiji_and_former_surnames_kept_as_given():
    spec = dataclasses.replace(SPEC, residents=600, chunk_size=600, seed=0)
    rows = generate_chunk(spec, 0)["prefserver_identity_version"]
    gaiji = [row for row in rows if row["gaiji_flag"] is True]
    assert gaiji and all(row["name_gaiji_count"] == 1 for row in gaiji)
    assert all(any("\ue000" <= c <= "\uf8ff" for c in row["name"]) for row in gaiji)  # private use kept
    assert any(row["former_surname"] for row in rows)
    assert any("\ufa11" in row["name"] or "\U000e0100" in row["name"] for row in rows)


def test_furyo_rows_never_carry_an_individual_number():
    assert not any("individual_number" in column for column in FURYO_VERSION_COLUMNS)


def test_generated_history_is_purged_151_years_on_except_live_current_versions(loaded):
    live = IdentityVersion.objects.filter(is_current=True, removed=False).count()
    purge_expired(as_of=dt.date(2177, 1, 1), dry_run=False)
    assert IdentityVersion.objects.count() == live
    assert IdentityPerson.objects.count() == live == IdentityResidentCode.objects.count()
    assert not FuryoVersion.objects.filter(removed=True).exists()


def test_command_loads_and_reports_counts():
    out = StringIO()
    call_command("generate_population", "--prefecture", "35", "--residents", "40", "--seed", "2", stdout=out,
                 stderr=StringIO())  # fmt: skip
    assert "prefserver_identity_person: 40 rows" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM prefserver_identity_version_id_seq")
        assert cursor.fetchone()[0] >= IdentityVersion.objects.order_by("-id").first().pk


def _schema_of_loaded_tables():
    tables = [table for table, _, _ in COPY_TABLES]
    with connection.cursor() as cursor:
        # partitions' index names are generated (numbered in creation order): compare their definitions only
        cursor.execute(
            "SELECT CASE WHEN t.relname = ANY(%s) THEN c.relname END, t.relname,"
            " regexp_replace(pg_get_indexdef(i.indexrelid), '^(CREATE (UNIQUE )?INDEX) \\S+', '\\1')"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relname LIKE ANY(%s) ORDER BY 2, 3, 1",
            [tables, [f"{table}%" for table in tables]],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
            " WHERE conrelid::regclass::text LIKE ANY(%s) ORDER BY 1, 2",
            [[f"{table}%" for table in tables]],
        )
        return indexes, cursor.fetchall()


def test_initial_load_into_empty_tables_rebuilds_every_index_and_constraint_as_migrated():
    # given: empty tables with their migrated indexes, on every partition too
    for table in ("prefserver_identity_version", "furyo_version"):
        ensure_partitions(table, expiry_years_ahead())
    before = _schema_of_loaded_tables()
    assert len(before[0]) > 30 and any(name.endswith("_fk_furyo_person_id") for name, _, _ in before[1])
    # when
    result = population_load(prefecture_code="35", residents=120, history_per_person=1, seed=3, chunk_size=50)
    # then: the fast path ran, and the schema is the same as before it, constraints validated
    assert result.deferred_ddl
    assert _schema_of_loaded_tables() == before
    with connection.cursor() as cursor:  # the foreign key is enforced again
        cursor.execute("SAVEPOINT orphan")
        with pytest.raises(IntegrityError):
            cursor.execute(
                "INSERT INTO furyo_resident_code (resident_code, person_id, replaced_by, assigned_on)"
                " VALUES ('12345678901', -1, '', '2020-01-01')"
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ROLLBACK TO SAVEPOINT orphan")
    found = IdentityVersion.objects.filter(is_current=True).first()
    assert IdentityVersion.objects.get(individual_number_blind_index=found.individual_number_blind_index,
                                       is_current=True) == found  # fmt: skip


def test_a_load_into_tables_that_hold_rows_keeps_the_indexes_in_place():
    # given: a first load, every partition there already
    for table in ("prefserver_identity_version", "furyo_version"):
        ensure_partitions(table, expiry_years_ahead())
    population_load(prefecture_code="35", residents=30, seed=1, chunk_size=30)
    before = _schema_of_loaded_tables()
    # when: a second load into the now non-empty tables
    with connection.cursor() as wrapper, transaction.atomic():
        assert deferred_indexes_for_empty_tables(wrapper.cursor, [t for t, _, _ in COPY_TABLES]) is None
    result = population_load(prefecture_code="35", residents=30, seed=2, chunk_size=30)
    # then: no DDL ran, and both loads are there
    assert not result.deferred_ddl and _schema_of_loaded_tables() == before
    assert IdentityPerson.objects.count() == 60


# --- the fast row writer against the version writers -------------------------------------------------------
def _copy_binary(values, columns):
    """What psycopg's own binary COPY formatter sends for these values, typed as the columns, as raw fields."""
    from psycopg import _copy_base, adapters
    from psycopg.adapt import Transformer
    from psycopg.pq import Format

    from jukinet.population import COPY_SIGNATURE, COPY_TRAILER, column_type, split_copy_binary

    transformer = Transformer()
    transformer.set_dumper_types([adapters.types[column_type(c)].oid for c in columns], Format.BINARY)
    out = bytearray()
    _copy_base.format_row_binary([values[c] for c in columns], transformer, out)
    return split_copy_binary(COPY_SIGNATURE + bytes(out) + COPY_TRAILER, columns)[0]


def _by_person(encoded, table, columns):
    """Per person: (row decoded by psycopg's binary loaders, raw binary fields), in version order."""
    from jukinet.population import decode_copy_binary, split_copy_binary

    data = encoded.data[table]
    persons: dict[int, list] = {}
    for row, fields in zip(decode_copy_binary(data, columns), split_copy_binary(data, columns), strict=True):
        persons.setdefault(row["person_id"], []).append((row, fields))
    return persons


# what the writers take as content and envelope: everything else of a row they derive (or the loader assigns).
# Content: the notice payload's keys (the individual number goes separately; file (2) also keeps the former
# resident code); envelope: the envelope classes' fields the caller must give.
IDENTITY_CONTENT = tuple(key for key in IDENTITY_PAYLOAD_KEYS if key != "individual_number")
FURYO_CONTENT = (*FURYO_PAYLOAD_KEYS, "former_resident_code")
IDENTITY_ENVELOPE = tuple(f.name for f in dataclasses.fields(Envelope) if f.default is dataclasses.MISSING)
FURYO_ENVELOPE = tuple(f.name for f in dataclasses.fields(FuryoEnvelope) if f.default is dataclasses.MISSING)


def test_fast_rows_are_what_the_version_writers_store():
    """Every column of every generated version, re-derived by prefserver/furyo `version_values` (search keys,
    blind index, key id, retention, flags) from the row's content and envelope, then superseded by the next
    version with `superseded_values`, formatted by psycopg's binary COPY formatter: equal, field by field, to
    the generator's binary COPY rows. The ciphertext (random nonce) decrypts, under the row's own associated
    data, to the number the writer was given."""
    from furyo import versions as furyo_versions
    from jukinet.crypto import decrypt_individual_number, key_id_of, keyring
    from jukinet.population import IDENTITY_VERSION_COLUMNS, encode_chunk
    from prefserver import versions as identity_versions

    # given: a chunk with removals, moves, marriages, 旧氏, 附票-only persons and emigrants
    spec = dataclasses.replace(SPEC, residents=400, chunk_size=400, history_per_person=2, seed=4)
    encoded = encode_chunk(spec, 0)
    ciphertext_at = IDENTITY_VERSION_COLUMNS.index("individual_number_ciphertext")
    checked = {"removed": 0, "superseded": 0, "gaiji": 0, "former": 0, "abroad": 0}
    # when / then: file (1)
    for versions in _by_person(encoded, "prefserver_identity_version", IDENTITY_VERSION_COLUMNS).values():
        for position, (row, fields) in enumerate(versions):
            person_id = row["person_id"]
            blob = row["individual_number_ciphertext"]
            assert key_id_of(blob) == keyring().active_id
            number = decrypt_individual_number(blob, table=identity_versions.VERSION_TABLE, person_id=person_id)
            content = {key: row[key] for key in IDENTITY_CONTENT} | {"individual_number": number}
            envelope = identity_versions.Envelope(**{key: row[key] for key in IDENTITY_ENVELOPE})
            removed = row["change_reason"] in {"31", "32", "33", "34"}
            values = identity_versions.version_values(
                person_id=person_id, content=content, envelope=envelope, removed=removed,
                recorded_at=row["recorded_at"],
            )  # fmt: skip
            values["id"] = row["id"]
            if position + 1 < len(versions):
                received_on = versions[position + 1][0]["received_on"]
                identity_versions.superseded_values(values, received_on=received_on)
                checked["superseded"] += 1
            expected = _copy_binary(values, IDENTITY_VERSION_COLUMNS)
            assert len(expected[ciphertext_at]) == len(fields[ciphertext_at])  # same format, another nonce
            del expected[ciphertext_at], fields[ciphertext_at]
            assert fields == expected
            checked["removed"] += removed
            checked["gaiji"] += content["gaiji_flag"]
            checked["former"] += content["former_surname"] is not None
    # file (2): the writer decides `removed` from the content (status 9)
    for versions in _by_person(encoded, "furyo_version", FURYO_VERSION_COLUMNS).values():
        for position, (row, fields) in enumerate(versions):
            content = {key: row[key] for key in FURYO_CONTENT}
            envelope = furyo_versions.FuryoEnvelope(**{key: row[key] for key in FURYO_ENVELOPE})
            values = furyo_versions.version_values(
                person_id=row["person_id"], content=content, envelope=envelope,
                removed=furyo_versions.is_removal_content(content), recorded_at=row["recorded_at"],
            )  # fmt: skip
            values["id"] = row["id"]
            if position + 1 < len(versions):
                received_on = versions[position + 1][0]["received_on"]
                furyo_versions.superseded_values(values, received_on=received_on)
            assert fields == _copy_binary(values, FURYO_VERSION_COLUMNS)
            checked["abroad"] += content["status"] == 2
    assert all(checked.values()), checked


def test_fast_check_digits_are_the_identifier_rules():
    from jukinet.identifiers import individual_number_check_digit, resident_code_check_digit
    from jukinet.population import individual_number_for, resident_code_for

    # given: the permutations' images of small and huge indexes, both seeds' constants
    for seed in (1, 7):
        for index in [*range(2000), *range(5 * 10**9, 5 * 10**9 + 2000), 10**10 - 1, 5 * 10**10 + 3]:
            # when
            code, number = resident_code_for(index, seed), individual_number_for(index, seed)
            # then
            assert code[10] == str(resident_code_check_digit(code[:10]))
            assert number[11] == str(individual_number_check_digit(number[:11]))


@pytest.mark.parametrize("key_bytes", [32, 64, 65, 100])
def test_the_blind_index_is_the_standard_hmac_sha256(settings, key_bytes):
    import base64
    import hmac

    from jukinet.crypto import blind_indexer, reset_key_caches

    # given: blind-index keys around SHA-256's block size (a longer key is hashed first, RFC 2104)
    key = bytes(range(7, 7 + key_bytes))
    settings.BLIND_INDEX_KEY = base64.b64encode(key).decode()
    reset_key_caches()
    try:
        # when / then: the bulk writers' indexer and blind_index both give the stdlib's HMAC-SHA-256
        digest = blind_indexer()
        for number in ("123456789018", "000000000000", "99999999999９", ""):
            expected = hmac.digest(key, number.encode("utf-8"), "sha256")
            assert digest(number.encode()) == expected
            assert blind_index(number) == expected
    finally:
        reset_key_caches()


def test_key_rotation_and_lookups_work_on_generated_people(settings):
    import base64
    import os

    from jukinet.crypto import key_id_of, reset_key_caches
    from jukinet.key_rotation import individual_numbers_reencrypt, key_usage

    # given: a generated population under the configured key, then a new active key beside it
    population_load(prefecture_code="35", residents=40, history_per_person=1, seed=8, chunk_size=20)
    numbers = {v.pk: individual_number_of(v) for v in IdentityVersion.objects.all()}
    old_id = key_id_of(bytes(IdentityVersion.objects.first().individual_number_ciphertext))
    settings.INDIVIDUAL_NUMBER_KEYS += f",rotated:{base64.b64encode(os.urandom(32)).decode()}"
    settings.INDIVIDUAL_NUMBER_ACTIVE_KEY_ID = "rotated"
    reset_key_caches()
    try:
        # when
        counts = individual_numbers_reencrypt(batch=25)
        # then: every generated ciphertext moved to the new key, decrypts to the same number, and is found
        assert counts.rows_updated == len(numbers) and key_usage() == {"rotated": len(numbers)} != {old_id: 1}
        for version in IdentityVersion.objects.all():
            assert individual_number_of(version) == numbers[version.pk]
        current = IdentityVersion.objects.filter(is_current=True).first()
        found = IdentityVersion.objects.get(
            individual_number_blind_index=blind_index(individual_number_of(current)), is_current=True
        )
        assert found.pk == current.pk
    finally:
        reset_key_caches()


def test_fast_path_keeps_the_partial_indexes_no_generated_row_enters():
    from jukinet.population import GENERATED_ROWS_NEVER_MATCH

    tables = [table for table, _, _ in COPY_TABLES]
    # when
    with connection.cursor() as wrapper, transaction.atomic():
        ddl = deferred_indexes_for_empty_tables(wrapper.cursor, tables, keep_predicates=GENERATED_ROWS_NEVER_MATCH)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = ANY(%s::regclass[])",
                [tables],
            )
            left = {name for (name,) in cursor.fetchall()}
        transaction.set_rollback(True)
    # then: only the source-notice indexes stayed; everything else is dropped and queued for the rebuild
    assert left == {"identity_version_source_notice_idx", "furyo_version_source_notice_idx"}
    assert not any("source_notice" in statement for statement in ddl.creates)
    assert any("identity_version_seion_idx" in statement for statement in ddl.creates)


def test_a_long_history_numbers_its_versions_past_the_small_number_pool():
    from jukinet.population import IDENTITY_VERSION_COLUMNS, encode_chunk

    # given persons with up to 60 history steps each (update_sequence runs past 99, the pool of small counts)
    spec = dataclasses.replace(SPEC, residents=200, chunk_size=200, history_per_person=60, seed=11)
    # when a chunk is generated
    encoded = encode_chunk(spec, 0)
    # then every person's versions are numbered 1, 2, … in order, beyond 99 too
    sequences = [
        [row["update_sequence"] for row, _ in versions]
        for versions in _by_person(encoded, "prefserver_identity_version", IDENTITY_VERSION_COLUMNS).values()
    ]
    assert max(max(s) for s in sequences) > 99
    assert all(s == sorted(s) and len(set(s)) == len(s) for s in sequences)

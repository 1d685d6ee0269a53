"""Version tables partitioned by expiry year, and their append-only guards (domain.md §4.2, §13).

Raw SQL for partition management lives here and in the migrations that call it, nowhere else.

- One partition per expiry year plus the sentinel 9999 (versions not yet expiring); no default
  partition (adding a year's partition would scan it).
- A row-level trigger rejects every UPDATE except the few writes domain.md §4.2 lists; statement-level
  triggers on the table and on every partition reject DELETE and TRUNCATE. A supersede moves a row out of
  9999 (PostgreSQL does that as delete + insert, which statement-level DELETE triggers do not see). The
  purge drops whole partitions.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from jukinet.db import LockClass

SENTINEL_YEAR = 9999
RETENTION_YEARS_HISTORY = 150  # 住基法施行令 第30条の6 (seeds/002_b6d1246946737152.txt:1030-1032)

# Columns a later UPDATE may change; everything else is content and never changes.
MUTABLE_COLUMNS = (
    "is_current",
    "retention_flag",
    "retention_start",
    "expiry_year",
    "deleted",
    "individual_number_ciphertext",
    "individual_number_key_id",
    "individual_number_blind_index",
)


def partition_name(table: str, year: int) -> str:
    return f"{table}_y{year}"


# The version guard's rules besides "content never changes": (condition, message). They become the IF blocks of
# the guard functions (GUARD_CHECKS: the generic function below and the per-table ones jukinet migration 0004
# generates; PL/pgSQL, no % signs: it goes through format()) and, joined, the per-table trigger's WHEN clause
# (GUARD_WHEN, jukinet migration 0005), so that the function runs only for a write it refuses.
# tests/jukinet/test_version_guard.py holds every rule.
GUARD_RULES = (
    ("OLD.deleted AND NOT NEW.deleted", "deleted is set once"),
    ("OLD.expiry_year <> 9999 AND NEW.expiry_year IS DISTINCT FROM OLD.expiry_year", "retention is set once"),
    (
        "OLD.retention_start IS NOT NULL AND NEW.retention_start IS DISTINCT FROM OLD.retention_start",
        "retention is set once",
    ),
    ("NOT OLD.is_current AND NEW.is_current", "a superseded version never becomes current again"),
)
GUARD_CHECKS = "".join(
    f"  IF {condition} THEN\n    RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege';\n  END IF;\n"
    for condition, message in GUARD_RULES
)
GUARD_WHEN = " OR ".join(f"({condition})" for condition, _ in GUARD_RULES)


def guard_functions_sql() -> str:
    """Shared trigger functions (created once, used by every version table)."""
    return f"""
CREATE OR REPLACE FUNCTION jukinet_reject_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'append-only table %: % is not allowed (purge drops whole partitions)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION jukinet_version_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  mutable text[] := TG_ARGV;
BEGIN
  IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
    RAISE EXCEPTION 'version rows are append-only: content of % id % cannot change', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
{GUARD_CHECKS}  RETURN NEW;
END $$;
"""


_MUTABLE_SQL = ", ".join(f"'{c}'" for c in MUTABLE_COLUMNS)


def _generic_guard_trigger_sql(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_guard_update BEFORE UPDATE ON {table}
  FOR EACH ROW EXECUTE FUNCTION jukinet_version_guard_update({_MUTABLE_SQL});"""


def guard_triggers_sql(table: str) -> str:
    return f"""{_generic_guard_trigger_sql(table)}
CREATE TRIGGER {table}_reject_delete BEFORE DELETE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION jukinet_reject_delete();
CREATE TRIGGER {table}_reject_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION jukinet_reject_delete();
"""


def guard_installer_sql(*, conditional: bool) -> str:
    """`jukinet_version_guard_install(table, mutable)`: writes the table's own guard function, comparing its
    content columns (every column but `mutable`, read from the catalog when it runs) as two row values plus
    GUARD_CHECKS, and puts it on the table as its BEFORE UPDATE trigger. `conditional` (jukinet migration 0005)
    gives the trigger the same conditions as a WHEN clause, so the function runs only for a write it refuses;
    without it (migration 0004) the function runs for every updated row."""
    when = " WHEN (ROW(%s) IS DISTINCT FROM ROW(%s) OR " + GUARD_WHEN + ")" if conditional else ""
    when_args = " new_row, old_row," if conditional else ""
    return rf"""
CREATE OR REPLACE FUNCTION jukinet_version_guard_install(tbl regclass, mutable text[]) RETURNS void
LANGUAGE plpgsql AS $install$
DECLARE
  name text := (SELECT relname FROM pg_class WHERE oid = tbl);
  content text[];
  new_row text;
  old_row text;
BEGIN
  SELECT array_agg(quote_ident(attname) ORDER BY attnum) INTO content FROM pg_attribute
  WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND NOT (attname = ANY (mutable));
  new_row := 'NEW.' || array_to_string(content, ', NEW.');
  old_row := 'OLD.' || array_to_string(content, ', OLD.');
  EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF ROW(%2$s) IS DISTINCT FROM ROW(%3$s) THEN
    RAISE EXCEPTION 'version rows are append-only: content of %% id %% cannot change', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
{GUARD_CHECKS}  RETURN NEW;
END $body$
$function$, name || '_guard_content', new_row, old_row);
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', name || '_guard_update', tbl);
  EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW{when} EXECUTE FUNCTION %I()',
    name || '_guard_update', tbl,{when_args} name || '_guard_content');
END $install$;
"""  # noqa: S608 (constant SQL: the module's own conditions, no outside values)


def guard_install_sql(table: str) -> str:
    """The table's own content guard in place of the generic one (jukinet migration 0004: columns, not jsonb)."""
    return f"SELECT jukinet_version_guard_install('{table}'::regclass, ARRAY[{_MUTABLE_SQL}]);"


def guard_unconditional_sql(table: str) -> str:
    """The table's own guard trigger without its WHEN clause (the reverse of jukinet migration 0005's install)."""
    return f"""
DROP TRIGGER {table}_guard_update ON {table};
CREATE TRIGGER {table}_guard_update BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_guard_content();
"""


def guard_uninstall_sql(table: str) -> str:
    """Back to the generic jsonb guard (the reverse of guard_install_sql)."""
    return f"""
DROP TRIGGER {table}_guard_update ON {table};{_generic_guard_trigger_sql(table)}
DROP FUNCTION {table}_guard_content();
"""


def create_partition_sql(table: str, year: int) -> str:
    name = partition_name(table, year)
    return f"""
CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ({year}) TO ({year + 1});
DROP TRIGGER IF EXISTS {name}_reject_delete ON {name};
CREATE TRIGGER {name}_reject_delete BEFORE DELETE ON {name}
  FOR EACH STATEMENT EXECUTE FUNCTION jukinet_reject_delete();
DROP TRIGGER IF EXISTS {name}_reject_truncate ON {name};
CREATE TRIGGER {name}_reject_truncate BEFORE TRUNCATE ON {name}
  FOR EACH STATEMENT EXECUTE FUNCTION jukinet_reject_delete();
"""


def existing_partition_years(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = %s
            """,
            [table],
        )
        return {int(name.rsplit("_y", 1)[1]) for (name,) in cursor.fetchall()}


def ensure_partitions(table: str, years: Iterable[int]) -> list[int]:
    """Create the missing year partitions (loaders, intake and the purge job call this ahead of need).

    Creators take the table's partition lock and look again under it: `CREATE TABLE IF NOT EXISTS` is not safe
    against a concurrent creation (the second one fails with "already exists" once the first commits), and two
    intake workers starting on a fresh database, or at a new year, both find the same partition missing. The
    lock is held until the caller's transaction ends."""
    years = set(years)
    if not years - existing_partition_years(table):
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LockClass.PARTITIONS, table])
        missing = sorted(years - existing_partition_years(table))
        for year in missing:
            cursor.execute(create_partition_sql(table, year))
    return missing


def drop_partition(table: str, year: int) -> None:
    """Detach then drop one expired partition (the only way version rows disappear)."""
    if year == SENTINEL_YEAR:
        raise ValueError("the sentinel partition holds versions that do not expire")
    name = partition_name(table, year)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
        cursor.execute(f"DROP TABLE {name}")


def expiry_year_for(retention_start_year: int) -> int:
    return retention_start_year + RETENTION_YEARS_HISTORY

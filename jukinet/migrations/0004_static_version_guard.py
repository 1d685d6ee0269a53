"""The version tables' content guard compares columns, not jsonb documents.

`jukinet_version_guard_update` (0002) turned OLD and NEW into jsonb for every updated row: in a 5,000-row
supersede UPDATE it took 400 ms of 462 (measured on a copy of the identity version table, branch
intake-speed). `jukinet_version_guard_install(table, mutable)` writes a trigger function for one table that
compares the table's content columns (every column but the mutable ones, read from the catalog when it runs) as
two row values, with the same other checks, and puts it in place of the generic trigger. Run it again after a
column is added (tests/jukinet/test_version_guard.py changes every content column of both tables and fails if
one is not guarded).
"""

from django.db import migrations

from jukinet.partitions import GUARD_CHECKS

INSTALLER = rf"""
CREATE OR REPLACE FUNCTION jukinet_version_guard_install(tbl regclass, mutable text[]) RETURNS void
LANGUAGE plpgsql AS $install$
DECLARE
  name text := (SELECT relname FROM pg_class WHERE oid = tbl);
  content text[];
BEGIN
  SELECT array_agg(quote_ident(attname) ORDER BY attnum) INTO content FROM pg_attribute
  WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND NOT (attname = ANY (mutable));
  EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF ROW(%2$s) IS DISTINCT FROM ROW(%3$s) THEN
    RAISE EXCEPTION 'version rows are append-only: content of %% id %% cannot change', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
{GUARD_CHECKS}  RETURN NEW;
END $body$
$function$, name || '_guard_content', 'NEW.' || array_to_string(content, ', NEW.'),
    'OLD.' || array_to_string(content, ', OLD.'));
  EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', name || '_guard_update', tbl);
  EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I()',
    name || '_guard_update', tbl, name || '_guard_content');
END $install$;
"""


class Migration(migrations.Migration):
    dependencies = [("jukinet", "0003_purge_run")]

    operations = [
        migrations.RunSQL(INSTALLER, reverse_sql="DROP FUNCTION jukinet_version_guard_install(regclass, text[])")
    ]

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

from jukinet.partitions import guard_installer_sql

INSTALLER = guard_installer_sql(conditional=False)


class Migration(migrations.Migration):
    dependencies = [("jukinet", "0003_purge_run")]

    operations = [
        migrations.RunSQL(INSTALLER, reverse_sql="DROP FUNCTION jukinet_version_guard_install(regclass, text[])")
    ]

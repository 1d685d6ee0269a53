"""The version tables' content guard runs only for a write it refuses.

0004's per-table trigger called its PL/pgSQL function for every updated row, and a supersede updates one row
per change: 5.5 µs per row (`EXPLAIN ANALYZE` of a 1,000-row supersede on a 60,000-notice database). The
trigger now carries the same conditions as a WHEN clause, evaluated without entering PL/pgSQL: the content
columns as two row values, and jukinet.partitions.GUARD_WHEN. The function is unchanged: when the clause holds
it runs and raises the rule's own message. The installer is redefined here; the prefserver and furyo migrations
that follow run it again for their tables.
"""

from django.db import migrations

from jukinet.partitions import guard_installer_sql


class Migration(migrations.Migration):
    dependencies = [("jukinet", "0004_static_version_guard")]

    operations = [
        migrations.RunSQL(guard_installer_sql(conditional=True), reverse_sql=guard_installer_sql(conditional=False))
    ]

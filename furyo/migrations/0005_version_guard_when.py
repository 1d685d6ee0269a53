"""The version table's guard trigger with its WHEN clause (jukinet migration 0005)."""

from django.db import migrations

from furyo.sql import VERSION_TABLE
from jukinet.partitions import guard_install_sql, guard_unconditional_sql


class Migration(migrations.Migration):
    dependencies = [("furyo", "0004_static_version_guard"), ("jukinet", "0005_version_guard_when")]

    operations = [
        migrations.RunSQL(guard_install_sql(VERSION_TABLE), reverse_sql=guard_unconditional_sql(VERSION_TABLE))
    ]

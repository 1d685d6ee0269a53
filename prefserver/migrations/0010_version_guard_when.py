"""The version table's guard trigger with its WHEN clause (jukinet migration 0005)."""

from django.db import migrations

from jukinet.partitions import guard_install_sql, guard_unconditional_sql
from prefserver.sql import VERSION_TABLE


class Migration(migrations.Migration):
    dependencies = [("prefserver", "0009_notice_envelope_as_text"), ("jukinet", "0005_version_guard_when")]

    operations = [
        migrations.RunSQL(guard_install_sql(VERSION_TABLE), reverse_sql=guard_unconditional_sql(VERSION_TABLE))
    ]

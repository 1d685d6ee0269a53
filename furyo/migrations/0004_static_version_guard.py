"""The version table's content guard compares columns instead of jsonb documents (jukinet migration 0004)."""

from django.db import migrations

from jukinet.partitions import guard_install_sql, guard_uninstall_sql
from furyo.sql import VERSION_TABLE


class Migration(migrations.Migration):
    dependencies = [("furyo", "0003_drop_duplicate_person_index"), ("jukinet", "0004_static_version_guard")]

    operations = [migrations.RunSQL(guard_install_sql(VERSION_TABLE), reverse_sql=guard_uninstall_sql(VERSION_TABLE))]

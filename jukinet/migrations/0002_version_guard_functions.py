from django.db import migrations

from jukinet.partitions import guard_functions_sql


class Migration(migrations.Migration):
    """Trigger functions shared by the version tables of both files (jukinet.partitions)."""

    dependencies = [("jukinet", "0001_initial")]

    operations = [
        migrations.RunSQL(
            guard_functions_sql(),
            reverse_sql="DROP FUNCTION jukinet_reject_delete(); DROP FUNCTION jukinet_version_guard_update();",
        ),
    ]

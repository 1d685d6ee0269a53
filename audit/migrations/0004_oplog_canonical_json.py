"""Store the log's targets and conditions as `json` holding canonical text (verify speed, domain.md §11).

Existing rows are rewritten to canonical text (their hashes were computed over it), with the append-only
trigger skipped for this one migration.
"""

import json

import audit.fields
from django.db import migrations

CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

TO_JSON = """
DROP INDEX IF EXISTS audit_oplog_targets_idx;
ALTER TABLE audit_operationlogentry
    ALTER COLUMN targets TYPE json USING targets::json,
    ALTER COLUMN conditions TYPE json USING conditions::json;
CREATE INDEX audit_oplog_targets_idx ON audit_operationlogentry USING gin ((targets::jsonb) jsonb_path_ops);
"""


def canonicalise_existing(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT sequence, recorded_at, targets::text, conditions::text FROM audit_operationlogentry")
        rows = cursor.fetchall()
        if not rows:
            return
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sequence, recorded_at, targets, conditions in rows:
            cursor.execute(
                "UPDATE audit_operationlogentry SET targets = %s::json, conditions = %s::json"
                " WHERE sequence = %s AND recorded_at = %s",
                [
                    CANONICAL.encode(json.loads(targets)),
                    None if conditions is None else CANONICAL.encode(json.loads(conditions)),
                    sequence,
                    recorded_at,
                ],
            )
        cursor.execute("SET LOCAL session_replication_role = origin")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_access_rights_usage_sampling"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="operationlogentry",
                    name="targets",
                    field=audit.fields.CanonicalJSONField(default=list, verbose_name="対象"),
                ),
                migrations.AlterField(
                    model_name="operationlogentry",
                    name="conditions",
                    field=audit.fields.CanonicalJSONField(blank=True, null=True, verbose_name="条件"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(TO_JSON, reverse_sql=migrations.RunSQL.noop),
                migrations.RunPython(canonicalise_existing, migrations.RunPython.noop),
            ],
        ),
    ]

"""The provision record's INSERT as a PL/pgSQL function, so its plan is made once per database session.

The lookup path sends the record with its operation-log append in one round trip as text
(provision.records.provision_record_statement); planning that INSERT into the month-partitioned table on every
request cost PostgreSQL more CPU than running it (bench/profile_lookup.py). The function's cached plan does not.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION provision_record_insert(
  p_id bigint, p_recorded_at timestamptz, p_operator bigint, p_terminal bigint, p_recipient bigint,
  p_release_kind text, p_affair bigint, p_affair_code text, p_file text, p_source text, p_conditions jsonb,
  p_subjects jsonb, p_items jsonb, p_channel text, p_result text, p_code text, p_document_reference text,
  p_bulk_request bigint
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  INSERT INTO provision_record (id, recorded_at, operator_id, terminal_id, recipient_id, release_kind, affair_id,
    affair_code, file, source, conditions, subjects, items, channel, result, code, document_reference,
    bulk_request_id)
  VALUES (p_id, p_recorded_at, p_operator, p_terminal, p_recipient, p_release_kind, p_affair, p_affair_code, p_file,
    p_source, p_conditions, p_subjects, p_items, p_channel, p_result, p_code, p_document_reference,
    p_bulk_request);
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("provision", "0001_provision_initial")]

    operations = [
        migrations.RunSQL(
            FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS provision_record_insert(bigint, timestamptz, bigint, bigint, bigint,"
            " text, bigint, text, text, text, jsonb, jsonb, jsonb, text, text, text, text, bigint)",
        )
    ]

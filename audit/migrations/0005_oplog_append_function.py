"""The operation-log append as one PL/pgSQL function (domain.md §11.1), so its statements are planned once per
database session instead of on every append (audit.services._append_in_one_round_trip).

Measured with bench/profile_lookup.py: planning the previous single-statement CTE (head, time, hash, insert,
head update over the partitioned log) cost PostgreSQL about 1.5 ms of CPU per append; the function's cached
plans cost a fraction of that. Same semantics: the chain lock is taken first, each following statement takes
its snapshot after the lock is granted (a VOLATILE function in READ COMMITTED), the time is the caller's clock
unless the previous entry is stamped up to a second later, and the hash is computed over the same canonical
text. No head row yet (first append of a database): no row is returned and the caller takes the other path.
"""

from django.db import migrations

OPLOG_LOCK_KEY = 0x6A756B696E6574  # audit.services.OPLOG_LOCK_KEY

FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_oplog_append(
  p_now timestamptz, p_before_time text, p_before_sequence text, p_after_sequence text,
  p_operator bigint, p_actor text, p_terminal bigint, p_kind integer, p_affair bigint,
  p_targets json, p_outcome text, p_conditions json, p_result_count integer,
  OUT o_sequence bigint, OUT o_recorded_at timestamptz, OUT o_hash bytea
) RETURNS SETOF record LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  previous bytea;
  later timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock({OPLOG_LOCK_KEY});
  SELECT h.sequence, h.hash INTO o_sequence, previous FROM audit_operationloghead h WHERE h.id = 1;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT max(e.recorded_at) INTO later FROM audit_operationlogentry e
    WHERE e.sequence = o_sequence AND e.recorded_at > p_now AND e.recorded_at < p_now + interval '1 second';
  o_recorded_at := GREATEST(p_now, later);
  o_sequence := o_sequence + 1;
  o_hash := sha256(previous || convert_to(
    p_before_time || to_char(o_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    || p_before_sequence || o_sequence::text || p_after_sequence, 'UTF8'));
  INSERT INTO audit_operationlogentry (sequence, recorded_at, operator_id, actor, terminal_id, kind, affair_id,
    targets, outcome, conditions, result_count, hash)
  VALUES (o_sequence, o_recorded_at, p_operator, p_actor, p_terminal, p_kind, p_affair,
    p_targets, p_outcome, p_conditions, p_result_count, o_hash);
  UPDATE audit_operationloghead SET sequence = o_sequence, hash = o_hash WHERE id = 1;
  RETURN NEXT;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_oplog_canonical_json")]

    operations = [
        migrations.RunSQL(
            FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS audit_oplog_append(timestamptz, text, text, text, bigint, text,"
            " bigint, integer, bigint, json, text, json, integer)",
        )
    ]

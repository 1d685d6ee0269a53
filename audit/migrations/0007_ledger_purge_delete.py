"""The access-right ledger stays append-only, except for the registers purge (jukinet.registers, domain.md §13).

The purge names its cut-off for its own transaction (`set_config('jukinet.ledger_purge_cutoff', …, true)`);
the trigger then lets a DELETE through only for a row recorded and effective before that cut-off. Every UPDATE,
and every DELETE without the setting or of a younger row, is rejected as before.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION audit_ledger_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := nullif(current_setting('jukinet.ledger_purge_cutoff', true), '')::timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND cutoff IS NOT NULL AND OLD.recorded_at < cutoff
       AND OLD.effective_on < (cutoff AT TIME ZONE 'Asia/Tokyo')::date THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER audit_ledger_append_only ON audit_accessrightledgerentry;
CREATE TRIGGER audit_ledger_append_only BEFORE UPDATE OR DELETE ON audit_accessrightledgerentry
    FOR EACH ROW EXECUTE FUNCTION audit_ledger_reject_change();
"""

REVERSE = """
DROP TRIGGER audit_ledger_append_only ON audit_accessrightledgerentry;
CREATE TRIGGER audit_ledger_append_only BEFORE UPDATE OR DELETE ON audit_accessrightledgerentry
    FOR EACH ROW EXECUTE FUNCTION audit_oplog_reject_change();
DROP FUNCTION audit_ledger_reject_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_oplog_pending")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]

"""Raw SQL of the lookup path (domain.md §9): one statement where the ORM would build several or compile slowly.

Measured with bench/lookup.py: the lookup is CPU-bound in Python on 2 cores, and the ORM's compilation of
Exists() annotations cost more than the round trips they saved.
"""

from __future__ import annotations

import functools
from typing import Any

from audit.models import Affair
from jukinet.partitions import SENTINEL_YEAR

# The affair in force on a date (Q01), whether the recipient is assigned to it (Q02) and whether the usage
# approval covers it (an approval naming no affair covers all; Q10). %(office)s and %(approval)s may be NULL.
AFFAIR_IN_FORCE = """
SELECT a.*,
  EXISTS (SELECT 1 FROM audit_affair_recipients r WHERE r.affair_id = a.id AND r.office_id = %(office)s)
    AS assigned,
  (NOT EXISTS (SELECT 1 FROM audit_usageapproval_affairs ua WHERE ua.usageapproval_id = %(approval)s)
   OR EXISTS (SELECT 1 FROM audit_usageapproval_affairs ua JOIN audit_affair named ON named.id = ua.affair_id
              WHERE ua.usageapproval_id = %(approval)s AND named.code = a.code))
    AS approval_covers
FROM audit_affair a
WHERE a.code = %(code)s AND a.effective_from <= %(on)s AND (a.effective_to IS NULL OR a.effective_to >= %(on)s)
ORDER BY a.effective_from DESC
LIMIT 1
"""

# A release's access in one statement (§9.2 Q10 → Q01 → Q02): today's usage approval of operator and terminal
# (audit.access.usage_approval_valid), the affair entry in force with `assigned` and `approval_covers` as in
# AFFAIR_IN_FORCE, and the id of the provision record the attempt will write. The caller decides in §9.2
# order from the columns; an empty affair code finds no affair (Q01).
# Explicit columns: a prepared statement's result type must not change when a migration adds a column. The
# status is written out and valid_until bounded on both sides (day_end: the end of today): the generic plan then
# reads today's approvals from the partial index audit usage_approval_in_force_idx, not every approval the
# operator ever had (a status parameter keeps it off a partial index; a one-sided range looks wide).
RELEASE_ACCESS = """
WITH approval AS (
  SELECT u.id FROM audit_usageapproval u
  WHERE u.operator_id = %(operator)s AND u.terminal_id = %(terminal)s AND u.status = 'approved'
    AND u.approved_at <= %(now)s AND u.valid_until > %(now)s AND u.valid_until <= %(day_end)s
  ORDER BY u.approved_at DESC LIMIT 1
)
SELECT (SELECT id FROM approval) AS approval_id,
  nextval(pg_get_serial_sequence('provision_record', 'id')) AS record_id,
  %(affair_columns)s,
  EXISTS (SELECT 1 FROM audit_affair_recipients r WHERE r.affair_id = a.id AND r.office_id = %(office)s)
    AS assigned,
  (NOT EXISTS (SELECT 1 FROM audit_usageapproval_affairs ua WHERE ua.usageapproval_id = (SELECT id FROM approval))
   OR EXISTS (SELECT 1 FROM audit_usageapproval_affairs ua JOIN audit_affair named ON named.id = ua.affair_id
              WHERE ua.usageapproval_id = (SELECT id FROM approval) AND named.code = a.code))
    AS approval_covers
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT * FROM audit_affair
  WHERE code = %(code)s AND effective_from <= %(on)s AND (effective_to IS NULL OR effective_to >= %(on)s)
  ORDER BY effective_from DESC LIMIT 1
) a ON true
""".replace("%(affair_columns)s", ", ".join(f"a.{f.column}" for f in Affair._meta.concrete_fields))


def release_match(model: type[Any], conditions: dict[str, Any]) -> tuple[str, dict[str, Any], list[str]]:
    """The §9.3 exact match of a release as one statement, and its version columns (attnames, in order).

    `conditions` maps version columns to exact values (`resident_code` also matches the person's code
    history, as `person__codes__resident_code` did). Current, not removed, not deleted versions pinned to the
    sentinel partition (selectors._release_versions); two rows at most (Q07). Extra columns: `suspended`
    (an active ProvisionSuspension for subject, file and affair: Q11) and the RESIDENT_CODE_RELEASE row in
    force today (NULL: the default). Parameters still to add: affair_code, file, today. The sentinel year is a
    literal, so a prepared statement's generic plan still prunes to its partition.
    """
    statement, columns = _release_match_text(model, tuple(conditions))  # type: ignore[arg-type]  # classes hash
    return statement, {f"c_{column}": value for column, value in conditions.items()}, list(columns)


@functools.cache
def _release_match_text(model: type[Any], condition_columns: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The statement of `release_match` for one shape of conditions (built once per process and shape)."""
    meta = model._meta
    fields = meta.concrete_fields
    table = meta.db_table
    codes = meta.get_field("person").related_model._meta.get_field("codes")
    join = ""
    where = ["NOT v.deleted", "v.is_current", f"v.expiry_year = {int(SENTINEL_YEAR)}", "NOT v.removed"]
    for column in condition_columns:
        meta.get_field(column)  # only the model's own columns
        where.append(f"v.{column} = %(c_{column})s")
    if "resident_code" in condition_columns:
        join = (
            f" JOIN {codes.related_model._meta.db_table} rc ON rc.{codes.field.column} = v.person_id"
            " AND rc.resident_code = %(c_resident_code)s"
        )
    statement = (
        f"SELECT {', '.join(f'v.{f.column}' for f in fields)},"  # noqa: S608 - names from the model
        " EXISTS (SELECT 1 FROM provision_provisionsuspension s WHERE s.active AND s.affair_code = %(affair_code)s"
        " AND s.file = %(file)s AND s.person_id = v.person_id) AS suspended,"
        " (SELECT sv.value FROM jukinet_settingvalue sv WHERE sv.name = 'RESIDENT_CODE_RELEASE'"
        " AND sv.effective_from <= %(today)s ORDER BY sv.effective_from DESC LIMIT 1) AS resident_code_release"
        f" FROM {table} v{join} WHERE {' AND '.join(where)} LIMIT 2"
    )
    return statement, tuple(f.attname for f in fields)


@functools.cache
def release_access_and_match(match_statement: str) -> str:
    """RELEASE_ACCESS and a `release_match` statement as one: the access row, a `guard` column (every check the
    database can answer passes: today's usage approval, the affair in force, covered by the approval, assigned
    to the recipient, naming the file, and permitting the individual number when %(needs_number)s), then the
    match's columns, NULL when nothing matched. The match is a LATERAL subquery gated by `guard`: PostgreSQL
    makes a qual on the outer row alone a one-time filter, so when the access fails no version is read at all.
    One round trip instead of two for a release whose conditions already meet §9.3 (provision.selectors).
    Extra parameter: needs_number."""
    match = match_statement.replace(" LIMIT 2", "", 1)
    where = match.rindex(" WHERE ")
    gated = f"{match[:where]} WHERE access.guard AND {match[where + len(' WHERE ') :]} LIMIT 2"
    return f"""
WITH access AS MATERIALIZED (
  SELECT r.*, (r.approval_id IS NOT NULL AND r.id IS NOT NULL AND r.approval_covers AND r.assigned
    AND %(file)s = ANY(r.files) AND (NOT %(needs_number)s OR r.individual_number_permitted)) AS guard
  FROM ({RELEASE_ACCESS}) r
)
SELECT access.*, m.* FROM access LEFT JOIN LATERAL ({gated}) m ON true
"""  # noqa: S608 - statements of this module, no input

"""Raw SQL of the lookup path (domain.md §9): one statement where the ORM would build several or compile slowly.

Measured with bench/lookup.py: the lookup is CPU-bound in Python on 2 cores, and the ORM's compilation of
Exists() annotations cost more than the round trips they saved.
"""

from __future__ import annotations

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

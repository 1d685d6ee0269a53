"""The one funnel for intake's operation-log entries (domain.md §11: one entry per received request and per
processing batch with its notice-id range and counts by result, E009 receipts as security events,
unauthenticated CS calls).

Each event is also kept as an IntakeBatch row (a processing batch or sweep already is one), which the intake
monitoring screen reads; the operation-log entry is written last, inside the caller's transaction, as
audit.services.operation_log_record requires.
"""

from __future__ import annotations

import json
from typing import Any

from audit.models import OperationKind
from audit.services import PRECEDING_ID, operation_log_record
from jukinet import clock
from prefserver.models import IntakeBatch

# IntakeBatch.Kind -> the operation-log kind of its entry
OPERATION_KINDS: dict[str, OperationKind] = {
    IntakeBatch.Kind.RECEIPT: OperationKind.INTAKE_REQUEST_RECEIVED,
    IntakeBatch.Kind.IMPORT: OperationKind.INTAKE_REQUEST_RECEIVED,
    IntakeBatch.Kind.PROCESS: OperationKind.INTAKE_BATCH_PROCESSED,
    IntakeBatch.Kind.HOLD_SWEEP: OperationKind.INTAKE_BATCH_PROCESSED,
    IntakeBatch.Kind.REFUSED: OperationKind.UNAUTHENTICATED_CS_CALL,
    IntakeBatch.Kind.SECURITY: OperationKind.INTAKE_SECURITY_EVENT,
}


def log_intake_event(
    *,
    actor: str,
    kind: str,
    targets: tuple[Any, ...] = (),
    outcome: str = "ok",
    conditions: dict[str, Any] | None = None,
    result_count: int | None = None,
    commit: bool = False,
) -> None:
    """Record one intake event. `kind` is an IntakeBatch.Kind; `conditions` hold counts, never values.

    Call it as the last statement of the action's transaction. The entry is written unchained (the sealed path,
    operation_log_record's `deferred`): it commits with the action and `operation_log_seal` chains it within
    seconds, so receipts and batches never queue on the chain lock behind each other's commits.
    `commit=True`: nothing follows in the transaction, so COMMIT travels with the entry (ignored unless the
    caller's block is the outermost one, see operation_log_record)."""
    conditions = dict(conditions or {})
    batch = next((target for target in targets if isinstance(target, IntakeBatch)), None)
    preceding = None
    if batch is None:
        # The event's IntakeBatch row is inserted by the entry's own statement (one round trip per request).
        now = clock.now()
        counts = {**conditions, **({"result_count": result_count} if result_count is not None else {})}
        preceding = (_BATCH_INSERT, [kind, actor, outcome, json.dumps(counts, ensure_ascii=False), now, now])
        targets = (*targets, (IntakeBatch._meta.label_lower, PRECEDING_ID))
    elif batch.first_notice is not None:
        conditions |= {"first_notice": batch.first_notice, "last_notice": batch.last_notice}
    operation_log_record(
        actor=actor,
        kind=OPERATION_KINDS[kind],
        targets=targets,
        outcome=outcome,
        conditions=conditions,
        result_count=result_count,
        commit=commit,
        deferred=True,
        preceding=preceding,
    )


_BATCH_INSERT = (
    f"INSERT INTO {IntakeBatch._meta.db_table} (kind, actor, outcome, first_notice, last_notice, counts, started_at,"  # noqa: S608
    " finished_at) VALUES (%s, %s, %s, NULL, NULL, %s::jsonb, %s, %s) RETURNING id"
)

"""The one funnel for intake's operation-log entries (domain.md §11: one entry per received request and per
processing batch, E009 receipts as security events, refused credentials).

Until audit.services.operation_log_record is merged, the entry is kept as an IntakeBatch row (the batches
themselves are rows already). On merge, point `log_intake_event` at operation_log_record.
"""

from __future__ import annotations

from typing import Any

from jukinet import clock
from prefserver.models import IntakeBatch


def log_intake_event(
    *,
    actor: str,
    kind: str,
    targets: tuple[Any, ...] = (),
    outcome: str = "ok",
    conditions: dict[str, Any] | None = None,
    result_count: int | None = None,
) -> None:
    """Record one intake event. `kind` is an IntakeBatch.Kind; `conditions` hold counts, never values."""
    if any(isinstance(target, IntakeBatch) for target in targets):
        return  # a processing batch or sweep is its own row
    IntakeBatch.objects.create(
        kind=kind,
        actor=actor,
        outcome=outcome,
        counts={**(conditions or {}), **({"result_count": result_count} if result_count is not None else {})},
        finished_at=clock.now(),
    )

"""State changes of the shared reference data: date-effective settings (domain.md §16.1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from audit.models import OperationKind, Operator
from audit.services import operation_log_record
from jukinet import clock
from jukinet.config import DEFAULTS
from jukinet.models import SettingValue


class SettingError(ValueError):
    """A setting change that is refused (the message is shown to the administrator)."""


def _same_shape(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(value, float):
        return False  # the operation log keeps JSON without floats (§11)
    return isinstance(value, type(default))


@transaction.atomic
def setting_value_set(*, operator: Operator, name: str, value: Any, effective_from: dt.date) -> SettingValue:
    """Schedule a setting's value from a date. Rows already in force are history and are never rewritten."""
    if name not in DEFAULTS:
        raise SettingError("この設定名はありません。")
    if not _same_shape(value, DEFAULTS[name]):
        raise SettingError("設定値の型が正しくありません。")
    if effective_from < clock.today():
        raise SettingError("適用開始日に過去の日付は指定できません。")
    row, _ = SettingValue.objects.update_or_create(name=name, effective_from=effective_from, defaults={"value": value})
    operation_log_record(
        actor=operator,
        kind=OperationKind.SETTING_CHANGED,
        targets=[row],
        conditions={"name": name, "effective_from": effective_from.isoformat(), "value": value},
    )
    return row

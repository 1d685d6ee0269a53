"""The monthly partitions of provision records (domain.md §9.4, §13).

The scheme (Asia/Tokyo months, no default partition, created ahead, dropped whole) is
jukinet.monthly_partitions; this module names the table.
"""

from __future__ import annotations

from jukinet.monthly_partitions import MonthlyPartitions, month_start, next_month

PARENT = "provision_record"
_PARTITIONS = MonthlyPartitions(PARENT)

partition_name = _PARTITIONS.name
partition_exists = _PARTITIONS.exists
partition_create = _PARTITIONS.create
partitions_ensure = _PARTITIONS.ensure
partition_months = _PARTITIONS.months
partition_drop = _PARTITIONS.drop

__all__ = [
    "PARENT", "month_start", "next_month", "partition_create", "partition_drop", "partition_exists",
    "partition_months", "partition_name", "partitions_ensure",
]  # fmt: skip

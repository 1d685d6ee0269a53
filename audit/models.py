"""Operators (操作者) and, with the audit issue, the operation log and access-right ledger."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Operator(AbstractUser):
    """A person with an account (操作者). Per-person accounts only; no shared accounts (domain.md §10.2)."""

    display_name = models.CharField("氏名", max_length=60, blank=True)

    class Meta:
        verbose_name = "操作者"
        verbose_name_plural = "操作者"

    def __str__(self) -> str:
        return self.display_name or self.username

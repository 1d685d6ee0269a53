"""例外修正 (domain.md §6.6): a clerk's draft, an administrator's approval, an auditor's quarterly check.

Imported by prefserver.models so that Django sees the model; kept apart so that the intake models stay
untouched. An individual number among the changes is kept only as AES-GCM ciphertext and blind index
(§4.2): `changes` holds a marker in its place, never digits.
"""

from __future__ import annotations

from django.db import models

from jukinet import clock


class ManualCorrection(models.Model):
    """One exceptional correction of one person's current version in file (1) or (2)."""

    class File(models.TextChoices):
        IDENTITY = "identity", "本人確認情報"
        FURYO = "furyo", "附票本人確認情報"

    class Status(models.TextChoices):
        DRAFTED = "drafted", "承認待ち"
        APPROVED = "approved", "承認済み"
        REJECTED = "rejected", "却下"
        APPLIED = "applied", "反映済み"

    class Verdict(models.TextChoices):
        PROPER = "proper", "適正"
        FINDING = "finding", "指摘あり"

    file = models.CharField("ファイル", max_length=10, choices=File.choices)
    person_id = models.BigIntegerField("対象者ID")
    resident_code = models.CharField("住民票コード", max_length=11)
    changes = models.JSONField("修正内容")
    individual_number_ciphertext = models.BinaryField("個人番号（暗号文）", null=True, editable=False)
    individual_number_blind_index = models.BinaryField("個人番号（照合値）", null=True, editable=False)
    reason = models.TextField("修正理由")
    document_reference = models.CharField("根拠書類", max_length=200)
    drafted_by = models.ForeignKey("audit.Operator", on_delete=models.PROTECT, related_name="+", verbose_name="起案者")
    drafted_terminal = models.ForeignKey(
        "audit.Terminal", on_delete=models.PROTECT, related_name="+", verbose_name="起案端末"
    )
    drafted_at = models.DateTimeField("起案日時", default=clock.now)
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.DRAFTED)
    decided_by = models.ForeignKey(
        "audit.Operator", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="承認者"
    )
    decided_at = models.DateTimeField("承認・却下日時", null=True, blank=True)
    decision_note = models.CharField("却下理由", max_length=400, blank=True)
    # Set on apply: the 99 version, its idempotency key and the results-feed row (§6.7, §7).
    version_id = models.BigIntegerField("版ID", null=True, blank=True)
    version_expiry_year = models.SmallIntegerField("版の保存期限年", null=True, blank=True)
    replaced_version_id = models.BigIntegerField("置き換えた版ID", null=True, blank=True)
    update_sequence = models.IntegerField("更新順番号", null=True, blank=True)
    revision = models.IntegerField("例外修正の版", null=True, blank=True)
    municipality_code = models.CharField("通知先市町村コード", max_length=6, blank=True)
    result_seq = models.BigIntegerField("結果番号", null=True, blank=True)
    # The quarterly check (§6.6, §10.1 auditor).
    checked_by = models.ForeignKey(
        "audit.Operator", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="点検者"
    )
    checked_at = models.DateTimeField("点検日時", null=True, blank=True)
    check_verdict = models.CharField("点検結果", max_length=10, choices=Verdict.choices, blank=True)
    check_notes = models.TextField("点検メモ", blank=True)
    unchecked_alerted_at = models.DateTimeField("未点検警告日時", null=True, blank=True)

    class Meta:
        verbose_name = "例外修正"
        verbose_name_plural = "例外修正"
        indexes = [
            models.Index(
                fields=["municipality_code", "result_seq"],
                name="manual_correction_feed_idx",
                condition=models.Q(result_seq__isnull=False),
            ),
            models.Index(fields=["status", "checked_at"], name="manual_correction_status_idx"),
        ]

    def __str__(self) -> str:
        return f"ManualCorrection #{self.pk} ({self.status})"

    def __repr__(self) -> str:
        return f"<ManualCorrection #{self.pk} {self.file} person #{self.person_id} {self.status}>"

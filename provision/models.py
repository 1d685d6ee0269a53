"""Provision records, suspension markers, bulk requests and the media ledgers (domain.md §9.4, §9.5, §12).

`ProvisionRecord` is append-only and partitioned by month of `recorded_at` (raw SQL in migration 0001,
provision.partitions); the beat purge drops whole months after RETENTION_YEARS (§13). Records refer to
persons by surrogate id only (no foreign key: persons may be purged before the record).
"""

from __future__ import annotations

from django.db import models

from audit.models import Affair, Office, Operator, Terminal
from jukinet import clock


class Channel(models.TextChoices):
    SCREEN = "screen", "画面"
    API = "api", "API"
    MEDIA = "media", "媒体"
    LINE_LINK = "line_link", "回線連携"
    PAPER = "paper", "紙"


class ReleaseKind(models.TextChoices):
    PROVISION = "provision", "提供"
    TRANSFER = "transfer", "移転"
    INTERNAL = "internal", "内部利用"


class Result(models.TextChoices):
    RELEASED = "released", "提供済み"
    NOT_FOUND = "not_found", "該当なし"
    REFUSED = "refused", "拒否"


class Source(models.TextChoices):
    LOCAL = "local", "都道府県サーバ"
    NATIONAL = "national", "全国サーバ"


class ProvisionRecord(models.Model):
    """提供・移転の記録: one per attempt, refusals included (seeds/002_b6d1246946737152.txt:2040-2043)."""

    id = models.BigAutoField(primary_key=True)
    recorded_at = models.DateTimeField("日時", default=clock.now)
    operator = models.ForeignKey(Operator, verbose_name="操作者", on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(
        Terminal, verbose_name="端末", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        Office, verbose_name="提供・移転先", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_kind = models.CharField("提供・移転の別", max_length=10, choices=ReleaseKind.choices)
    affair = models.ForeignKey(
        Affair, verbose_name="事務", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    affair_code = models.CharField("事務コード（指定値）", max_length=20, blank=True, default="")
    file = models.CharField("ファイル", max_length=10, choices=Affair.File.choices)
    source = models.CharField("照会先", max_length=10, choices=Source.choices, default=Source.LOCAL)
    # An individual number only as its blind index (key individual_number_blind_index), never digits.
    conditions = models.JSONField("検索条件", default=dict)
    subjects = models.JSONField("対象者（内部ID）", default=list)
    items = models.JSONField("提供項目", default=list)
    channel = models.CharField("提供方法", max_length=10, choices=Channel.choices)
    result = models.CharField("結果", max_length=10, choices=Result.choices)
    code = models.CharField("理由コード", max_length=8, blank=True, default="")
    document_reference = models.CharField("依頼文書", max_length=200, blank=True, default="")
    bulk_request_id = models.BigIntegerField("一括提供依頼ID", null=True, blank=True)

    class Meta:
        # Partitioned by month: the migration creates the table in SQL (provision.partitions); Django manages
        # only its state, so that test flushes truncate it with the tables it references.
        db_table = "provision_record"
        verbose_name = "提供・移転の記録"
        verbose_name_plural = "提供・移転の記録"
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"ProvisionRecord #{self.pk} {self.result}"


class ProvisionSuspension(models.Model):
    """利用停止 marker (domain.md §12): while active, provision/transfer of the subject under the affair → Q11.

    Set and lifted by the disclosure services (an administrator's decision); provision only reads it.
    `person_id` is the surrogate id of the file's person table (IdentityPerson or FuryoPerson).
    """

    person_id = models.BigIntegerField("対象者（内部ID）")
    file = models.CharField("ファイル", max_length=10, choices=Affair.File.choices)
    affair_code = models.CharField("事務コード", max_length=20)
    active = models.BooleanField("有効", default=True)
    decided_at = models.DateTimeField("決定日時", default=clock.now)
    lifted_at = models.DateTimeField("解除日時", null=True, blank=True)
    case_reference = models.CharField("案件", max_length=64, blank=True, default="")

    class Meta:
        verbose_name = "利用停止"
        verbose_name_plural = "利用停止"
        indexes = [models.Index(fields=["person_id", "file"], name="provision_susp_person_idx")]

    def __str__(self) -> str:
        return f"ProvisionSuspension #{self.pk}"


class BulkApprover(models.Model):
    """Capability `bulk_approver` (domain.md §10.1): a recipient's responsible officer for its bulk requests."""

    operator = models.ForeignKey(Operator, verbose_name="承認者", on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Office, verbose_name="提供・移転先", on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField("付与日時", default=clock.now)
    active = models.BooleanField("有効", default=True)

    class Meta:
        verbose_name = "一括提供承認者"
        verbose_name_plural = "一括提供承認者"
        constraints = [models.UniqueConstraint(fields=["operator", "office"], name="provision_bulk_approver_unique")]

    def __str__(self) -> str:
        return f"BulkApprover #{self.pk}"


class BulkApproval(models.Model):
    """Prior approval of a bulk request (seeds/002_b6d1246946737152.txt:1817-1818): electronic or paper."""

    recipient = models.ForeignKey(Office, verbose_name="提供・移転先", on_delete=models.PROTECT, related_name="+")
    affair = models.ForeignKey(Affair, verbose_name="事務", on_delete=models.PROTECT, related_name="+")
    max_rows = models.PositiveIntegerField("承認件数")
    approver = models.ForeignKey(
        Operator, verbose_name="承認者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paper_reference = models.CharField("紙の承認文書番号", max_length=100, blank=True, default="")
    recorded_by = models.ForeignKey(Operator, verbose_name="記録者", on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField("承認日時", default=clock.now)
    used_at = models.DateTimeField("使用日時", null=True, blank=True)

    class Meta:
        verbose_name = "一括提供の事前承認"
        verbose_name_plural = "一括提供の事前承認"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approver__isnull=False) | ~models.Q(paper_reference=""),
                name="provision_bulk_approval_has_basis",
            )
        ]

    def __str__(self) -> str:
        return f"BulkApproval #{self.pk}"


class Medium(models.Model):
    """電磁的記録媒体管理簿 (seeds/002_b6d1246946737152.txt:2415-2418): registered media only get files."""

    class Kind(models.TextChoices):
        CD = "cd", "CD-R"
        MO = "mo", "MO"

    class Status(models.TextChoices):
        REGISTERED = "registered", "登録済み"
        ISSUED = "issued", "払出し中"
        RETURNED = "returned", "返却済み"
        DISPOSED = "disposed", "消去・廃棄済み"

    medium_id = models.CharField("媒体番号", max_length=40, unique=True)
    kind = models.CharField("媒体の種類", max_length=4, choices=Kind.choices)
    office = models.ForeignKey(Office, verbose_name="管理所属", on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状態", max_length=12, choices=Status.choices, default=Status.REGISTERED)
    registered_at = models.DateTimeField("登録日時", default=clock.now)
    disposed_at = models.DateTimeField("廃棄日時", null=True, blank=True)
    disposal_method = models.CharField("廃棄方法", max_length=60, blank=True, default="")
    witness = models.CharField("立会者", max_length=60, blank=True, default="")

    class Meta:
        verbose_name = "電磁的記録媒体"
        verbose_name_plural = "電磁的記録媒体管理簿"

    def __str__(self) -> str:
        return self.medium_id


class BulkRequest(models.Model):
    """一括提供の依頼: one uploaded request file and its result file (kept 7 years, domain.md §13)."""

    class Status(models.TextChoices):
        REFUSED = "refused", "拒否"
        COMPLETED = "completed", "完了"

    recipient = models.ForeignKey(Office, verbose_name="提供・移転先", on_delete=models.PROTECT, related_name="+")
    affair = models.ForeignKey(
        Affair, verbose_name="事務", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    affair_code = models.CharField("事務コード（指定値）", max_length=20)
    file = models.CharField("ファイル", max_length=10, choices=Affair.File.choices)
    operator = models.ForeignKey(Operator, verbose_name="操作者", on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(
        Terminal, verbose_name="端末", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval = models.ForeignKey(
        BulkApproval, verbose_name="事前承認", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    medium = models.ForeignKey(
        Medium, verbose_name="媒体", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rows = models.PositiveIntegerField("件数")
    status = models.CharField("状態", max_length=10, choices=Status.choices)
    code = models.CharField("理由コード", max_length=8, blank=True, default="")
    document_reference = models.CharField("依頼文書", max_length=200, blank=True, default="")
    result_file = models.BinaryField("結果ファイル", null=True, blank=True)
    requested_at = models.DateTimeField("依頼日時", default=clock.now)

    class Meta:
        verbose_name = "一括提供の依頼"
        verbose_name_plural = "一括提供の依頼"

    def __str__(self) -> str:
        return f"BulkRequest #{self.pk}"


class MediaOutput(models.Model):
    """媒体出力の記録: one per file written (seeds/002_b6d1246946737152.txt:2092-2093)."""

    medium = models.ForeignKey(Medium, verbose_name="媒体", on_delete=models.PROTECT, related_name="outputs")
    bulk_request = models.ForeignKey(
        BulkRequest, verbose_name="一括提供の依頼", on_delete=models.PROTECT, related_name="outputs"
    )
    file_name = models.CharField("ファイル名", max_length=120)
    rows = models.PositiveIntegerField("件数")
    sha256 = models.CharField("SHA-256", max_length=64)
    requester = models.ForeignKey(Office, verbose_name="依頼元", on_delete=models.PROTECT, related_name="+")
    approver = models.ForeignKey(
        Operator, verbose_name="承認者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paper_approval_reference = models.CharField("紙の承認文書番号", max_length=100, blank=True, default="")
    operator = models.ForeignKey(Operator, verbose_name="操作者", on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, verbose_name="端末", on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField("出力日時", default=clock.now)

    class Meta:
        verbose_name = "媒体出力の記録"
        verbose_name_plural = "媒体出力の記録"

    def __str__(self) -> str:
        return f"MediaOutput #{self.pk}"

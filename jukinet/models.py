"""Reference data shared by every app: prefectures, municipalities, code tables, date-effective settings."""

from __future__ import annotations

from django.db import models

from jukinet import clock


class Prefecture(models.Model):
    code = models.CharField("都道府県コード", max_length=2, primary_key=True)
    name = models.CharField("都道府県名", max_length=10)

    class Meta:
        verbose_name = "都道府県"
        verbose_name_plural = "都道府県"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Municipality(models.Model):
    """全国地方公共団体コード master (domain.md §1, §3.2), loaded from fixtures/localgovjp-utf8.csv."""

    code = models.CharField("市町村コード", max_length=6, primary_key=True)
    prefecture = models.ForeignKey(Prefecture, on_delete=models.PROTECT, related_name="municipalities")
    name = models.CharField("名称", max_length=40)
    name_kana = models.CharField("よみ", max_length=80, blank=True)
    # A designated city's own code is not a sender: its wards are (domain.md §1 Decision).
    is_sender = models.BooleanField("通知送信元", default=True)

    class Meta:
        verbose_name = "市町村"
        verbose_name_plural = "市町村"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ChangeReason(models.Model):
    """異動事由 / 通知区分 codes (domain.md §6.2)."""

    class Group(models.TextChoices):
        ENTRY = "entry", "記載"
        CHANGE = "change", "変更"
        REMOVAL = "removal", "消除"
        CONTROL = "control", "訂正・取消"
        INTERNAL = "internal", "都道府県内部"

    code = models.CharField("異動事由コード", max_length=2, primary_key=True)
    name = models.CharField("異動事由", max_length=40)
    identifier = models.CharField("識別子", max_length=40, unique=True)
    for_identity = models.BooleanField("本人確認情報ファイル", default=False)
    for_furyo = models.BooleanField("附票本人確認情報ファイル", default=False)
    group = models.CharField("区分", max_length=10, choices=Group.choices)

    class Meta:
        verbose_name = "異動事由"
        verbose_name_plural = "異動事由"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ResultCode(models.Model):
    """Result and refusal codes with their Japanese messages and HTTP status (domain.md §19)."""

    code = models.CharField("コード", max_length=20, primary_key=True)
    meaning = models.CharField("意味", max_length=200)
    message = models.CharField("メッセージ", max_length=200)
    http_status = models.PositiveSmallIntegerField("HTTPステータス", null=True, blank=True)

    class Meta:
        verbose_name = "結果コード"
        verbose_name_plural = "結果コード"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


class SettingValue(models.Model):
    """A date-effective setting row edited by administrators (domain.md §16.1, database part).

    The row in force on a date is the one with the latest effective_from not after it; names and
    defaults are listed in jukinet.config.DEFAULTS.
    """

    name = models.CharField("設定名", max_length=60)
    value = models.JSONField("値")
    effective_from = models.DateField("適用開始日")
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        verbose_name = "設定値"
        verbose_name_plural = "設定値"
        constraints = [
            models.UniqueConstraint(fields=["name", "effective_from"], name="setting_value_name_from_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from})"


class PurgeRun(models.Model):
    """One run of a retention purge (domain.md §13): what it removed, when, and whether it was a dry run.

    The purge services finish each run with `purge_run_finish(run)`, which writes its one operation-log entry
    (`_log_purge`, jukinet.retention; kind PURGE, actor system:purge) in the same transaction.
    """

    class Kind(models.TextChoices):
        HISTORY = "history", "履歴の保存期間経過による消去"
        TEMPORARY_NUMBERS = "temporary_numbers", "一時保存個人番号の消去"

    kind = models.CharField("種別", max_length=20, choices=Kind.choices)
    as_of = models.DateTimeField("基準日時")
    dry_run = models.BooleanField("試行", default=False)
    started_at = models.DateTimeField("開始日時")
    finished_at = models.DateTimeField("終了日時", null=True, blank=True)
    counts = models.JSONField("件数", default=dict)
    partitions_dropped = models.JSONField("削除したパーティション", default=list)
    partitions_created = models.JSONField("作成したパーティション", default=list)

    class Meta:
        verbose_name = "消去の実行記録"
        verbose_name_plural = "消去の実行記録"
        indexes = [models.Index(fields=["kind", "started_at"], name="purge_run_kind_started_idx")]

    def __str__(self) -> str:
        return f"PurgeRun #{self.pk} {self.kind}"


# --- Shapes shared by both files (domain.md §4.2, §5.2): each file has its own concrete tables -------------


class VersionedPerson(models.Model):
    """Surrogate person of a file. `current_version_*` point at the current version (id and expiry year, so a
    fetch prunes to one partition) and change only while this row is locked (jukinet.version_store)."""

    current_version_id = models.BigIntegerField("現在の版ID", null=True)
    current_version_expiry_year = models.SmallIntegerField("現在の版の保存期限年", null=True)
    created_at = models.DateTimeField("作成日時", default=clock.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk}"


class ResidentCodeHistory(models.Model):
    """Every code a person has had (a resident code can change, so it is never a key); unique in its file.
    The concrete model adds `person`."""

    resident_code = models.CharField("住民票コード", max_length=11, unique=True)
    replaced_by = models.CharField("変更後の住民票コード", max_length=11, blank=True, default="")
    assigned_on = models.DateField("使用開始日")
    replaced_on = models.DateField("変更日", null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{type(self).__name__} #{self.pk} (person #{self.person_id})"  # type: ignore[attr-defined]

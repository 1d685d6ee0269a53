"""File (2): 都道府県知事保存附票本人確認情報ファイル (domain.md §5), and the temporary individual-number store.

No individual-number column, ever (seeds/002_b6d1246946737152.txt:1052-1053). Same storage as file (1):
person table, code history, append-only version table partitioned by expiry year. This app never imports
file (1) models; its only import from prefserver is the function of domain.md §5.3.
"""

from __future__ import annotations

from django.db import models

from jukinet import clock
from jukinet.models import ResidentCodeHistory, VersionedPerson
from jukinet.partitions import SENTINEL_YEAR


class FuryoStatus(models.IntegerChoices):
    DOMESTIC = 1, "国内"
    ABROAD = 2, "国外"
    REMOVED = 9, "消除"


class FuryoPerson(VersionedPerson):
    """Surrogate person of file (2)."""

    class Meta:
        db_table = "furyo_person"
        verbose_name = "附票本人確認情報の対象者"
        verbose_name_plural = "附票本人確認情報の対象者"


class FuryoResidentCode(ResidentCodeHistory):
    """Code history of file (2)."""

    person = models.ForeignKey(FuryoPerson, on_delete=models.PROTECT, related_name="codes")

    class Meta:
        db_table = "furyo_resident_code"
        verbose_name = "住民票コード履歴（附票）"
        verbose_name_plural = "住民票コード履歴（附票）"


class FuryoVersion(models.Model):
    """One version of the 18 附票 fields plus internal columns. Append-only; partitioned by expiry year."""

    id = models.BigAutoField(primary_key=True)
    expiry_year = models.SmallIntegerField("保存期限年", default=SENTINEL_YEAR)
    person = models.ForeignKey(FuryoPerson, on_delete=models.DO_NOTHING, related_name="versions")
    # --- the 18 fields (seeds/002_b6d1246946737152.txt:1561-1563) ---
    resident_code = models.CharField("住民票コード", max_length=11)
    name = models.CharField("氏名　漢字", max_length=100)
    name_gaiji_count = models.SmallIntegerField("氏名　外字数")
    name_kana = models.CharField("氏名　ふりがな", max_length=100)
    birth_date = models.DateField("生年月日")
    sex = models.SmallIntegerField("性別", choices=[(1, "男"), (2, "女")])
    address_municipality_code = models.CharField("住所　市町村コード", max_length=6, null=True, blank=True)
    address = models.CharField("住所　漢字", max_length=200)
    address_gaiji_count = models.SmallIntegerField("住所　外字数")
    last_address = models.CharField("最終住所　漢字", max_length=200, null=True, blank=True)
    last_address_gaiji_count = models.SmallIntegerField("最終住所　外字数", null=True, blank=True)
    change_date = models.DateField("異動年月日")
    former_resident_code = models.CharField("旧住民票コード", max_length=11, null=True, blank=True)
    furyo_municipality_code = models.CharField("附票管理市町村コード", max_length=6)
    status = models.SmallIntegerField("附票本人確認情報状態区分", choices=FuryoStatus.choices)
    gaiji_flag = models.BooleanField("外字フラグ")
    gaiji_pattern = models.CharField("外字パターン", max_length=20)
    notice_kind = models.CharField("通知区分", max_length=2)
    # --- internal columns, never released (domain.md §5.1) ---
    is_current = models.BooleanField("現在の版", default=True)
    removed = models.BooleanField("消除", default=False)
    update_sequence = models.IntegerField("更新順番号")
    deleted = models.BooleanField("削除フラグ", default=False)
    received_on = models.DateField("通知を受けた年月日")
    recorded_at = models.DateTimeField("タイムスタンプ", default=clock.now)
    municipality_code = models.CharField("送信元市町村コード", max_length=6)
    operator_id = models.CharField("操作者ＩＤ", max_length=32)
    terminal_id = models.CharField("操作端末ＩＤ", max_length=32)
    source_notice_id = models.BigIntegerField("元の通知ID", null=True, blank=True)
    revision = models.IntegerField("例外修正の版", default=0)
    retention_flag = models.SmallIntegerField("保存期間フラグ", default=0)
    retention_start = models.DateField("保存期間起算日", null=True, blank=True)
    seion_kana = models.CharField("清音化かな氏名", max_length=200)
    name_key = models.CharField("氏名検索キー", max_length=200)
    address_key = models.CharField("住所検索キー", max_length=400)

    class Meta:
        managed = False  # partitioned table created in SQL (migration 0001, jukinet.partitions)
        db_table = "furyo_version"
        verbose_name = "附票本人確認情報"
        verbose_name_plural = "附票本人確認情報"

    def __str__(self) -> str:
        return f"FuryoVersion #{self.pk} (person #{self.person_id})"

    def __repr__(self) -> str:
        return f"<FuryoVersion #{self.pk} person #{self.person_id}>"


class TemporaryIndividualNumber(models.Model):
    """イ その他: an emigrant's 個人番号 pulled for one provision (domain.md §5.3).

    Lives in its own schema `furyo_temp` (excluded from backups, no restore path), has no foreign key from
    or to any 附票 model and is linked to the provision record by a plain id. The number is encrypted under
    the key of the day (`furyo_temp.day_key`, an UNLOGGED table); the hourly purge deletes expired rows and
    then every day key with no rows left, so no copy in WAL, dead tuples or replicas stays readable.
    """

    provision_record_id = models.BigIntegerField("提供記録ID", db_index=True)
    resident_code = models.CharField("住民票コード", max_length=11)
    key_day = models.DateField("鍵の日付")
    ciphertext = models.BinaryField("個人番号（暗号文）", editable=False)
    created_at = models.DateTimeField("取得日時", default=clock.now)
    expires_at = models.DateTimeField("消去期限", db_index=True)

    class Meta:
        db_table = 'furyo_temp"."temporary_individual_number'
        verbose_name = "一時保存個人番号"
        verbose_name_plural = "一時保存個人番号"

    def __str__(self) -> str:
        return f"TemporaryIndividualNumber #{self.pk} (provision record #{self.provision_record_id})"

    def __repr__(self) -> str:
        return f"<TemporaryIndividualNumber #{self.pk} provision record #{self.provision_record_id}>"

"""File (1): 都道府県知事保存本人確認情報ファイル (domain.md §4).

Storage (§4.2): a non-partitioned person table with a pointer to its current version, a code-history
table (a resident code can change, so it is never a key), and an append-only version table partitioned by
expiry year (created in SQL by the migration; jukinet.partitions). No model here is in Django admin: every
read of personal data goes through prefserver.selectors.
"""

from __future__ import annotations

from django.db import models

from jukinet import clock
from jukinet.partitions import SENTINEL_YEAR


class Sex(models.IntegerChoices):
    MALE = 1, "男"
    FEMALE = 2, "女"


class RetentionFlag(models.IntegerChoices):
    CURRENT = 0, "現存"
    RETAINED = 1, "保存"


class IdentityPerson(models.Model):
    """Surrogate person of file (1). `current_version` is changed only while this row is locked."""

    current_version_id = models.BigIntegerField("現在の版ID", null=True)
    current_version_expiry_year = models.SmallIntegerField("現在の版の保存期限年", null=True)
    created_at = models.DateTimeField("作成日時", default=clock.now)

    class Meta:
        db_table = "prefserver_identity_person"
        verbose_name = "本人確認情報の対象者"
        verbose_name_plural = "本人確認情報の対象者"

    def __str__(self) -> str:
        return f"IdentityPerson #{self.pk}"


class IdentityResidentCode(models.Model):
    """Code history (住民票コードの履歴): every code a person has had, unique across the file."""

    resident_code = models.CharField("住民票コード", max_length=11, unique=True)
    person = models.ForeignKey(IdentityPerson, on_delete=models.PROTECT, related_name="codes")
    replaced_by = models.CharField("変更後の住民票コード", max_length=11, blank=True, default="")
    assigned_on = models.DateField("使用開始日")
    replaced_on = models.DateField("変更日", null=True, blank=True)

    class Meta:
        db_table = "prefserver_identity_resident_code"
        verbose_name = "住民票コード履歴"
        verbose_name_plural = "住民票コード履歴"
        indexes = [models.Index(fields=["person"], name="identity_code_person_idx")]

    def __str__(self) -> str:
        return f"IdentityResidentCode #{self.pk} (person #{self.person_id})"


class IdentityVersion(models.Model):
    """One version of a person's 28 fields plus internal columns. Append-only (a trigger enforces it).

    The table is partitioned by `expiry_year` (primary key (id, expiry_year)); Django sees `id` as the key.
    """

    id = models.BigAutoField(primary_key=True)
    expiry_year = models.SmallIntegerField("保存期限年", default=SENTINEL_YEAR)
    person = models.ForeignKey(IdentityPerson, on_delete=models.DO_NOTHING, related_name="versions")
    # --- the 28 fields, in seed order (seeds/002_b6d1246946737152.txt:1553-1558) ---
    resident_code = models.CharField("住民票コード", max_length=11)
    name = models.CharField("漢字氏名", max_length=100)
    name_gaiji_count = models.SmallIntegerField("外字数（氏名）")
    name_kana = models.CharField("ふりがな氏名", max_length=100)
    birth_date = models.DateField("生年月日")
    sex = models.SmallIntegerField("性別", choices=Sex.choices)
    address = models.CharField("住所", max_length=200)
    address_gaiji_count = models.SmallIntegerField("外字数（住所）")
    # 個人番号 (field 9): only as ciphertext + key id + blind index; see jukinet.crypto.
    individual_number_ciphertext = models.BinaryField("個人番号（暗号文）", editable=False)
    change_reason = models.CharField("異動事由", max_length=2)
    change_date = models.DateField("異動年月日")
    retention_flag = models.SmallIntegerField("保存期間フラグ", choices=RetentionFlag.choices, default=0)
    seion_kana = models.CharField("清音化かな氏名", max_length=200)
    municipality_code = models.CharField("市町村コード", max_length=6)
    district_code = models.CharField("大字・字コード", max_length=20)
    operator_id = models.CharField("操作者ＩＤ", max_length=32)
    terminal_id = models.CharField("操作端末ＩＤ", max_length=32)
    recorded_at = models.DateTimeField("タイムスタンプ", default=clock.now)
    received_on = models.DateField("通知を受けた年月日")
    gaiji_flag = models.BooleanField("外字フラグ")
    deleted = models.BooleanField("削除フラグ", default=False)
    update_sequence = models.IntegerField("更新順番号")
    name_gaiji_revision = models.IntegerField("氏名外字変更連番")
    address_gaiji_revision = models.IntegerField("住所外字変更連番")
    former_surname = models.CharField("旧氏　漢字", max_length=50, null=True, blank=True)
    former_surname_gaiji_count = models.SmallIntegerField("旧氏　外字数", null=True, blank=True)
    former_surname_kana = models.CharField("旧氏　ふりがな", max_length=50, null=True, blank=True)
    former_surname_gaiji_revision = models.IntegerField("旧氏　外字変更連番", null=True, blank=True)
    # --- internal columns, never released ---
    is_current = models.BooleanField("現在の版", default=True)
    removed = models.BooleanField("消除", default=False)
    retention_start = models.DateField("保存期間起算日", null=True, blank=True)
    source_notice_id = models.BigIntegerField("元の通知ID", null=True, blank=True)
    revision = models.IntegerField("例外修正の版", default=0)
    individual_number_key_id = models.CharField("鍵ID", max_length=32)
    individual_number_blind_index = models.BinaryField("個人番号（照合値）", editable=False)
    name_key = models.CharField("氏名検索キー", max_length=200)
    address_key = models.CharField("住所検索キー", max_length=400)

    class Meta:
        managed = False  # partitioned table created in SQL (migration 0001, jukinet.partitions)
        db_table = "prefserver_identity_version"
        verbose_name = "本人確認情報"
        verbose_name_plural = "本人確認情報"

    def __str__(self) -> str:
        return f"IdentityVersion #{self.pk} (person #{self.person_id})"

    def __repr__(self) -> str:
        return f"<IdentityVersion #{self.pk} person #{self.person_id}>"

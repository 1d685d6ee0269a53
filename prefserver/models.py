"""File (1): 都道府県知事保存本人確認情報ファイル (domain.md §4).

Storage (§4.2): a non-partitioned person table with a pointer to its current version, a code-history
table (a resident code can change, so it is never a key), and an append-only version table partitioned by
expiry year (created in SQL by the migration; jukinet.partitions). No model here is in Django admin: every
read of personal data goes through prefserver.selectors.
"""

from __future__ import annotations

from django.db import models

from jukinet import clock
from jukinet.fields import JSONTextField
from jukinet.models import ResidentCodeHistory, VersionedPerson
from jukinet.partitions import SENTINEL_YEAR


class Sex(models.IntegerChoices):
    MALE = 1, "男"
    FEMALE = 2, "女"


class RetentionFlag(models.IntegerChoices):
    CURRENT = 0, "現存"
    RETAINED = 1, "保存"


class IdentityPerson(VersionedPerson):
    """Surrogate person of file (1)."""

    class Meta:
        db_table = "prefserver_identity_person"
        verbose_name = "本人確認情報の対象者"
        verbose_name_plural = "本人確認情報の対象者"


class IdentityResidentCode(ResidentCodeHistory):
    """Code history (住民票コードの履歴) of file (1)."""

    person = models.ForeignKey(IdentityPerson, on_delete=models.PROTECT, related_name="codes")

    class Meta:
        db_table = "prefserver_identity_resident_code"
        verbose_name = "住民票コード履歴"
        verbose_name_plural = "住民票コード履歴"


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


# --- Intake (domain.md §6) ------------------------------------------------------------------------------


class MunicipalCredential(models.Model):
    """The credential of one 市町村CS, bound to exactly one municipality code (domain.md §6.7).

    Dev/test: a bearer key, stored only as its SHA-256. Production: the SHA-256 fingerprint of the client
    certificate, which the TLS-terminating proxy passes in X-Client-Cert-SHA256.
    """

    municipality = models.OneToOneField(
        "jukinet.Municipality", on_delete=models.PROTECT, related_name="credential", verbose_name="市町村"
    )
    key_sha256 = models.CharField("鍵のSHA-256", max_length=64, unique=True)
    cert_sha256 = models.CharField("クライアント証明書のSHA-256", max_length=64, unique=True, null=True, blank=True)
    active = models.BooleanField("有効", default=True)
    created_at = models.DateTimeField("作成日時", default=clock.now)

    class Meta:
        verbose_name = "市町村CSの認証情報"
        verbose_name_plural = "市町村CSの認証情報"

    def __str__(self) -> str:
        return f"MunicipalCredential {self.municipality_id}"


class NoticeFile(models.TextChoices):
    IDENTITY = "identity", "本人確認情報"
    FURYO = "furyo", "附票本人確認情報"


# Claim lanes (docs/intake.md "Claim lanes"): a notice's lane is a hash of its resident code, so every notice of one
# code is in one lane. A batch claims from lanes whose lock it could take (prefserver.intake.process._claim), so
# two workers' batches hold different persons and do not wait for each other's commit on the person locks.
NOTICE_LANES = 8  # a power of two: the lane is the hash's low bits
LANE_SQL = f"(hashtext({{}}) & {NOTICE_LANES - 1})"


class Lane(models.Func):
    """The claim lane of a resident code, as LANE_SQL computes it (the pending index's first column)."""

    template = LANE_SQL.format("%(expressions)s")
    output_field = models.IntegerField()


class Notice(models.Model):
    """The inbox: one row per stored notice, unique on (municipality_code, notice_id) (domain.md §6.5).

    `envelope` is the notice as received, except that a payload individual number is replaced by a marker and
    kept only as AES-GCM ciphertext and blind index in its own columns: never plaintext at rest. It is stored
    as the canonical JSON text the receipt encoded (a text column: never queried inside, see JSONTextField). Columns
    next to it are copies for queries (holds, ordering) when the received value had the right type.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "未処理"
        HELD = "held", "保留"
        APPLIED = "applied", "反映済み"
        REJECTED = "rejected", "エラー"

    class HoldReason(models.TextChoices):
        GAP = "gap", "前の通知待ち"
        UNKNOWN_CODE = "unknown_code", "記載待ち"
        REMOVED = "removed", "消除者への通知待ち"
        ERROR = "error", "処理エラー"

    id = models.BigAutoField(primary_key=True)
    municipality_code = models.CharField("市町村コード", max_length=6)
    notice_id = models.CharField("通知ID", max_length=40)
    file = models.CharField("ファイル", max_length=10, choices=NoticeFile.choices)
    change_reason = models.CharField("異動事由", max_length=16, blank=True)
    update_sequence = models.BigIntegerField("更新順番号", null=True)
    resident_code = models.CharField("住民票コード", max_length=16, blank=True)
    target_notice_id = models.CharField("対象通知ID", max_length=40, blank=True)
    new_resident_code = models.CharField("変更後の住民票コード", max_length=16, blank=True)
    envelope = JSONTextField("通知内容")
    individual_number_ciphertext = models.BinaryField("個人番号（暗号文）", null=True, editable=False)
    individual_number_blind_index = models.BinaryField("個人番号（照合値）", null=True, editable=False)
    content_sha256 = models.CharField("内容のSHA-256", max_length=64)
    request_id = models.UUIDField("受信要求ID")
    received_at = models.DateTimeField("受信日時")
    received_on = models.DateField("通知を受けた年月日")
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_reason = models.CharField("保留理由", max_length=16, choices=HoldReason.choices, blank=True)
    error_count = models.SmallIntegerField("処理エラー回数", default=0)
    code = models.CharField("結果コード", max_length=8, blank=True)
    message = models.CharField("メッセージ", max_length=400, blank=True)
    decided_at = models.DateTimeField("処理日時", null=True, blank=True)
    # Position in the results feed (§6.7): taken from its own sequence when the result is decided.
    result_seq = models.BigIntegerField("結果番号", null=True, blank=True)
    # The batch that decided the notice. No database constraint: the decision UPDATE sets it on every notice of
    # a batch at once, and a foreign key checked each row against the batch the same transaction had just
    # inserted (a trigger per row: 5–14 µs of PostgreSQL CPU per notice, docs/intake-measurements.md "Tenth
    # session"). Only the processor writes it; batches are deleted only by intake_records_purge, which keeps every
    # batch a kept notice names (tests/prefserver/test_intake_keeping.py); the ORM keeps PROTECT.
    batch = models.ForeignKey(
        "IntakeBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notices",
        verbose_name="処理単位",
        db_constraint=False,
    )

    class Meta:
        verbose_name = "更新通知"
        verbose_name_plural = "更新通知"
        constraints = [
            models.UniqueConstraint(fields=["municipality_code", "notice_id"], name="notice_municipality_id_uniq"),
        ]
        # Partial indexes: a decided notice leaves the claim and hold indexes, so deciding a row writes fewer
        # index entries (the decision UPDATE is the inbox's hottest statement).
        indexes = [
            # The claim's index: pending notices by lane, oldest first.
            models.Index(
                Lane("resident_code"), "id", name="notice_pending_lane_idx", condition=models.Q(status="pending")
            ),
            models.Index(fields=["file", "resident_code"], name="notice_held_idx", condition=models.Q(status="held")),
            models.Index(
                fields=["municipality_code", "result_seq"],
                name="notice_results_feed_idx",
                condition=models.Q(result_seq__isnull=False),
            ),
            models.Index(fields=["received_at"], name="notice_held_since_idx", condition=models.Q(status="held")),
        ]

    def __str__(self) -> str:
        return f"Notice #{self.pk}"

    def __repr__(self) -> str:
        return f"<Notice #{self.pk} {self.status}>"


class DuplicateReceipt(models.Model):
    """The duplicate log: a receipt of an already-received notice id. Never the payload (domain.md §6.5)."""

    municipality_code = models.CharField("市町村コード", max_length=6)
    notice_id = models.CharField("通知ID", max_length=40)
    first = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="duplicates", verbose_name="最初の通知")
    content_sha256 = models.CharField("内容のSHA-256", max_length=64)
    content_mismatch = models.BooleanField("内容の相違", default=False)
    request_id = models.UUIDField("受信要求ID")
    received_at = models.DateTimeField("受信日時")

    class Meta:
        verbose_name = "重複受信"
        verbose_name_plural = "重複受信"

    def __str__(self) -> str:
        return f"DuplicateReceipt #{self.pk}"


class PushOutbox(models.Model):
    """One row per applied change, written in the version's transaction (domain.md §7 'Durable outbox').

    The relay builds the payload at send time from the version id. Idempotency key per file:
    (resident_code, update_sequence, revision).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "未送信"
        SENT = "sent", "送信済み"
        FAILED = "failed", "送信失敗"

    file = models.CharField("ファイル", max_length=10, choices=NoticeFile.choices)
    person_id = models.BigIntegerField("対象者ID")
    resident_code = models.CharField("住民票コード", max_length=11)
    update_sequence = models.IntegerField("更新順番号")
    revision = models.IntegerField("例外修正の版", default=0)
    version_id = models.BigIntegerField("版ID")
    version_expiry_year = models.SmallIntegerField("版の保存期限年")
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField("送信回数", default=0)
    next_attempt_at = models.DateTimeField("次回送信日時", default=clock.now)
    acked_at = models.DateTimeField("受領確認日時", null=True, blank=True)
    created_at = models.DateTimeField("作成日時", default=clock.now)

    class Meta:
        verbose_name = "全国サーバ送信待ち"
        verbose_name_plural = "全国サーバ送信待ち"
        constraints = [
            models.UniqueConstraint(
                fields=["file", "resident_code", "update_sequence", "revision"], name="push_outbox_key_uniq"
            ),
        ]
        # The relay's claim walks the pending rows in (next_attempt_at, id) order and stops at its batch size
        # (prefserver.push.CANDIDATES_SQL). Only pending rows are in it, so marking a row sent adds no entry.
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"], name="push_outbox_due_idx", condition=models.Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"PushOutbox #{self.pk}"


class IntakeBatch(models.Model):
    """One received request, import, processing batch or hold sweep, with its counts by result."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "受信"
        IMPORT = "import", "ファイル取込"
        PROCESS = "process", "反映処理"
        HOLD_SWEEP = "hold_sweep", "保留期限処理"
        REFUSED = "refused", "認証拒否"
        SECURITY = "security", "送信元不一致"

    kind = models.CharField("種別", max_length=12, choices=Kind.choices)
    actor = models.CharField("実行者", max_length=64)
    outcome = models.CharField("結果", max_length=16, default="ok")
    first_notice = models.BigIntegerField("最初の通知ID", null=True, blank=True)
    last_notice = models.BigIntegerField("最後の通知ID", null=True, blank=True)
    counts = models.JSONField("件数", default=dict)
    started_at = models.DateTimeField("開始日時", default=clock.now)
    finished_at = models.DateTimeField("終了日時", null=True, blank=True)

    class Meta:
        verbose_name = "通知処理単位"
        verbose_name_plural = "通知処理単位"

    def __str__(self) -> str:
        return f"IntakeBatch #{self.pk} ({self.kind})"


class Alert(models.Model):
    """A row on the staff dashboard (domain.md §15, minimal form)."""

    class Kind(models.TextChoices):
        CONTENT_MISMATCH = "content_mismatch", "受信済みの通知と内容が異なります"
        INTAKE_ERROR = "intake_error", "通知の処理エラー"
        MANUAL_CORRECTION_UNCHECKED = "manual_correction_unchecked", "点検されていない例外修正があります"
        PUSH_AUTH_FAILED = "push_auth_failed", "全国サーバとの相互認証に失敗しました"
        PUSH_REJECTED = "push_rejected", "全国サーバが更新を受け付けませんでした"
        PUSH_BACKLOG = "push_backlog", "全国サーバへの送信待ちが滞留しています"
        PUSH_PAYLOAD_ERROR = "push_payload_error", "全国サーバへの送信内容を作成できません"

    kind = models.CharField("種別", max_length=32, choices=Kind.choices)
    message = models.CharField("内容", max_length=400)
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    created_at = models.DateTimeField("発生日時", default=clock.now)
    resolved = models.BooleanField("対応済み", default=False)

    class Meta:
        verbose_name = "警告"
        verbose_name_plural = "警告"

    def __str__(self) -> str:
        return f"Alert #{self.pk} ({self.kind})"


from prefserver.correction_models import ManualCorrection  # noqa: E402, F401  (例外修正, domain.md §6.6)

# --- Incidents register (domain.md §15, minimal form) ------------------------------------------------------


class Incident(models.Model):
    """A row of the incidents register (事故): content, count, place, circumstances, detection date,
    prevention. Opened by the system (a national push pending past PUSH_INCIDENT_AFTER) or by staff."""

    class Status(models.TextChoices):
        OPEN = "open", "対応中"
        CLOSED = "closed", "完了"

    kind = models.CharField("種別", max_length=32, blank=True)
    content = models.CharField("内容", max_length=400)
    count = models.IntegerField("件数", default=0)
    place = models.CharField("場所", max_length=200, blank=True)
    circumstances = models.TextField("状況", blank=True)
    detected_at = models.DateTimeField("検知日時", default=clock.now)
    prevention = models.TextField("再発防止策", blank=True)
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField("完了日時", null=True, blank=True)

    class Meta:
        verbose_name = "事故"
        verbose_name_plural = "事故"

    def __str__(self) -> str:
        return f"Incident #{self.pk} ({self.status})"

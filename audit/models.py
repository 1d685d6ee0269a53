"""Operators, offices, terminals, the affair catalogue and the operation log (domain.md §9.1, §10, §11)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models

from audit.fields import CanonicalJSONField


class Role(models.TextChoices):
    """Roles of domain.md §10.1. A person may hold several; none approves their own request."""

    ADMINISTRATOR = "administrator", "市町村課 管理者"
    CLERK = "clerk", "市町村課 担当職員"
    SECURITY_OFFICER = "security_officer", "所属セキュリティ責任者"
    BODY_OPERATOR = "body_operator", "他の執行機関の操作者"
    DEPARTMENT_OPERATOR = "department_operator", "他部署の操作者"
    AUDITOR = "auditor", "監査担当"
    CONTRACTOR = "contractor", "運用委託事業者"


class Office(models.Model):
    """所属. Executive bodies and departments are offices too: the provision / transfer recipients."""

    class Kind(models.TextChoices):
        SECTION = "section", "課"
        BRANCH = "branch", "出先機関"
        BODY = "body", "他の執行機関"
        DEPARTMENT = "department", "他部署"

    code = models.CharField("所属コード", max_length=20, unique=True)
    name = models.CharField("所属名", max_length=100)
    kind = models.CharField("種別", max_length=12, choices=Kind.choices)
    is_active = models.BooleanField("有効", default=True)

    class Meta:
        verbose_name = "所属"
        verbose_name_plural = "所属"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_recipient(self) -> bool:
        return self.kind in (self.Kind.BODY, self.Kind.DEPARTMENT)


class Operator(AbstractUser):
    """A person with an account (操作者). Per-person accounts only; no shared accounts (domain.md §10.2).

    `roles` is the account's current rights; the access-right ledger is the append-only register they must
    match (the weekly reconciliation reports every difference, domain.md §10.3).
    """

    display_name = models.CharField("氏名", max_length=60, blank=True)
    employee_id = models.CharField("職員番号", max_length=20, blank=True, default="")
    office = models.ForeignKey(
        Office, verbose_name="所属", on_delete=models.PROTECT, null=True, blank=True, related_name="operators"
    )
    roles = ArrayField(
        models.CharField(max_length=24, choices=Role.choices), verbose_name="役割", default=list, blank=True
    )
    failed_login_count = models.PositiveSmallIntegerField("連続ログイン失敗回数", default=0)
    locked_at = models.DateTimeField("ロック日時", null=True, blank=True)

    class Meta:
        verbose_name = "操作者"
        verbose_name_plural = "操作者"

    def __str__(self) -> str:
        return self.display_name or self.username

    def has_role(self, role: str) -> bool:
        return role in self.roles


class Terminal(models.Model):
    """登録端末 (domain.md §10.2): 代表端末 or 業務端末 with its capabilities and hashed credential."""

    class Kind(models.TextChoices):
        REPRESENTATIVE = "representative", "代表端末"
        BUSINESS = "business", "業務端末"

    class Capability(models.TextChoices):
        SEARCH = "search", "検索"
        PROVIDE = "provide", "提供・移転"
        MEDIA_EXPORT = "media_export", "媒体出力"
        PRINT = "print", "印刷"
        LOG_AUDIT = "log_audit", "操作履歴の監査"

    name = models.CharField("端末名", max_length=60, unique=True)
    kind = models.CharField("種別", max_length=16, choices=Kind.choices)
    office = models.ForeignKey(Office, verbose_name="所属", on_delete=models.PROTECT, related_name="terminals")
    # SHA-256 of the terminal key (dev/test) or of the client certificate's fingerprint (production).
    credential_hash = models.CharField("認証情報（ハッシュ）", max_length=64, unique=True)
    capabilities = ArrayField(
        models.CharField(max_length=16, choices=Capability.choices), verbose_name="機能", default=list
    )
    is_active = models.BooleanField("有効", default=True)
    registered_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        verbose_name = "登録端末"
        verbose_name_plural = "登録端末"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def can(self, capability: str) -> bool:
        return self.is_active and capability in self.capabilities


class Affair(models.Model):
    """事務 catalogue entry (domain.md §9.1), versioned by effective date."""

    class Category(models.TextChoices):
        SCHEDULE_3 = "schedule_3", "別表第3"
        SCHEDULE_5 = "schedule_5", "別表第5"
        SCHEDULE_6 = "schedule_6", "別表第6"
        ORDINANCE = "ordinance", "条例"
        INTERNAL = "internal", "内部事務"

    class File(models.TextChoices):
        IDENTITY = "identity", "本人確認情報ファイル"
        FURYO = "furyo", "附票本人確認情報ファイル"

    class ReleaseKind(models.TextChoices):
        PROVISION = "provision", "提供"
        TRANSFER = "transfer", "移転"
        NONE = "none", "なし（内部事務）"

    code = models.CharField("事務コード", max_length=20)
    name = models.CharField("事務名", max_length=200)
    category = models.CharField("区分", max_length=12, choices=Category.choices)
    legal_reference = models.CharField("根拠法令", max_length=200, blank=True)
    recipients = models.ManyToManyField(
        Office,
        verbose_name="提供・移転先",
        blank=True,
        related_name="affairs",
        limit_choices_to={"kind__in": ["body", "department"]},
    )
    files = ArrayField(models.CharField(max_length=10, choices=File.choices), verbose_name="対象ファイル", default=list)
    individual_number_permitted = models.BooleanField("個人番号の利用", default=False)
    national_query = models.BooleanField("全国サーバへの照会", default=False)
    release_kind = models.CharField("提供・移転の別", max_length=10, choices=ReleaseKind.choices)
    effective_from = models.DateField("適用開始日")
    effective_to = models.DateField("適用終了日", null=True, blank=True)

    class Meta:
        verbose_name = "事務"
        verbose_name_plural = "事務"
        ordering = ["code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"], name="audit_affair_code_from_unique"),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=models.F("effective_from")),
                name="audit_affair_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class OperationKind(models.IntegerChoices):
    """Every logged operation (domain.md §11), grouped by area in hundreds."""

    # 0xx sessions and authentication
    LOGIN = 1, "ログイン"
    LOGOUT = 2, "ログアウト"
    LOGIN_FAILED = 3, "ログイン失敗"
    OTP_FAILED = 4, "ワンタイムパスワード認証失敗"
    ACCOUNT_LOCKED = 5, "アカウントのロック"
    ACCOUNT_UNLOCKED = 6, "アカウントのロック解除"
    IDLE_LOCKED = 7, "無操作によるロック"
    REAUTHENTICATED = 8, "再認証"
    UNAUTHENTICATED_API_CALL = 9, "未認証のAPI呼出し"
    UNAUTHENTICATED_CS_CALL = 10, "未認証の市町村CSからの呼出し"
    TERMINAL_REFUSED = 11, "未登録端末からの利用"
    API_TOKEN_ISSUED = 12, "APIトークンの発行"
    API_THROTTLED = 13, "API呼出し回数の超過"
    UNAUTHENTICATED_SCREEN_ACCESS = 14, "未認証の画面アクセス"
    # 1xx identity and 附票 records
    IDENTITY_SEARCHED = 100, "本人確認情報の検索"
    IDENTITY_VIEWED = 101, "本人確認情報の照会"
    FURYO_SEARCHED = 102, "附票本人確認情報の検索"
    FURYO_VIEWED = 103, "附票本人確認情報の照会"
    INDIVIDUAL_NUMBER_REVEALED = 104, "個人番号の表示"
    MANUAL_CORRECTION_DRAFTED = 110, "例外修正の起案"
    MANUAL_CORRECTION_APPROVED = 111, "例外修正の承認"
    MANUAL_CORRECTION_CHECKED = 112, "例外修正の点検"
    TEMPORARY_NUMBER_PULLED = 120, "附票個人番号の一時取得"
    # 2xx intake from 市町村CS
    INTAKE_REQUEST_RECEIVED = 200, "更新通知の受信"
    INTAKE_BATCH_PROCESSED = 201, "更新通知の処理"
    INTAKE_SECURITY_EVENT = 202, "送信元不一致（E009）"
    INTAKE_DUPLICATE = 203, "更新通知の重複受信"
    # 3xx provision, transfer and national queries
    PROVISION = 300, "提供"
    TRANSFER = 301, "移転"
    NATIONAL_QUERY = 302, "全国サーバへの照会"
    BULK_REQUESTED = 310, "一括提供の依頼"
    BULK_APPROVED = 311, "一括提供の事前承認"
    BULK_PROCESSED = 312, "一括提供の処理"
    EXPORTED = 320, "データの出力"
    MEDIA_WRITTEN = 321, "媒体への書出し"
    PRINTED = 322, "印刷"
    # 4xx citizens' requests and issued documents
    DISCLOSURE_RECEIVED = 400, "開示請求等の受付"
    DISCLOSURE_MATCHED = 401, "請求者の照合"
    DISCLOSURE_DECIDED = 402, "開示請求等の決定"
    DOCUMENT_ISSUED = 403, "文書の交付"
    DOCUMENT_REPRINTED = 404, "文書の再交付"
    PAYMENT_RECORDED = 405, "手数料の収納"
    CORRECTION_REFERRED = 406, "訂正等の申出の回付"
    SUSPENSION_DECIDED = 407, "利用停止の決定"
    # 5xx access rights, usage approvals, training, settings, catalogue
    ACCESS_RIGHT_APPLIED = 500, "アクセス権限の申請"
    ACCESS_RIGHT_GRANTED = 501, "アクセス権限の付与"
    ACCESS_RIGHT_REFUSED = 502, "アクセス権限の承認拒否"
    ACCESS_RIGHT_CHANGED = 503, "アクセス権限の変更"
    ACCESS_RIGHT_SUSPENDED = 504, "アクセス権限の停止"
    ACCESS_RIGHT_REVOKED = 505, "アクセス権限の取消"
    PERSONNEL_CHANGES_IMPORTED = 506, "人事異動の取込み"
    USAGE_APPROVAL_REQUESTED = 510, "使用伺いの申請"
    USAGE_APPROVED = 511, "使用伺いの承認"
    USAGE_APPROVAL_REFUSED = 512, "使用伺いの却下"
    TRAINING_RECORDED = 520, "研修受講の記録"
    TERMINAL_REGISTERED = 530, "端末の登録"
    TERMINAL_ENROLLED = 531, "ブラウザの端末登録"
    SETTING_CHANGED = 540, "設定の変更"
    AFFAIR_CATALOGUE_CHANGED = 541, "事務一覧の変更"
    OPERATOR_CHANGED = 542, "操作者の登録・変更"
    # 6xx system jobs
    ALERT_RAISED = 600, "警告"
    INCIDENT_OPENED = 601, "事故の登録"
    NATIONAL_PUSH = 610, "全国サーバへの送信"
    RECONCILIATION = 620, "市町村CSとの整合"
    ACCESS_RIGHT_RECONCILIATION = 621, "アクセス権限の突合"
    REVOCATION_SWEEP = 622, "アクセス権限の期限処理"
    PURGE = 630, "保存期間経過データの削除"
    KEY_ROTATION = 640, "鍵の更新"
    CHECKPOINT_SIGNED = 650, "操作履歴チェックポイントの署名"
    # 7xx the operation log itself
    LOG_VIEWED = 700, "操作履歴の閲覧"
    LOG_SEARCHED = 701, "操作履歴の検索"
    LOG_EXPORTED = 702, "操作履歴の出力"
    LOG_SUBJECT_RESOLVED = 703, "監査対象者の特定"
    LOG_VERIFIED = 704, "操作履歴の検証"
    SAMPLING_CREATED = 710, "抽出監査の作成"
    SAMPLING_REVIEWED = 711, "抽出監査の判定"
    AUDIT_FINDING_RECORDED = 712, "監査所見の記録"


class OperationLogEntry(models.Model):
    """操作履歴 (domain.md §11). Append-only, hash-chained, partitioned by month of `recorded_at`.

    Written only by `audit.services.operation_log_record`. The table is created by raw SQL in the
    migration (PARTITION BY RANGE, primary key (sequence, recorded_at), trigger rejecting UPDATE/DELETE).
    """

    sequence = models.BigIntegerField("連番", primary_key=True)
    recorded_at = models.DateTimeField("日時")
    operator = models.ForeignKey(
        Operator, verbose_name="操作者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # "operator:<id>" for a person, otherwise the principal: "system:intake", "cs:352039".
    actor = models.CharField("操作主体", max_length=64)
    terminal = models.ForeignKey(
        Terminal, verbose_name="端末", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # No `choices=` on purpose: new kinds from other apps need no migration here. See `kind_label`.
    kind = models.PositiveSmallIntegerField("操作種別")
    affair = models.ForeignKey(
        Affair, verbose_name="事務", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Stored as `json` holding canonical text (audit.fields): the verifier concatenates, never re-encodes.
    targets = CanonicalJSONField("対象", default=list)
    outcome = models.CharField("結果", max_length=16, default="ok")
    conditions = CanonicalJSONField("条件", null=True, blank=True)
    result_count = models.IntegerField("件数", null=True, blank=True)
    hash = models.BinaryField("ハッシュ", max_length=32)

    class Meta:
        verbose_name = "操作履歴"
        verbose_name_plural = "操作履歴"
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind_label}"

    @property
    def kind_label(self) -> str:
        try:
            return str(OperationKind(self.kind).label)
        except ValueError:
            return str(self.kind)


class OperationLogCheckpoint(models.Model):
    """A signed head of the chain (domain.md §11): daily, on each month's last entry, and before a purge.

    The signature (Ed25519, key outside the database) covers `checkpoint_message()`; the same record is
    exported to OPLOG_CHECKPOINT_EXPORT_DIR so that it survives outside the system.
    """

    class Reason(models.TextChoices):
        DAILY = "daily", "日次"
        MONTH_END = "month_end", "月末"
        PURGE = "purge", "削除前"
        MANUAL = "manual", "手動"

    sequence = models.BigIntegerField("連番")
    entry_recorded_at = models.DateTimeField("記録日時")
    hash = models.BinaryField("ハッシュ", max_length=32)
    reason = models.CharField("種別", max_length=10, choices=Reason.choices)
    signed_at = models.DateTimeField("署名日時")
    public_key = models.CharField("公開鍵（16進）", max_length=64)
    signature = models.BinaryField("署名", max_length=64)

    class Meta:
        verbose_name = "操作履歴チェックポイント"
        verbose_name_plural = "操作履歴チェックポイント"
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "reason"], name="audit_checkpoint_sequence_reason_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_reason_display()}"


class OperationLogPending(models.Model):
    """An operation-log entry written without the chain lock, waiting to be chained (domain.md §11 fallback).

    The lookup API's entries land here, in the same implicit transaction as their provision record, and
    intake's receipts and batches write theirs here inside their own transactions, so that concurrent callers
    never queue on the chain lock through their commit's WAL flush. `audit.services.operation_log_seal` (beat,
    every OPLOG_SEAL_SECONDS, and intake workers after each batch) moves them into OperationLogEntry in the order it
    finds them committed, chaining each exactly as a locked append would, and deletes them here in the same
    transaction. `targets` and `conditions` hold canonical JSON text, as the log does.
    """

    id = models.BigAutoField(primary_key=True)
    recorded_at = models.DateTimeField("日時")
    operator_id = models.BigIntegerField("操作者", null=True)
    actor = models.CharField("操作主体", max_length=64)
    terminal_id = models.BigIntegerField("端末", null=True)
    kind = models.PositiveSmallIntegerField("操作種別")
    affair_id = models.BigIntegerField("事務", null=True)
    targets = models.TextField("対象")
    outcome = models.CharField("結果", max_length=16)
    conditions = models.TextField("条件", null=True)
    result_count = models.IntegerField("件数", null=True)

    class Meta:
        verbose_name = "連鎖待ちの操作履歴"
        verbose_name_plural = "連鎖待ちの操作履歴"

    def __str__(self) -> str:
        return f"pending #{self.pk} kind {self.kind}"


class OperationLogHead(models.Model):
    """The chain's head (one row, id 1): read and moved under the append lock, so no append scans partitions.

    Only a cache: `verify_operation_log` recomputes from the entries and never trusts it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField("連番")
    hash = models.BinaryField("ハッシュ", max_length=32)

    class Meta:
        verbose_name = "操作履歴の先頭"
        verbose_name_plural = "操作履歴の先頭"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_oploghead_single_row")]

    def __str__(self) -> str:
        return f"#{self.sequence}"


# --- Access rights, training, usage approvals (domain.md §10.3, §10.4) -------------------


class TrainingRecord(models.Model):
    """研修受講記録: no right without completed training (`seeds/001_f00ff35fbf01a749.txt:355-357`)."""

    class Kind(models.TextChoices):
        FIRST = "first", "初任時"
        YEARLY = "yearly", "年次"

    operator = models.ForeignKey(Operator, verbose_name="受講者", on_delete=models.PROTECT, related_name="trainings")
    course = models.CharField("研修名", max_length=100)
    syllabus = models.TextField("内容", blank=True)
    kind = models.CharField("区分", max_length=8, choices=Kind.choices, default=Kind.FIRST)
    completed_on = models.DateField("受講日")
    recorded_by = models.ForeignKey(Operator, verbose_name="記録者", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField("記録日時", auto_now_add=True)

    class Meta:
        verbose_name = "研修受講記録"
        verbose_name_plural = "研修受講記録"
        ordering = ["-completed_on"]

    def __str__(self) -> str:
        return f"{self.course} {self.completed_on}"


class AccessRightApplication(models.Model):
    """アクセス権限の申請 by an office: role, files, affairs, terminals (domain.md §10.3 step 1)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "申請中"
        APPROVED = "approved", "承認済み"
        REFUSED = "refused", "却下"

    operator = models.ForeignKey(Operator, verbose_name="対象者", on_delete=models.PROTECT, related_name="applications")
    office = models.ForeignKey(Office, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    role = models.CharField("役割", max_length=24, choices=Role.choices)
    files = ArrayField(models.CharField(max_length=10), verbose_name="対象ファイル", default=list, blank=True)
    affairs = models.ManyToManyField(Affair, verbose_name="事務", blank=True, related_name="+")
    terminals = models.ManyToManyField(Terminal, verbose_name="端末", blank=True, related_name="+")
    applied_by = models.ForeignKey(Operator, verbose_name="申請者", on_delete=models.PROTECT, related_name="+")
    applied_at = models.DateTimeField("申請日時")
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.APPLIED)
    decided_by = models.ForeignKey(
        Operator, verbose_name="承認者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField("承認日時", null=True, blank=True)
    note = models.CharField("備考", max_length=200, blank=True)

    class Meta:
        verbose_name = "アクセス権限の申請"
        verbose_name_plural = "アクセス権限の申請"
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.operator} {self.get_role_display()} ({self.get_status_display()})"


class AccessRightLedgerEntry(models.Model):
    """アクセス権限管理簿: one append-only row per grant, change, suspension or revocation (§10.3 step 4)."""

    class Action(models.TextChoices):
        GRANT = "grant", "付与"
        CHANGE = "change", "変更"
        SUSPEND = "suspend", "停止"
        REVOKE = "revoke", "取消"

    operator = models.ForeignKey(Operator, verbose_name="対象者", on_delete=models.PROTECT, related_name="ledger")
    office = models.ForeignKey(Office, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    role = models.CharField("役割", max_length=24, choices=Role.choices)
    action = models.CharField("区分", max_length=8, choices=Action.choices)
    files = ArrayField(models.CharField(max_length=10), verbose_name="対象ファイル", default=list, blank=True)
    affair_codes = ArrayField(models.CharField(max_length=20), verbose_name="事務", default=list, blank=True)
    terminal_names = ArrayField(models.CharField(max_length=60), verbose_name="端末", default=list, blank=True)
    application = models.ForeignKey(
        AccessRightApplication, verbose_name="申請", on_delete=models.PROTECT, null=True, blank=True
    )
    effective_on = models.DateField("適用日")
    overdue = models.BooleanField("期限超過", default=False)
    reason = models.CharField("理由", max_length=200, blank=True)
    recorded_by = models.CharField("記録者", max_length=64)
    recorded_at = models.DateTimeField("記録日時")

    class Meta:
        verbose_name = "アクセス権限管理簿"
        verbose_name_plural = "アクセス権限管理簿"
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["operator", "role"], name="audit_ledger_operator_role")]

    def __str__(self) -> str:
        return f"{self.operator} {self.get_role_display()} {self.get_action_display()}"


class PersonnelChange(models.Model):
    """人事異動: imported from `manage.py import_personnel_changes FILE` (§10.3 step 5)."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", "転任"
        RETIREMENT = "retirement", "退職"

    employee_id = models.CharField("職員番号", max_length=20)
    effective_date = models.DateField("発令日")
    kind = models.CharField("区分", max_length=12, choices=Kind.choices)
    imported_at = models.DateTimeField("取込日時")
    swept_at = models.DateTimeField("期限処理日時", null=True, blank=True)

    class Meta:
        verbose_name = "人事異動"
        verbose_name_plural = "人事異動"
        ordering = ["effective_date", "employee_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee_id", "effective_date", "kind"], name="audit_personnel_change_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} {self.effective_date} {self.get_kind_display()}"


class UsageApproval(models.Model):
    """使用伺い (domain.md §10.4): valid until 24:00 Asia/Tokyo of the day of approval."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "申請中"
        APPROVED = "approved", "承認済み"
        REFUSED = "refused", "却下"

    operator = models.ForeignKey(
        Operator, verbose_name="操作者", on_delete=models.PROTECT, related_name="usage_approvals"
    )
    office = models.ForeignKey(Office, verbose_name="所属", on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, verbose_name="端末", on_delete=models.PROTECT, related_name="+")
    affairs = models.ManyToManyField(Affair, verbose_name="事務", blank=True, related_name="+")
    purpose = models.CharField("使用目的", max_length=200)
    requested_at = models.DateTimeField("申請日時")
    status = models.CharField("状態", max_length=10, choices=Status.choices, default=Status.REQUESTED)
    # The officer's check that no camera, phone or USB memory was brought in
    # (seeds/001_f00ff35fbf01a749.txt:345-349).
    devices_checked = models.BooleanField("カメラ・携帯電話・USBメモリ持込みなしの確認", default=False)
    paper_reference = models.CharField("使用伺い簿の記載（紙）", max_length=60, blank=True)
    approved_by = models.ForeignKey(
        Operator, verbose_name="承認者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField("承認日時", null=True, blank=True)
    valid_until = models.DateTimeField("有効期限", null=True, blank=True)

    class Meta:
        verbose_name = "使用伺い"
        verbose_name_plural = "使用伺い"
        ordering = ["-requested_at"]
        # The approval in force (every release and personal-data screen asks): an operator gathers one per working
        # day, about 1,700 in 7 years, and the range valid_until > now keeps only today's. Its readers also bound
        # valid_until by the end of today (an approval's valid_until is the end of its day, rights.py), so the
        # releases' prepared access statement plans this range as narrow without knowing the values and keeps
        # its generic plan (a one-sided range is guessed at a third of the rows: PostgreSQL then re-planned the
        # statement on every call, 1.2 ms).
        indexes = [
            models.Index(
                fields=["operator", "valid_until"],
                name="usage_approval_in_force_idx",
                condition=models.Q(status="approved"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator} {self.requested_at:%Y-%m-%d} ({self.get_status_display()})"


class ApiToken(models.Model):
    """REST token (domain.md §9.6): hashed, bound to operator and terminal, idle and day-end expiry."""

    key_hash = models.CharField("トークン（ハッシュ）", max_length=64, unique=True)
    operator = models.ForeignKey(Operator, verbose_name="操作者", on_delete=models.PROTECT, related_name="+")
    terminal = models.ForeignKey(Terminal, verbose_name="端末", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("発行日時")
    last_used_at = models.DateTimeField("最終利用日時")
    expires_at = models.DateTimeField("有効期限")

    class Meta:
        verbose_name = "APIトークン"
        verbose_name_plural = "APIトークン"

    def __str__(self) -> str:
        return f"token {self.pk} ({self.operator_id})"


# --- Auditor sampling (domain.md §11 "Auditor pages") ------------------------------------


class SamplingCampaign(models.Model):
    """抽出監査: N random entries of a period, drawn with a recorded seed."""

    name = models.CharField("名称", max_length=100)
    period_from = models.DateField("対象期間（自）")
    period_to = models.DateField("対象期間（至）")
    size = models.PositiveIntegerField("抽出件数")
    seed = models.BigIntegerField("乱数シード")
    created_by = models.ForeignKey(Operator, verbose_name="作成者", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("作成日時")

    class Meta:
        verbose_name = "抽出監査"
        verbose_name_plural = "抽出監査"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SamplingItem(models.Model):
    class Verdict(models.TextChoices):
        PENDING = "pending", "未判定"
        APPROPRIATE = "appropriate", "適正"
        QUESTIONABLE = "questionable", "要確認"
        INAPPROPRIATE = "inappropriate", "不適正"

    campaign = models.ForeignKey(
        SamplingCampaign, verbose_name="抽出監査", on_delete=models.CASCADE, related_name="items"
    )
    # No database foreign key: the log's primary key is (sequence, recorded_at) and old months are dropped.
    entry_sequence = models.BigIntegerField("操作履歴の連番")
    entry_operator = models.ForeignKey(
        Operator, verbose_name="操作者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(Operator, verbose_name="確認者", on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField("判定", max_length=14, choices=Verdict.choices, default=Verdict.PENDING)
    document_checked = models.CharField("確認した書類", max_length=200, blank=True)
    finding = models.TextField("所見", blank=True)
    reviewed_at = models.DateTimeField("判定日時", null=True, blank=True)

    class Meta:
        verbose_name = "抽出監査の対象"
        verbose_name_plural = "抽出監査の対象"
        ordering = ["campaign", "entry_sequence"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "entry_sequence"], name="audit_sampling_item_unique"),
            # The reviewer is never the entry's operator (domain.md §11).
            models.CheckConstraint(
                condition=~models.Q(reviewer=models.F("entry_operator")) | models.Q(entry_operator__isnull=True),
                name="audit_sampling_reviewer_not_operator",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.entry_sequence}"

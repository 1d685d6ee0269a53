"""Citizens' requests (domain.md §12): cases, identity checks, issued documents, payments, corrections,
suspensions, and the date-effective fee table.

Rules live in disclosure/services.py; these models hold state only. Intake never records an individual
number: no field here is meant for one, and the services refuse number-shaped text in free-text fields.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from audit.models import Operator
from jukinet import clock


class RequestKind(models.TextChoices):
    DISCLOSURE = "disclosure_request", "本人確認情報の開示"
    PROVISION_STATUS = "provision_status", "提供状況の開示"
    CORRECTION = "correction_request", "訂正・追加・削除の申出"
    SUSPENSION = "suspension_request", "利用停止"


class TargetFile(models.TextChoices):
    IDENTITY = "identity", "本人確認情報ファイル"
    FURYO = "furyo", "附票本人確認情報ファイル"


class RequesterSex(models.IntegerChoices):
    MALE = 1, "男"
    FEMALE = 2, "女"


class CaseStatus(models.TextChoices):
    RECEIVED = "received", "受付"
    MATCHED = "matched", "照合済み"
    DECIDED = "decided", "決定済み"
    NOTIFIED = "notified", "決定通知済み（手数料待ち）"
    PAID = "paid", "手数料収納済み"
    REFERRED = "referred", "市町村へ回付済み"
    CLOSED = "closed", "完了"


class Decision(models.TextChoices):
    GRANTED = "granted", "開示"
    NOT_EXISTS = "not_exists", "不存在"
    REFUSED = "refused", "不開示"


class CorrectionKind(models.TextChoices):
    CORRECTION = "correction", "訂正"
    ADDITION = "addition", "追加"
    DELETION = "deletion", "削除"


class FeeTableRow(models.Model):
    """手数料表 (domain.md §12, §16): a date-effective row; the row in force on the decision date applies."""

    effective_from = models.DateField("適用開始日", unique=True)
    handling_fee_yen = models.PositiveIntegerField("手数料（円）", default=0)
    copy_per_sheet_yen = models.PositiveIntegerField("写しの交付費用（1枚あたり円）", default=10)
    created_at = models.DateTimeField("登録日時", default=clock.now)

    class Meta:
        verbose_name = "手数料表"
        verbose_name_plural = "手数料表"
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"手数料表 {self.effective_from}"


class DisclosureCase(models.Model):
    """One written request on the designated form (seeds/002_b6d1246946737152.txt:3402)."""

    kind = models.CharField("請求の種類", max_length=20, choices=RequestKind.choices)
    file = models.CharField("対象ファイル", max_length=10, choices=TargetFile.choices, default=TargetFile.IDENTITY)
    include_history = models.BooleanField("履歴を含む", default=False)
    window_index = models.PositiveSmallIntegerField("受付窓口（番号）", default=0)
    window_name = models.CharField("受付窓口", max_length=200)
    received_on = models.DateField("受付日")
    form_version = models.CharField("様式の版", max_length=40)
    due_on = models.DateField("処理期限")
    status = models.CharField("状態", max_length=10, choices=CaseStatus.choices, default=CaseStatus.RECEIVED)
    # --- the requester as written on the form (not as recorded in the files) ---
    requester_name = models.CharField("請求者氏名", max_length=100)
    requester_kana = models.CharField("請求者ふりがな", max_length=100)
    requester_birth_date = models.DateField("請求者生年月日")
    requester_sex = models.SmallIntegerField("請求者性別", choices=RequesterSex.choices)
    requester_postal_code = models.CharField("郵便番号", max_length=8, blank=True)
    requester_address = models.CharField("請求者住所", max_length=200)
    requester_contact = models.CharField("連絡先", max_length=100, blank=True)
    request_summary = models.TextField("請求の内容", blank=True)
    # --- correction and suspension requests ---
    correction_kind = models.CharField(
        "訂正等の種類", max_length=10, choices=CorrectionKind.choices, blank=True, default=""
    )
    correction_points = models.JSONField("訂正等を求める箇所", default=list, blank=True)
    suspension_affair_codes = ArrayField(
        models.CharField(max_length=20), verbose_name="利用停止を求める事務", default=list, blank=True
    )
    # --- matching (domain.md §12): the surrogate person id of the chosen file, never a resident code ---
    matched_person_id = models.BigIntegerField("照合した対象者ID", null=True, blank=True)
    matched_at = models.DateTimeField("照合日時", null=True, blank=True)
    matched_by = models.ForeignKey(
        Operator, verbose_name="照合者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    address_confirmed = models.BooleanField("本人確認書類と住所を確認", default=False)
    # --- decision ---
    decision = models.CharField("決定", max_length=12, choices=Decision.choices, blank=True, default="")
    decision_reason = models.TextField("決定の理由", blank=True)
    decided_on = models.DateField("決定日", null=True, blank=True)
    decided_by = models.ForeignKey(
        Operator, verbose_name="決定者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    fee_sheets = models.PositiveIntegerField("写しの枚数", null=True, blank=True)
    fee_total_yen = models.PositiveIntegerField("交付費用（円）", null=True, blank=True)
    received_by = models.ForeignKey(Operator, verbose_name="受付者", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登録日時", default=clock.now)
    closed_at = models.DateTimeField("完了日時", null=True, blank=True)

    class Meta:
        verbose_name = "開示請求等"
        verbose_name_plural = "開示請求等"
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["status", "due_on"], name="disc_case_status_due_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(due_on__gt=models.F("received_on")), name="disclosure_due_after")
        ]

    def __str__(self) -> str:
        return f"開示請求等 #{self.pk}"

    @property
    def reference(self) -> str:
        """文書番号 printed on every document of the case."""
        return f"住基開示第{self.pk}号"


class IdentityVerification(models.Model):
    """本人確認の記録: how the requester was identified. Never an individual number (seeds/002:398)."""

    class Method(models.TextChoices):
        COUNTER = "counter", "窓口で提示"
        POST = "post", "郵送（写しの添付）"

    case = models.OneToOneField(DisclosureCase, on_delete=models.CASCADE, related_name="verification")
    method = models.CharField("確認方法", max_length=10, choices=Method.choices)
    document_type = models.CharField("本人確認書類", max_length=60)
    checked_by = models.ForeignKey(Operator, verbose_name="確認者", on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField("確認日")

    class Meta:
        verbose_name = "本人確認の記録"
        verbose_name_plural = "本人確認の記録"

    def __str__(self) -> str:
        return f"本人確認 (case #{self.case_id})"


class DocumentKind(models.TextChoices):
    DECISION_NOTICE = "decision_notice", "開示決定通知書"
    CONFIRMATION_SHEET = "confirmation_sheet", "本人確認情報確認書"
    PROVISION_STATUS_REPORT = "provision_status_report", "提供状況開示書"
    CORRECTION_RESULT = "correction_result", "訂正等結果通知書"
    SUSPENSION_DECISION = "suspension_decision", "利用停止決定通知書"
    MUNICIPALITY_REFERRAL = "municipality_referral", "市町村への回付書"


class StoredDocument(models.Model):
    """A rendered PDF kept encrypted with its case (AES-256-GCM), so that a reprint prints these bytes.

    A draft (the pre-rendered confirmation sheet) is stored too but has no ledger row until it is issued.
    """

    case = models.ForeignKey(DisclosureCase, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField("文書の種類", max_length=24, choices=DocumentKind.choices)
    ciphertext = models.BinaryField("暗号化したPDF", editable=False)
    pages = models.PositiveIntegerField("ページ数")
    sha256 = models.CharField("SHA-256", max_length=64)
    substitution_note = models.CharField("〓置換の記録", max_length=500, blank=True)
    rendered_at = models.DateTimeField("作成日時", default=clock.now)
    issued = models.BooleanField("交付済み", default=False)

    class Meta:
        verbose_name = "保存文書"
        verbose_name_plural = "保存文書"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (case #{self.case_id})"

    def __repr__(self) -> str:
        return f"<StoredDocument #{self.pk} {self.kind} case #{self.case_id}>"


class OutputLedgerEntry(models.Model):
    """出力管理簿: one row per issued or reprinted document (domain.md §12), with disposal fields."""

    class DisposalMethod(models.TextChoices):
        SHREDDING = "shredding", "裁断"
        PULPING = "pulping", "溶解"

    document = models.ForeignKey(StoredDocument, on_delete=models.PROTECT, related_name="ledger_entries")
    case = models.ForeignKey(DisclosureCase, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField("文書の種類", max_length=24, choices=DocumentKind.choices)
    pages = models.PositiveIntegerField("ページ数")
    sha256 = models.CharField("SHA-256", max_length=64)
    substitution_note = models.CharField("〓置換の記録", max_length=500, blank=True)
    printed_at = models.DateTimeField("出力日時", default=clock.now)
    operator = models.ForeignKey(Operator, verbose_name="出力者", on_delete=models.PROTECT, related_name="+")
    is_reprint = models.BooleanField("再出力", default=False)
    reprint_reason = models.CharField("再出力の理由", max_length=200, blank=True)
    # Kept copies (控え) and their disposal (domain.md §15 printed-output disposal).
    holder = models.CharField("保管者", max_length=60, blank=True)
    disposed_on = models.DateField("廃棄日", null=True, blank=True)
    disposal_method = models.CharField(
        "廃棄方法", max_length=10, choices=DisposalMethod.choices, blank=True, default=""
    )
    disposal_witness = models.CharField("立会者", max_length=60, blank=True)

    class Meta:
        verbose_name = "出力管理簿"
        verbose_name_plural = "出力管理簿"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"出力 #{self.pk} {self.get_kind_display()}"


class Payment(models.Model):
    """手数料（写しの交付費用）の収納. Prepaid: the confirmation sheet is handed over only after this row."""

    case = models.OneToOneField(DisclosureCase, on_delete=models.PROTECT, related_name="payment")
    amount_yen = models.PositiveIntegerField("金額（円）")
    paid_on = models.DateField("収納日")
    receipt_reference = models.CharField("領収番号", max_length=40, blank=True)
    recorded_by = models.ForeignKey(Operator, verbose_name="記録者", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField("記録日時", default=clock.now)

    class Meta:
        verbose_name = "手数料の収納"
        verbose_name_plural = "手数料の収納"

    def __str__(self) -> str:
        return f"収納 (case #{self.case_id})"


class CorrectionInvestigation(models.Model):
    """調査 of a correction request: notes, referral to the municipality holding the master, outcome.

    The fix arrives as a normal notice from the municipality and is linked here by its inbox id; this
    system never edits identity data (seeds/000_4a892f0003cb7409.txt:124-125).
    """

    class Outcome(models.TextChoices):
        PENDING = "", "調査中"
        CORRECTED = "corrected", "訂正等を行った"
        NOT_CORRECTED = "not_corrected", "訂正等を行わない"

    class ReferralMethod(models.TextChoices):
        DOCUMENT = "document", "文書"
        POST = "post", "郵送"
        HAND = "hand", "持参"

    case = models.OneToOneField(DisclosureCase, on_delete=models.CASCADE, related_name="investigation")
    notes = models.TextField("調査メモ", blank=True)
    municipality_code = models.CharField("回付先市町村コード", max_length=6, blank=True)
    referral_method = models.CharField(
        "回付方法", max_length=10, choices=ReferralMethod.choices, blank=True, default=""
    )
    referral_on = models.DateField("回付日", null=True, blank=True)
    referral_reference = models.CharField("回付文書番号", max_length=60, blank=True)
    # Inbox id (prefserver.Notice, intake branch) of the later update notice that fixed the record: a plain
    # id, as versions refer to notices (§4.2), so the case survives the notice purge.
    update_notice_id = models.BigIntegerField("訂正した更新通知ID", null=True, blank=True)
    corrected_on = models.DateField("訂正日", null=True, blank=True)
    outcome = models.CharField("結果", max_length=14, choices=Outcome.choices, blank=True, default="")
    finding = models.TextField("調査結果", blank=True)

    class Meta:
        verbose_name = "訂正等の調査"
        verbose_name_plural = "訂正等の調査"

    def __str__(self) -> str:
        return f"調査 (case #{self.case_id})"


class SuspensionDecision(models.Model):
    """利用停止の決定 by an administrator; a granted one suspends provision for the named affairs (Q11)."""

    class Outcome(models.TextChoices):
        GRANTED = "granted", "利用停止する"
        REFUSED = "refused", "利用停止しない"

    case = models.OneToOneField(DisclosureCase, on_delete=models.PROTECT, related_name="suspension")
    outcome = models.CharField("決定", max_length=10, choices=Outcome.choices)
    person_id = models.BigIntegerField("対象者ID", null=True, blank=True)
    file = models.CharField("対象ファイル", max_length=10, choices=TargetFile.choices)
    affair_codes = ArrayField(models.CharField(max_length=20), verbose_name="対象事務", default=list, blank=True)
    effective_from = models.DateField("開始日", null=True, blank=True)
    reason = models.TextField("理由", blank=True)
    decided_by = models.ForeignKey(Operator, verbose_name="決定者", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField("決定日時", default=clock.now)
    lifted_on = models.DateField("解除日", null=True, blank=True)
    lifted_by = models.ForeignKey(
        Operator, verbose_name="解除者", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "利用停止の決定"
        verbose_name_plural = "利用停止の決定"
        indexes = [models.Index(fields=["person_id", "file"], name="disc_suspension_person_idx")]

    def __str__(self) -> str:
        return f"利用停止 (case #{self.case_id})"

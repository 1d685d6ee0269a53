"""The printed documents of citizens' requests (domain.md §12), as plain typed data.

Each document is a frozen dataclass rendered by one template under templates/disclosure/print/. The
rendering layer knows no models: the disclosure services build these from their cases and the selectors.
Names and addresses are passed exactly as recorded (never normalized, domain.md §4.2); the renderer
replaces what the fonts lack with 〓.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import models

# The case's own choices: a printed decision or correction kind is the one stored on the case.
from disclosure.models import CorrectionKind
from disclosure.models import Decision as DecisionKind

# A 12-digit run, also written 4-4-4 with spaces or hyphens, in any width: the shape of a 個人番号.
_NUMBER_SHAPE = re.compile(r"\d{4}[\s\-]?\d{4}[\s\-]?\d{4}")


class Sex(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"


class IdentityFile(models.TextChoices):
    # domain.md §4, §5
    RESIDENT = "1", "都道府県知事保存本人確認情報ファイル"
    FURYO = "2", "都道府県知事保存附票本人確認情報ファイル"


class ProvisionKind(models.TextChoices):
    # domain.md §9.1
    PROVISION = "provision", "提供"
    TRANSFER = "transfer", "移転"


class ReleasedItem(models.TextChoices):
    """Names of items released (domain.md §9.3). A report lists which items went out, never their values."""

    NAME = "name", "氏名"
    BIRTH_DATE = "birth_date", "生年月日"
    SEX = "sex", "性別"
    ADDRESS = "address", "住所"
    CHANGE_REASON = "change_reason", "異動事由"
    CHANGE_DATE = "change_date", "異動年月日"
    INDIVIDUAL_NUMBER = "individual_number", "個人番号"
    RESIDENT_CODE = "resident_code", "住民票コード"


class CorrectionOutcome(models.TextChoices):
    CORRECTED = "corrected", "訂正等を行った"
    NOT_CORRECTED = "not_corrected", "訂正等を行わない"


class SuspensionOutcome(models.TextChoices):
    GRANTED = "granted", "利用停止する"
    REFUSED = "refused", "利用停止しない"


def reject_number_shaped(value: object, *, where: str) -> None:
    """Refuse text that looks like a 個人番号; the message names the field, never the digits."""
    if isinstance(value, str) and _NUMBER_SHAPE.search(unicodedata.normalize("NFKC", value)):
        raise ValueError(f"{where} に個人番号の形の数字列は記載できません")


@dataclass(frozen=True, kw_only=True)
class Addressee:
    """The requester as written on the designated form (not as recorded in the files)."""

    name: str
    address: str
    postal_code: str = ""


@dataclass(frozen=True, kw_only=True)
class Letter:
    """Fields shared by every document: its number, issue date and the request it answers."""

    title: ClassVar[str]
    template: ClassVar[str]

    issued_on: dt.date
    reference: str  # 文書番号, e.g. 市町第123号
    received_on: dt.date  # the request's receipt date


@dataclass(frozen=True, kw_only=True)
class CopyFee:
    """The cost stated on a decision notice (see fees.copy_fee)."""

    sheets: int
    per_sheet_yen: int
    handling_yen: int
    total_yen: int


@dataclass(frozen=True, kw_only=True)
class DisclosureDecisionNotice(Letter):
    """本人確認情報開示決定通知書, with the 不存在 and 不開示 variants."""

    title: ClassVar[str] = "本人確認情報開示決定通知書"
    template: ClassVar[str] = "disclosure/print/decision_notice.html"

    addressee: Addressee
    kind: DecisionKind
    file: IdentityFile = IdentityFile.RESIDENT
    fee: CopyFee | None = None  # required for GRANTED
    reason: str = ""  # required for NOT_EXISTS and REFUSED
    window_index: int = 0  # which DISCLOSURE_WINDOWS entry hands the copy over

    def __post_init__(self) -> None:
        if self.kind == DecisionKind.GRANTED and self.fee is None:
            raise ValueError("開示決定には写しの交付費用が必要です")
        if self.kind != DecisionKind.GRANTED and not self.reason:
            raise ValueError("不存在・不開示の決定には理由が必要です")

    @property
    def heading(self) -> str:
        if self.kind == DecisionKind.GRANTED:
            return self.title
        return f"本人確認情報{self.kind.label}決定通知書"


@dataclass(frozen=True, kw_only=True)
class ResidentRecordItems:
    """One version of file (1), the 8 items of a confirmation sheet plus 旧氏 where recorded."""

    name: str
    name_kana: str
    birth_date: dt.date
    sex: Sex
    address: str
    individual_number: str = field(repr=False)  # the requester's own number: printed, never in repr/logs
    resident_code: str
    change_reason: str  # the 異動事由 label, e.g. 転入
    change_date: dt.date
    former_surname: str | None = None
    former_surname_kana: str | None = None


@dataclass(frozen=True, kw_only=True)
class FuryoRecordItems:
    """One version of file (2): 附票 items. There is no individual-number field (domain.md §5.2)."""

    name: str
    name_kana: str
    birth_date: dt.date
    sex: Sex
    address: str
    resident_code: str
    change_date: dt.date
    last_address: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConfirmationSheet(Letter):
    """本人確認情報確認書 (file (1)): the current version first, then any history versions asked for."""

    title: ClassVar[str] = "本人確認情報確認書"
    template: ClassVar[str] = "disclosure/print/confirmation_sheet.html"
    file: ClassVar[IdentityFile] = IdentityFile.RESIDENT

    addressee: Addressee
    records: tuple[ResidentRecordItems, ...]

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("確認書には少なくとも1件の本人確認情報が必要です")


@dataclass(frozen=True, kw_only=True)
class FuryoConfirmationSheet(Letter):
    """本人確認情報確認書 (file (2), 附票本人確認情報): never a 個人番号."""

    title: ClassVar[str] = "附票本人確認情報確認書"
    template: ClassVar[str] = "disclosure/print/furyo_confirmation_sheet.html"
    file: ClassVar[IdentityFile] = IdentityFile.FURYO

    addressee: Addressee
    records: tuple[FuryoRecordItems, ...]

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("確認書には少なくとも1件の本人確認情報が必要です")


@dataclass(frozen=True, kw_only=True)
class ProvisionStatusRow:
    """One `released` provision record (domain.md §9.4): item names only, no values, no number."""

    released_on: dt.date
    recipient: str
    kind: ProvisionKind
    affair: str
    items: tuple[ReleasedItem, ...]

    def __post_init__(self) -> None:
        reject_number_shaped(self.recipient, where="提供先")
        reject_number_shaped(self.affair, where="事務")
        if not all(isinstance(item, ReleasedItem) for item in self.items):
            raise TypeError("提供項目は ReleasedItem で指定します")

    @property
    def items_label(self) -> str:
        return "、".join(item.label for item in self.items)


@dataclass(frozen=True, kw_only=True)
class ProvisionStatusReport(Letter):
    """本人確認情報の提供状況 report for one person over a period."""

    title: ClassVar[str] = "本人確認情報提供状況開示書"
    template: ClassVar[str] = "disclosure/print/provision_status.html"

    addressee: Addressee
    subject_name: str
    subject_birth_date: dt.date
    period_from: dt.date
    period_to: dt.date
    rows: tuple[ProvisionStatusRow, ...]

    def __post_init__(self) -> None:
        reject_number_shaped(self.subject_name, where="氏名")
        if not all(isinstance(row, ProvisionStatusRow) for row in self.rows):
            raise TypeError("提供状況の行は ProvisionStatusRow で指定します")


@dataclass(frozen=True, kw_only=True)
class CorrectionResultNotice(Letter):
    """訂正等結果通知書 (住民基本台帳法第30条の35)."""

    title: ClassVar[str] = "本人確認情報訂正等結果通知書"
    template: ClassVar[str] = "disclosure/print/correction_result.html"

    addressee: Addressee
    request_kind: CorrectionKind
    request_summary: str
    outcome: CorrectionOutcome
    finding: str
    corrected_on: dt.date | None = None  # when the municipality's update notice fixed the record

    def __post_init__(self) -> None:
        if self.outcome == CorrectionOutcome.CORRECTED and self.corrected_on is None:
            raise ValueError("訂正等を行った場合は訂正日が必要です")


@dataclass(frozen=True, kw_only=True)
class SuspensionDecisionNotice(Letter):
    """利用停止決定通知書 (domain.md §12: decided by an administrator, affairs named)."""

    title: ClassVar[str] = "本人確認情報利用停止決定通知書"
    template: ClassVar[str] = "disclosure/print/suspension_decision.html"

    addressee: Addressee
    outcome: SuspensionOutcome
    affairs: tuple[str, ...]
    effective_from: dt.date | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.outcome == SuspensionOutcome.GRANTED and (not self.affairs or self.effective_from is None):
            raise ValueError("利用停止には対象事務と開始日が必要です")
        if self.outcome == SuspensionOutcome.REFUSED and not self.reason:
            raise ValueError("利用停止しない決定には理由が必要です")


@dataclass(frozen=True, kw_only=True)
class CorrectionPoint:
    item: str  # e.g. 住所
    recorded: str  # as the file holds it
    requested: str  # as the requester says it should be


@dataclass(frozen=True, kw_only=True)
class MunicipalityReferral(Letter):
    """回付書（調査依頼）: asks the municipality holding the master to investigate a correction request."""

    title: ClassVar[str] = "本人確認情報の訂正等の申出に係る調査について（依頼）"
    template: ClassVar[str] = "disclosure/print/municipality_referral.html"

    municipality_head: str  # e.g. 山口市長
    requester: Addressee
    subject_name: str
    subject_birth_date: dt.date
    subject_address: str
    subject_resident_code: str
    request_kind: CorrectionKind
    points: tuple[CorrectionPoint, ...]
    reply_by: dt.date | None = None


PrintDocument = (
    DisclosureDecisionNotice
    | ConfirmationSheet
    | FuryoConfirmationSheet
    | ProvisionStatusReport
    | CorrectionResultNotice
    | SuspensionDecisionNotice
    | MunicipalityReferral
)

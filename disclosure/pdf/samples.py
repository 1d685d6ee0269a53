"""Synthetic documents for tests, the benchmark and layout checks (no real person's data)."""

from __future__ import annotations

import datetime as dt

from disclosure.pdf.documents import (
    Addressee,
    ConfirmationSheet,
    CorrectionKind,
    CorrectionOutcome,
    CorrectionPoint,
    CorrectionResultNotice,
    DecisionKind,
    DisclosureDecisionNotice,
    FuryoConfirmationSheet,
    FuryoRecordItems,
    MunicipalityReferral,
    ProvisionKind,
    ProvisionStatusReport,
    ProvisionStatusRow,
    ReleasedItem,
    ResidentRecordItems,
    Sex,
    SuspensionDecisionNotice,
    SuspensionOutcome,
)
from disclosure.pdf.fees import copy_fee
from disclosure.pdf.render import Letterhead, Window

ISSUED_ON = dt.date(2026, 11, 20)
RECEIVED_ON = dt.date(2026, 11, 2)

LETTERHEAD = Letterhead(
    prefecture_name="山口県",
    issuer="山口県知事",
    section_name="総合企画部市町課 行政班",
    section_contact="TEL 083-933-2307",
    windows=(
        Window(
            name="総務部学事文書課 情報公開・文書班／情報公開センター（県庁本館棟１階）",
            address="〒753-8501 山口県山口市滝町１番1号",
            contact="TEL 083-933-2576",
        ),
    ),
)

ADDRESSEE = Addressee(postal_code="753-0000", address="山口県山口市中央一丁目２番３号", name="山田　花子")

# 外字 and IVS runs as the municipalities send them: a private-use code point and 葛 + IVS (U+E0100).
GAIJI_NAME = "\ue000田　太郎"
IVS_NAME = "葛\U000e0100城　一郎"


def resident_record(*, name: str = "山田　花子", birth_date: dt.date = dt.date(1989, 1, 8)) -> ResidentRecordItems:
    return ResidentRecordItems(
        name=name,
        name_kana="ヤマダ　ハナコ",
        birth_date=birth_date,
        sex=Sex.FEMALE,
        address="山口県山口市中央1丁目2番3号",
        individual_number="123456789018",  # synthetic; check digit valid
        resident_code="12345678901",
        change_reason="転入",
        change_date=dt.date(2020, 4, 1),
        former_surname="佐藤",
        former_surname_kana="サトウ",
    )


def confirmation_sheet(*, name: str = "山田　花子", history: int = 0) -> ConfirmationSheet:
    records = [resident_record(name=name)]
    records += [resident_record(name=name, birth_date=dt.date(1989, 1, 8)) for _ in range(history)]
    return ConfirmationSheet(
        issued_on=ISSUED_ON,
        reference="市町第1201号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        records=tuple(records),
    )


def furyo_confirmation_sheet() -> FuryoConfirmationSheet:
    return FuryoConfirmationSheet(
        issued_on=ISSUED_ON,
        reference="市町第1202号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        records=(
            FuryoRecordItems(
                name="山田　花子",
                name_kana="ヤマダ　ハナコ",
                birth_date=dt.date(1989, 1, 7),
                sex=Sex.FEMALE,
                address="アメリカ合衆国カリフォルニア州",
                last_address="山口県山口市中央1丁目2番3号",
                resident_code="12345678901",
                change_date=dt.date(2023, 7, 1),
            ),
        ),
    )


def decision_notice(*, kind: DecisionKind = DecisionKind.GRANTED, pages: int = 1) -> DisclosureDecisionNotice:
    granted = kind == DecisionKind.GRANTED
    return DisclosureDecisionNotice(
        issued_on=ISSUED_ON,
        reference="市町第1200号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        kind=kind,
        fee=copy_fee(pages=pages, per_sheet_yen=10, handling_yen=0) if granted else None,
        reason=""
        if granted
        else (
            "請求者に係る本人確認情報が記録されていないため。"
            if kind == DecisionKind.NOT_EXISTS
            else "法令の規定により開示できない情報に該当するため。"
        ),
    )


def provision_rows(count: int, *, gaiji_every: int = 0) -> tuple[ProvisionStatusRow, ...]:
    recipients = ("山口県教育委員会", "山口県公安委員会", "健康福祉部こども家庭課", "山口県人事委員会")
    affairs = (
        "貸付金に係る債権管理事務",
        "恩給の支給に関する事務",
        "児童扶養手当の支給に関する事務",
        "運転免許に関する事務",
    )
    rows = []
    for i in range(count):
        recipient = recipients[i % len(recipients)]
        if gaiji_every and i % gaiji_every == 0:
            recipient = "\ue001" + recipient  # a 外字 run in the data, for the 〓 check
        rows.append(
            ProvisionStatusRow(
                released_on=dt.date(2019, 4, 1) + dt.timedelta(days=i * 3),
                recipient=recipient,
                kind=ProvisionKind.PROVISION if i % 3 else ProvisionKind.TRANSFER,
                affair=affairs[i % len(affairs)],
                items=(ReleasedItem.NAME, ReleasedItem.BIRTH_DATE, ReleasedItem.SEX, ReleasedItem.ADDRESS),
            )
        )
    return tuple(rows)


def provision_status_report(
    *, rows: int = 5, subject_name: str = "山田　花子", gaiji_every: int = 0
) -> ProvisionStatusReport:
    return ProvisionStatusReport(
        issued_on=ISSUED_ON,
        reference="市町第1203号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        subject_name=subject_name,
        subject_birth_date=dt.date(1989, 1, 8),
        period_from=dt.date(2019, 4, 1),
        period_to=dt.date(2026, 10, 31),
        rows=provision_rows(rows, gaiji_every=gaiji_every),
    )


def correction_result_notice() -> CorrectionResultNotice:
    return CorrectionResultNotice(
        issued_on=ISSUED_ON,
        reference="市町第1204号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        request_kind=CorrectionKind.CORRECTION,
        request_summary="住所の方書の記載が誤っている。",
        outcome=CorrectionOutcome.CORRECTED,
        finding="山口市の調査の結果、住民基本台帳の記載に誤りがあったため、同市からの更新通知により訂正しました。",
        corrected_on=dt.date(2026, 11, 18),
    )


def suspension_decision_notice() -> SuspensionDecisionNotice:
    return SuspensionDecisionNotice(
        issued_on=ISSUED_ON,
        reference="市町第1205号",
        received_on=RECEIVED_ON,
        addressee=ADDRESSEE,
        outcome=SuspensionOutcome.GRANTED,
        affairs=("貸付金に係る債権管理事務",),
        effective_from=dt.date(2026, 12, 1),
    )


def municipality_referral() -> MunicipalityReferral:
    return MunicipalityReferral(
        issued_on=ISSUED_ON,
        reference="市町第1206号",
        received_on=RECEIVED_ON,
        municipality_head="山口市長",
        requester=ADDRESSEE,
        subject_name="山田　花子",
        subject_birth_date=dt.date(1989, 1, 8),
        subject_address="山口県山口市中央1丁目2番3号",
        subject_resident_code="12345678901",
        request_kind=CorrectionKind.CORRECTION,
        points=(
            CorrectionPoint(
                item="住所",
                recorded="山口県山口市中央1丁目2番3号",
                requested="山口県山口市中央1丁目2番3号 山田方",
            ),
        ),
        reply_by=dt.date(2026, 12, 10),
    )

"""Rendering of the printed documents (domain.md §12): text, 和暦, fonts, 〓, letterhead, pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from disclosure.pdf import DecisionKind, letterhead_on, render_html, render_pdf, samples
from jukinet.models import SettingValue
from tests.disclosure.pdf_helpers import embedded_fonts, pdf_text


def test_confirmation_sheet_prints_the_items_and_era_dates():
    # given a person born on the first day of 平成, with a 旧氏
    sheet = samples.confirmation_sheet()

    # when
    rendered = render_pdf(sheet, letterhead=samples.LETTERHEAD)

    # then
    text = pdf_text(rendered.content)
    for label in (
        "本人確認情報確認書",
        "氏名",
        "生年月日",
        "性別",
        "住所",
        "個人番号",
        "住民票コード",
        "異動事由",
        "異動年月日",
        "旧氏",
    ):
        assert label in text
    assert "山田花子" in text and "ヤマダハナコ" in text and "佐藤" in text
    assert "平成元年1月8日" in text  # 1989-01-08
    assert "令和2年4月1日" in text  # change date
    assert "令和8年11月20日" in text  # issue date
    assert "123456789018" in text  # the requester's own number, on their own sheet
    assert "山口県知事" in text and "総合企画部市町課行政班" in text
    assert "1/1ページ" in text
    assert rendered.pages == 1
    assert rendered.sha256 == hashlib.sha256(rendered.content).hexdigest()
    assert rendered.substituted_characters == ()


def test_fonts_are_embedded_ipaex_files():
    rendered = render_pdf(samples.decision_notice(), letterhead=samples.LETTERHEAD)

    fonts = embedded_fonts(rendered.content)

    names = " ".join(fonts)
    assert "IPAexMincho" in names and "IPAexGothic" in names
    assert all(name.split("+")[-1].startswith("IPAex") for name in fonts), fonts  # no machine fallback font
    assert all(keys & {"/FontFile2", "/FontFile3"} for keys in fonts.values()), fonts


def test_gaiji_and_ivs_print_as_geta_and_are_reported():
    # given a name with a private-use 外字 and one with an IVS sequence (葛 + U+E0100)
    sheet = samples.confirmation_sheet(name=samples.GAIJI_NAME + "・" + samples.IVS_NAME)

    # when
    rendered = render_pdf(sheet, letterhead=samples.LETTERHEAD)

    # then both are one 〓 each, the base kanji of the IVS run is not printed alone
    text = pdf_text(rendered.content)
    assert "〓田太郎・〓城一郎" in text
    assert "\ue000" not in text and "\U000e0100" not in text
    assert rendered.substituted_characters == ("\ue000", "葛\U000e0100")
    assert rendered.substitution_note == "〓 2字: U+E000, U+845B U+E0100"


def test_decision_notice_states_the_fee_from_the_confirmation_sheet_pages():
    # given a confirmation sheet with history versions, pre-rendered
    sheet = render_pdf(samples.confirmation_sheet(history=3), letterhead=samples.LETTERHEAD)
    assert sheet.pages >= 2

    # when the decision notice is rendered with the fee for those pages
    notice = render_pdf(samples.decision_notice(pages=sheet.pages), letterhead=samples.LETTERHEAD)

    # then
    text = pdf_text(notice.content)
    assert "本人確認情報開示決定通知書" in text
    assert f"{sheet.pages * 10}円" in text
    assert f"写し{sheet.pages}枚×10円＋取扱手数料0円" in text


@pytest.mark.parametrize(
    ("kind", "heading", "phrase"),
    [
        (DecisionKind.NOT_EXISTS, "本人確認情報不存在決定通知書", "存在しない"),
        (DecisionKind.REFUSED, "本人確認情報不開示決定通知書", "開示しないことに決定"),
    ],
)
def test_decision_notice_variants(kind, heading, phrase):
    text = pdf_text(render_pdf(samples.decision_notice(kind=kind), letterhead=samples.LETTERHEAD).content)

    assert heading in text and phrase in text
    assert "審査請求" in text  # the appeal instruction
    assert "円" not in text  # no fee on a negative decision


def test_provision_status_report_spans_pages_and_numbers_them():
    # given 60 released records, some recipients with a 外字
    report = samples.provision_status_report(rows=60, gaiji_every=20)

    # when
    rendered = render_pdf(report, letterhead=samples.LETTERHEAD)

    # then
    reader = PdfReader(io.BytesIO(rendered.content))
    assert rendered.pages == len(reader.pages) > 1
    last = pdf_text(rendered.content).split("\f")[rendered.pages - 1]
    assert f"{rendered.pages}/{rendered.pages}ページ" in last
    text = pdf_text(rendered.content)
    assert "60件" in text and "平成31年4月1日" in text and "令和元年5月4日" in text
    assert "山口県教育委員会" in text and "移転" in text and "提供" in text
    assert rendered.substituted_characters == ("\ue001",) * 3
    assert not re.search(r"\d{12}", text)  # no individual number, nor anything shaped like one


def test_furyo_confirmation_sheet_has_no_individual_number():
    text = pdf_text(render_pdf(samples.furyo_confirmation_sheet(), letterhead=samples.LETTERHEAD).content)

    assert "附票本人確認情報確認書" in text and "最終住所" in text
    assert "昭和64年1月7日" in text
    assert "個人番号" not in text


def test_correction_suspension_and_referral_documents():
    correction = pdf_text(render_pdf(samples.correction_result_notice(), letterhead=samples.LETTERHEAD).content)
    suspension = pdf_text(render_pdf(samples.suspension_decision_notice(), letterhead=samples.LETTERHEAD).content)
    referral = pdf_text(render_pdf(samples.municipality_referral(), letterhead=samples.LETTERHEAD).content)

    assert "本人確認情報訂正等結果通知書" in correction and "訂正等を行った" in correction
    assert "令和8年11月18日" in correction
    assert "本人確認情報利用停止決定通知書" in suspension and "貸付金に係る債権管理事務" in suspension
    assert "令和8年12月1日" in suspension
    assert "山口市長様" in referral and "調査" in referral and "山田方" in referral
    assert "山口県山口市中央一丁目２番３号" in referral  # the requester's address as written on the form


@pytest.mark.django_db
def test_letterhead_comes_from_the_settings_in_force_on_the_issue_date():
    # given the section was renamed from 令和8年4月1日
    SettingValue.objects.create(
        name="PREFECTURE_SECTION",
        value={"name": "総合企画部市町村課 住基班", "contact": "TEL 083-000-0000"},
        effective_from=dt.date(2026, 4, 1),
    )
    before = dataclasses.replace(samples.decision_notice(), issued_on=dt.date(2026, 3, 31))

    # when
    after_head = letterhead_on(dt.date(2026, 11, 20))
    html_before, _ = render_html(before)
    rendered_after = render_pdf(samples.decision_notice())

    # then
    assert after_head.prefecture_name == "山口県" and after_head.issuer == "山口県知事"
    assert "総合企画部市町課 行政班" in html_before
    text = pdf_text(rendered_after.content)
    assert "総合企画部市町村課住基班" in text and "TEL083-000-0000" in text
    assert "情報公開センター" in text  # the default window hands the copy over

"""Staff forms for citizens' requests. There is no individual-number field anywhere (domain.md §12).

Names and addresses are taken exactly as written (`strip=False`, never normalized: domain.md §4.2).
"""

from __future__ import annotations

from django import forms

from disclosure.models import CorrectionInvestigation, CorrectionKind, IdentityVerification, RequestKind, TargetFile
from disclosure.models import Decision as DecisionChoice

_DATE = forms.DateInput(attrs={"type": "date"})


class IntakeForm(forms.Form):
    kind = forms.ChoiceField(label="請求の種類", choices=RequestKind.choices)
    file = forms.ChoiceField(label="対象ファイル", choices=TargetFile.choices, initial=TargetFile.IDENTITY)
    include_history = forms.BooleanField(label="履歴を含めて開示を求める", required=False)
    window_index = forms.TypedChoiceField(label="受付窓口", coerce=int)
    received_on = forms.DateField(label="受付日", widget=_DATE)
    form_version = forms.CharField(label="様式の版", max_length=40, initial="様式第1号")
    requester_name = forms.CharField(label="氏名（請求書の記載どおり）", max_length=100, strip=False)
    requester_kana = forms.CharField(label="ふりがな", max_length=100, strip=False)
    requester_birth_date = forms.DateField(label="生年月日", widget=_DATE)
    requester_sex = forms.TypedChoiceField(label="性別", choices=[(1, "男"), (2, "女")], coerce=int)
    requester_postal_code = forms.CharField(label="郵便番号", max_length=8, required=False)
    requester_address = forms.CharField(label="住所（請求書の記載どおり）", max_length=200, strip=False)
    requester_contact = forms.CharField(label="連絡先", max_length=100, required=False)
    request_summary = forms.CharField(label="請求の内容", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    verification_method = forms.ChoiceField(label="本人確認の方法", choices=IdentityVerification.Method.choices)
    verification_document = forms.CharField(label="本人確認書類（種類のみ）", max_length=60)
    verification_on = forms.DateField(label="確認日", widget=_DATE)
    correction_kind = forms.ChoiceField(
        label="訂正等の種類", choices=[("", "―"), *CorrectionKind.choices], required=False
    )
    correction_item = forms.ChoiceField(
        label="訂正等を求める項目",
        choices=[("", "―"), ("氏名", "氏名"), ("住所", "住所"), ("生年月日", "生年月日"), ("性別", "性別")],
        required=False,
    )
    correction_requested = forms.CharField(label="正しいとする内容", max_length=200, required=False, strip=False)
    suspension_affair_codes = forms.CharField(
        label="利用停止を求める事務（事務コード、読点または空白区切り）", max_length=400, required=False
    )

    def __init__(self, *args: object, windows: tuple[object, ...] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["window_index"].choices = [(i, getattr(w, "name", "")) for i, w in enumerate(windows)]  # type: ignore[attr-defined]

    def affair_codes(self) -> list[str]:
        raw = self.cleaned_data.get("suspension_affair_codes", "")
        return [code for code in raw.replace("、", " ").replace(",", " ").split() if code]

    def correction_points(self) -> list[dict[str, str]]:
        item, requested = self.cleaned_data.get("correction_item"), self.cleaned_data.get("correction_requested")
        return [{"item": item, "requested": requested}] if item and requested else []


class MatchForm(forms.Form):
    person_id = forms.CharField(label="本人と確認した候補者", required=True)  # a candidate id or "none"
    address_confirmed = forms.BooleanField(label="本人確認書類で住所を確認した", required=False)

    def chosen(self) -> int | None:
        value = self.cleaned_data["person_id"]
        return None if value == "none" else int(value)

    def clean_person_id(self) -> str:
        value = self.cleaned_data["person_id"]
        if value != "none" and not value.isdigit():
            raise forms.ValidationError("候補者を選択してください")
        return value


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="決定", choices=DecisionChoice.choices)
    reason = forms.CharField(
        label="理由（不存在・不開示の場合）", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class PaymentForm(forms.Form):
    amount_yen = forms.IntegerField(label="収納額（円）", min_value=0)
    paid_on = forms.DateField(label="収納日", widget=_DATE)
    receipt_reference = forms.CharField(label="領収番号", max_length=40, required=False)


class ReferralForm(forms.Form):
    method = forms.ChoiceField(label="回付方法", choices=CorrectionInvestigation.ReferralMethod.choices)
    referral_on = forms.DateField(label="回付日", widget=_DATE)
    reply_by = forms.DateField(label="回答期限", widget=_DATE, required=False)
    notes = forms.CharField(label="調査メモ", widget=forms.Textarea(attrs={"rows": 3}), required=False)


class NoticeLinkForm(forms.Form):
    update_notice_id = forms.IntegerField(label="訂正した更新通知のID", min_value=1)
    corrected_on = forms.DateField(label="訂正日", widget=_DATE)


class CorrectionCloseForm(forms.Form):
    outcome = forms.ChoiceField(
        label="結果",
        choices=[
            (CorrectionInvestigation.Outcome.CORRECTED, "訂正等を行った"),
            (CorrectionInvestigation.Outcome.NOT_CORRECTED, "訂正等を行わない"),
        ],
    )
    finding = forms.CharField(label="調査結果", widget=forms.Textarea(attrs={"rows": 3}))


class SuspensionForm(forms.Form):
    outcome = forms.ChoiceField(label="決定", choices=[("granted", "利用停止する"), ("refused", "利用停止しない")])
    affair_codes = forms.MultipleChoiceField(
        label="利用停止する事務", required=False, widget=forms.CheckboxSelectMultiple
    )
    effective_from = forms.DateField(label="開始日", widget=_DATE, required=False)
    reason = forms.CharField(
        label="理由（利用停止しない場合）", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args: object, codes: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["affair_codes"].choices = [(c, c) for c in codes or []]  # type: ignore[attr-defined]


class ReprintForm(forms.Form):
    reason = forms.CharField(label="再出力の理由", max_length=200)

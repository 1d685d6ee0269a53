"""Forms of the audit screens (Japanese labels)."""

from __future__ import annotations

from django import forms

from audit.models import Affair, Office, OperationKind, Operator, Role, SamplingItem, Terminal


class LoginForm(forms.Form):
    username = forms.CharField(label="操作者ID", max_length=150)
    password = forms.CharField(label="パスワード", widget=forms.PasswordInput, strip=False)
    otp = forms.CharField(label="ワンタイムパスワード", max_length=16)


class TerminalEnrolForm(forms.Form):
    key = forms.CharField(label="端末キー", widget=forms.PasswordInput, strip=True)


class UsageRequestForm(forms.Form):
    terminal = forms.ModelChoiceField(label="端末", queryset=Terminal.objects.filter(is_active=True))
    affairs = forms.ModelMultipleChoiceField(label="事務", queryset=Affair.objects.all(), required=False)
    purpose = forms.CharField(label="使用目的", max_length=200)


class UsageApproveForm(forms.Form):
    devices_checked = forms.BooleanField(label="カメラ・携帯電話・USBメモリの持込みがないことを確認した")


class TrainingForm(forms.Form):
    operator = forms.ModelChoiceField(label="受講者", queryset=Operator.objects.filter(is_active=True))
    course = forms.CharField(label="研修名", max_length=100)
    completed_on = forms.DateField(label="受講日")


class ApplicationForm(forms.Form):
    operator = forms.ModelChoiceField(label="対象者", queryset=Operator.objects.filter(is_active=True))
    office = forms.ModelChoiceField(label="所属", queryset=Office.objects.filter(is_active=True))
    role = forms.ChoiceField(label="役割", choices=Role.choices)
    files = forms.MultipleChoiceField(  # type: ignore[assignment]
        label="対象ファイル", choices=Affair.File.choices, required=False
    )
    affairs = forms.ModelMultipleChoiceField(label="事務", queryset=Affair.objects.all(), required=False)
    terminals = forms.ModelMultipleChoiceField(label="端末", queryset=Terminal.objects.all(), required=False)


class LogSearchForm(forms.Form):
    operator = forms.ModelChoiceField(label="操作者", queryset=Operator.objects.order_by("username"), required=False)
    office = forms.ModelChoiceField(label="所属・提供先", queryset=Office.objects.all(), required=False)
    resident_code = forms.CharField(label="対象者（住民票コード）", max_length=11, required=False)
    target_id = forms.CharField(label="対象ID", max_length=40, required=False)
    affair = forms.CharField(label="事務コード", max_length=20, required=False)
    kind = forms.TypedChoiceField(
        label="操作種別",
        choices=[("", "すべて"), *OperationKind.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    date_from = forms.DateField(label="期間（自）", required=False)
    date_to = forms.DateField(label="期間（至）", required=False)

    def clean_resident_code(self) -> str:
        value = self.cleaned_data["resident_code"].strip()
        if value and not (len(value) == 11 and value.isascii() and value.isdigit()):
            raise forms.ValidationError("住民票コードは11桁の数字で入力してください。")
        return value


class SamplingForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    period_from = forms.DateField(label="対象期間（自）")
    period_to = forms.DateField(label="対象期間（至）")
    size = forms.IntegerField(label="抽出件数", min_value=1, max_value=500)


class VerdictForm(forms.Form):
    verdict = forms.ChoiceField(label="判定", choices=[c for c in SamplingItem.Verdict.choices if c[0] != "pending"])
    document_checked = forms.CharField(label="確認した書類", max_length=200, required=False)
    finding = forms.CharField(label="所見", widget=forms.Textarea, required=False)


class FlagsForm(forms.Form):
    date_from = forms.DateField(label="期間（自）")
    date_to = forms.DateField(label="期間（至）")


class RevokeForm(forms.Form):
    operator = forms.ModelChoiceField(label="対象者", queryset=Operator.objects.filter(is_active=True))
    role = forms.ChoiceField(label="役割", choices=Role.choices)
    reason = forms.CharField(label="理由（転任・退職など）", max_length=200)

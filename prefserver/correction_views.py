"""Screens of the exceptional correction path (例外修正, domain.md §6.6).

- clerks draft: the person is picked by an exact resident code through provision's staff search, or by
  surrogate id from a record view (provision's record_detail); both are the selector door and are logged.
  There is no general edit screen for identity data: this is the only exceptional path, and it needs approval;
- administrators: the pending list (no personal data), a draft's values (logged) and approve / reject;
- auditors: the quarterly check list with the unchecked-correction alerts (the auditor's dashboard).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.access import terminal_from_request, usage_approval_valid
from audit.decorators import audit_view, no_store, personal_data_view, refusal_response, role_required
from audit.models import Affair, Role
from jukinet import clock
from prefserver.corrections import (
    CorrectionError,
    manual_correction_approve,
    manual_correction_check,
    manual_correction_draft,
    manual_correction_for_approval,
    manual_correction_reject,
)
from prefserver.intake.envelope import (
    BOOLEAN_KEYS,
    FURYO_PAYLOAD_KEYS,
    IDENTITY_PAYLOAD_KEYS,
    INTEGER_KEYS,
    NULLABLE_KEYS,
)
from prefserver.models import Alert, ManualCorrection
from provision.selectors import STAFF_CATEGORIES, Refused, record_detail, staff_search

CHANGE_ROWS = 3
KEY_CHOICES = [("", "（選択）")] + [(k, k) for k in dict.fromkeys((*IDENTITY_PAYLOAD_KEYS, *FURYO_PAYLOAD_KEYS))]


def _staff_affairs() -> list[tuple[str, str]]:
    today = clock.today()
    affairs = Affair.objects.filter(category__in=STAFF_CATEGORIES, effective_from__lte=today).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=today)
    )
    return [(a.code, f"{a.code} {a.name}") for a in affairs.order_by("code")]


class DraftForm(forms.Form):
    file = forms.ChoiceField(label="ファイル", choices=ManualCorrection.File.choices)
    affair = forms.ChoiceField(label="事務")
    resident_code = forms.CharField(label="住民票コード（完全一致）", required=False, max_length=11)
    person_id = forms.IntegerField(label="対象者ID", required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label="修正理由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    document_reference = forms.CharField(label="根拠書類", max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["affair"].choices = _staff_affairs()  # type: ignore[attr-defined]
        for n in range(1, CHANGE_ROWS + 1):
            self.fields[f"key_{n}"] = forms.ChoiceField(label=f"項目{n}", choices=KEY_CHOICES, required=False)
            # Names and addresses are kept as typed: never stripped or normalized (domain.md §4.2).
            self.fields[f"value_{n}"] = forms.CharField(label=f"修正後の値{n}", required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person_id") and not data.get("resident_code"):
            raise forms.ValidationError("住民票コードを入力してください。")
        return data

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        pairs = ((data.get(f"key_{n}"), data.get(f"value_{n}", "")) for n in range(1, CHANGE_ROWS + 1))
        return {key: parse_value(key, value) for key, value in pairs if key}


def parse_value(key: str, text: str) -> Any:
    """Screen text → the JSON value intake expects (§6.1); a wrong value is left for intake's checks to name."""
    if text == "" and key in NULLABLE_KEYS:
        return None
    if key in INTEGER_KEYS:
        try:
            return int(text)
        except ValueError:
            return text
    if key in BOOLEAN_KEYS:
        return {"true": True, "1": True, "はい": True, "false": False, "0": False, "いいえ": False}.get(text, text)
    return text


def _person_for(request: HttpRequest, form: DraftForm) -> tuple[int | None, str]:
    """Through provision's door: an exact resident code (staff search) or a surrogate id (record view)."""
    data = form.cleaned_data
    terminal = request.personal_data_access.terminal  # type: ignore[attr-defined]
    if data.get("person_id"):
        try:
            record_detail(
                operator=request.user,  # type: ignore[arg-type]
                terminal=terminal, file=data["file"], person_id=data["person_id"], affair_code=data["affair"],
            )  # fmt: skip
        except Refused as refusal:
            return None, f"対象者を表示できません（{refusal.code}）。"
        return int(data["person_id"]), ""
    outcome = staff_search(
        operator=request.user,  # type: ignore[arg-type]
        terminal=terminal, file=data["file"], affair_code=data["affair"],
        conditions={"resident_code": data["resident_code"].strip()},
    )  # fmt: skip
    if outcome.code:
        return None, f"検索できません（{outcome.code}）。"
    if len(outcome.rows) != 1:
        return None, "該当する対象者がいません。"
    return int(outcome.rows[0]["person_id"]), ""


@require_http_methods(["GET", "POST"])
@personal_data_view()
def correction_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.CLERK):  # type: ignore[union-attr]
        raise PermissionDenied
    terminal = request.personal_data_access.terminal  # type: ignore[attr-defined]
    record, error = None, ""
    if request.method == "GET":
        form = DraftForm(initial={k: request.GET.get(k) for k in ("file", "person_id", "affair") if request.GET.get(k)})
        if request.GET.get("person_id") and request.GET.get("affair"):
            try:
                record = record_detail(
                    operator=request.user,  # type: ignore[arg-type]
                    terminal=terminal, file=request.GET.get("file", "identity"),
                    person_id=int(request.GET["person_id"]), affair_code=request.GET["affair"],
                )  # fmt: skip
            except (Refused, ValueError):
                error = "対象者を表示できません。"
        return render(request, "prefserver/corrections/new.html", {"form": form, "record": record, "error": error})
    form = DraftForm(request.POST)
    if form.is_valid():
        person_id, error = _person_for(request, form)
        if person_id is not None:
            try:
                correction = manual_correction_draft(
                    clerk=request.user,  # type: ignore[arg-type]
                    terminal=terminal, file=form.cleaned_data["file"], person_id=person_id, changes=form.changes(),
                    reason=form.cleaned_data["reason"], document_reference=form.cleaned_data["document_reference"],
                )  # fmt: skip
            except CorrectionError as exc:
                error = str(exc)
            else:
                messages.success(request, f"例外修正 #{correction.pk} を起案しました。管理者の承認後に反映されます。")
                return redirect("manual-correction-new")
    return render(request, "prefserver/corrections/new.html", {"form": form, "error": error}, status=400)


@role_required(Role.ADMINISTRATOR)
def correction_pending(request: HttpRequest) -> HttpResponse:
    """Drafts waiting for approval: ids, keys and reasons only (the values open on the draft's page)."""
    pending = ManualCorrection.objects.filter(status=ManualCorrection.Status.DRAFTED).select_related("drafted_by")
    return render(request, "prefserver/corrections/pending.html", {"pending": pending.order_by("drafted_at")})


def _administrator_access(request: HttpRequest) -> HttpResponse | None:
    """The approver sees the drafted values: personal data, so a registered terminal (Q09) and today's usage
    approval (Q10) as on every personal-data screen (§10.2, §10.4); administrators hold no search capability."""
    terminal = terminal_from_request(request)
    if terminal is None:
        return refusal_response(request, "Q09")
    if usage_approval_valid(operator=request.user, terminal=terminal) is None:  # type: ignore[arg-type]
        return refusal_response(request, "Q10")
    return None


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMINISTRATOR)
def correction_decide(request: HttpRequest, pk: int) -> HttpResponse:
    refused = _administrator_access(request)
    if refused is not None:
        return refused
    return no_store(_decide(request, pk))


def _decide(request: HttpRequest, pk: int) -> HttpResponse:
    operator = request.user
    terminal = terminal_from_request(request)
    correction = ManualCorrection.objects.filter(pk=pk).first()
    if correction is None:
        raise Http404
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "approve":
                manual_correction_approve(administrator=operator, correction=correction, terminal=terminal)  # type: ignore[arg-type]
                messages.success(request, f"例外修正 #{pk} を承認し、反映しました。")
            else:
                manual_correction_reject(
                    administrator=operator,  # type: ignore[arg-type]
                    correction=correction, note=request.POST.get("note", ""), terminal=terminal,
                )  # fmt: skip
                messages.success(request, f"例外修正 #{pk} を却下しました。")
        except PermissionDenied:
            messages.error(request, "自ら起案した例外修正は承認・却下できません。")
        except CorrectionError as exc:
            messages.error(request, str(exc))
        return redirect("manual-correction-pending")
    correction, changes = manual_correction_for_approval(
        administrator=operator,  # type: ignore[arg-type]
        terminal=terminal, correction_id=pk,
    )  # fmt: skip
    own = correction.drafted_by_id == operator.pk
    context = {"correction": correction, "changes": changes, "own": own}
    return render(request, "prefserver/corrections/decide.html", context)


class CheckForm(forms.Form):
    verdict = forms.ChoiceField(label="点検結果", choices=ManualCorrection.Verdict.choices)
    notes = forms.CharField(label="点検メモ", required=False, widget=forms.Textarea(attrs={"rows": 2}))


@require_http_methods(["GET", "POST"])
@audit_view
def correction_checks(request: HttpRequest) -> HttpResponse:
    """The auditor's quarterly check (§6.6) and the unchecked-correction alerts (§15)."""
    if request.method == "POST":
        correction_id = request.POST.get("correction", "")
        correction = ManualCorrection.objects.filter(pk=int(correction_id)).first() if correction_id.isdigit() else None
        form = CheckForm(request.POST)
        if correction is None or not form.is_valid():
            messages.error(request, "点検結果を選んでください。")
        else:
            try:
                manual_correction_check(
                    auditor=request.user,  # type: ignore[arg-type]
                    correction=correction, verdict=form.cleaned_data["verdict"], notes=form.cleaned_data["notes"],
                    terminal=terminal_from_request(request),
                )  # fmt: skip
                messages.success(request, f"例外修正 #{correction.pk} を点検しました。")
            except PermissionDenied:
                messages.error(request, "自らが関与した例外修正は点検できません。")
            except CorrectionError as exc:
                messages.error(request, str(exc))
        return redirect("manual-correction-checks")
    unchecked = ManualCorrection.objects.filter(
        checked_at__isnull=True, status__in=[ManualCorrection.Status.APPLIED, ManualCorrection.Status.REJECTED]
    ).select_related("drafted_by", "decided_by")
    alerts = Alert.objects.filter(kind=Alert.Kind.MANUAL_CORRECTION_UNCHECKED, resolved=False).order_by("-created_at")
    context = {"unchecked": unchecked.order_by("decided_at"), "alerts": alerts, "form": CheckForm()}
    return render(request, "prefserver/corrections/checks.html", context)

"""Screens of the audit app (Japanese): login, terminal enrolment, usage approvals, access rights, ledger.

Auditor pages live in audit/views_audit.py. Views are interfaces: parse, call one service or selector, render.
"""

from __future__ import annotations

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audit import rights
from audit.access import ENROLMENT_COOKIE, credential_hash, terminal_enrolment_value, terminal_from_request
from audit.authentication import (
    ApplicationError,
    operator_login_check,
    operator_logout_record,
    operator_unlock,
)
from audit.decorators import no_store, role_required, verified_login_required
from audit.forms import (
    ApplicationForm,
    LoginForm,
    RevokeForm,
    TerminalEnrolForm,
    TrainingForm,
    UsageApproveForm,
    UsageRequestForm,
)
from audit.models import AccessRightApplication, Office, Operator, Role, Terminal, UsageApproval
from audit.selectors import ledger_rows, usage_approvals_pending
from audit.services import terminal_enrolment_record
from jukinet import clock


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        result = operator_login_check(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            otp=form.cleaned_data["otp"],
            terminal=terminal_from_request(request),
        )
        if result.ok:
            login(request, result.operator, backend="django.contrib.auth.backends.ModelBackend")
            django_otp.login(request, result.device)
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                next_url = ""
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
        form.add_error(None, result.error or "")
    context = {"form": form, "next": next_url, "idle": request.GET.get("idle") == "1"}
    return no_store(render(request, "audit/login.html", context))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        operator_logout_record(operator=request.user, terminal=terminal_from_request(request))  # type: ignore[arg-type]
    logout(request)
    return redirect("login")


@verified_login_required
def terminal_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol this browser as a registered terminal: the terminal key once, then a signed cookie (§10.2)."""
    form = TerminalEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        digest = credential_hash(form.cleaned_data["key"])
        terminal = Terminal.objects.filter(credential_hash=digest, is_active=True).first()
        if terminal is not None:
            terminal_enrolment_record(operator=request.user, terminal=terminal)  # type: ignore[arg-type]
            response = redirect(settings.LOGIN_REDIRECT_URL)
            response.set_cookie(
                ENROLMENT_COOKIE,
                terminal_enrolment_value(terminal),
                max_age=365 * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Strict",
            )
            messages.success(request, f"このブラウザを端末「{terminal.name}」として登録しました。")
            return response
        form.add_error("key", "登録されている端末キーではありません。")
    current = terminal_from_request(request)
    return render(request, "audit/terminal_enrol.html", {"form": form, "current": current})


@role_required(Role.ADMINISTRATOR)
@require_POST
def operator_unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    operator = get_object_or_404(Operator, pk=pk)
    try:
        operator_unlock(operator=operator, administrator=request.user)  # type: ignore[arg-type]
        messages.success(request, f"{operator} のロックを解除しました。")
    except ApplicationError as exc:
        messages.error(request, str(exc))
    return redirect("audit:rights")


# --- Usage approvals (使用伺い) --------------------------------------------------------------


@verified_login_required
def usage_request(request: HttpRequest) -> HttpResponse:
    form = UsageRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rights.usage_approval_request(operator=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "使用伺いを申請しました。")
            return redirect("audit:usage_request")
        except rights.RightsError as exc:
            form.add_error(None, str(exc))
    mine = UsageApproval.objects.filter(operator=request.user)[:20]  # type: ignore[misc]
    return render(request, "audit/usage_request.html", {"form": form, "mine": mine})


@role_required(Role.SECURITY_OFFICER, Role.ADMINISTRATOR)
def usage_pending(request: HttpRequest) -> HttpResponse:
    pending = usage_approvals_pending(approver=request.user)  # type: ignore[arg-type]
    return render(request, "audit/usage_pending.html", {"pending": pending, "form": UsageApproveForm()})


@role_required(Role.SECURITY_OFFICER, Role.ADMINISTRATOR)
@require_POST
def usage_approve(request: HttpRequest, pk: int) -> HttpResponse:
    approval = get_object_or_404(UsageApproval, pk=pk)
    form = UsageApproveForm(request.POST)
    try:
        if not form.is_valid():
            raise rights.RightsError("持込み物の確認が必要です。")
        rights.usage_approval_approve(approval=approval, approver=request.user, devices_checked=True)  # type: ignore[arg-type]
        messages.success(request, "使用伺いを承認しました（本日24時まで有効）。")
    except rights.RightsError as exc:
        messages.error(request, str(exc))
    return redirect("audit:usage_pending")


# --- Access rights (アクセス権限) --------------------------------------------------------------


@role_required(Role.ADMINISTRATOR, Role.SECURITY_OFFICER)
def rights_home(request: HttpRequest) -> HttpResponse:
    applications = AccessRightApplication.objects.filter(status=AccessRightApplication.Status.APPLIED)
    locked = Operator.objects.filter(locked_at__isnull=False)
    context = {
        "due": rights.rights_due_to_end(as_of=clock.today()),
        "revoke_form": RevokeForm(),
        "applications": applications.select_related("operator", "office", "applied_by"),
        "locked": locked,
        "application_form": ApplicationForm(),
        "training_form": TrainingForm(),
    }
    return render(request, "audit/rights.html", context)


@role_required(Role.ADMINISTRATOR, Role.SECURITY_OFFICER)
@require_POST
def rights_apply(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST)
    if form.is_valid():
        try:
            rights.access_right_apply(applied_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "アクセス権限を申請しました。")
        except rights.RightsError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "入力内容を確認してください。")
    return redirect("audit:rights")


@role_required(Role.ADMINISTRATOR, Role.SECURITY_OFFICER)
@require_POST
def training_record(request: HttpRequest) -> HttpResponse:
    form = TrainingForm(request.POST)
    if form.is_valid():
        rights.training_record(recorded_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, "研修の受講を記録しました。")
    else:
        messages.error(request, "入力内容を確認してください。")
    return redirect("audit:rights")


@role_required(Role.ADMINISTRATOR)
@require_POST
def rights_approve(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(AccessRightApplication, pk=pk)
    try:
        rights.access_right_approve(application=application, approver=request.user)  # type: ignore[arg-type]
        messages.success(request, "アクセス権限を承認し、管理簿に記録しました。")
    except rights.RightsError as exc:
        messages.error(request, str(exc))
    return redirect("audit:rights")


@role_required(Role.ADMINISTRATOR)
@require_POST
def rights_revoke(request: HttpRequest) -> HttpResponse:
    form = RevokeForm(request.POST)
    if form.is_valid() and form.cleaned_data["role"] in form.cleaned_data["operator"].roles:
        try:
            rights.access_right_end(by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, "アクセス権限を取り消し、管理簿に記録しました。")
        except rights.RightsError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "この操作者はその役割を持っていません。")
    return redirect("audit:rights")


@role_required(Role.ADMINISTRATOR, Role.SECURITY_OFFICER, Role.AUDITOR)
def ledger(request: HttpRequest) -> HttpResponse:
    office = Office.objects.filter(pk=request.GET.get("office") or 0).first()
    context = {"rows": ledger_rows(office=office), "office": office, "offices": Office.objects.all()}
    return render(request, "audit/ledger.html", context)


@role_required(Role.ADMINISTRATOR, Role.AUDITOR)
def reconciliation(request: HttpRequest) -> HttpResponse:
    report = rights.access_right_reconciliation_report()
    return render(request, "audit/reconciliation.html", {"report": report})

"""Staff screens for citizens' requests (domain.md §12). Thin: parse, call one service or selector, render.

Every response carries `Cache-Control: no-store`. Printed documents are returned only by the
POST that issues or reprints them, so every PDF that leaves the server has its output-ledger row; there is
no GET that downloads a stored PDF, and no screen shows the record to the citizen (paper only).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from audit.access import is_verified, terminal_from_request, usage_approval_valid
from audit.decorators import no_store, refusal_response
from audit.models import Operator, Role, Terminal
from disclosure import forms, ports, selectors, services
from disclosure.models import (
    CaseStatus,
    DisclosureCase,
    OutputLedgerEntry,
    RequestKind,
    SuspensionDecision,
)
from jukinet import clock

View = Callable[..., HttpResponseBase]
STAFF = frozenset({Role.CLERK, Role.ADMINISTRATOR})
CLERK = frozenset({Role.CLERK})
ADMINISTRATOR = frozenset({Role.ADMINISTRATOR})


def staff_view(
    *, roles: frozenset[str] = CLERK, capability: str = Terminal.Capability.SEARCH
) -> Callable[[View], View]:
    """The audit door for these screens (domain.md §10): OTP-verified login, one of `roles` (the
    contractor never, whatever else the account holds), a registered terminal with `capability` (Q09) and
    today's usage approval on it (Q10); every response `Cache-Control: no-store`.

    Like audit's `personal_data_view`, except that administrators pass too where `roles` says so: the
    suspension decision is theirs (§12) although their role opens no search screen.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not is_verified(request):
                return redirect_to_login(request.get_full_path())
            user_roles = set(getattr(request.user, "roles", ()))
            if Role.CONTRACTOR in user_roles or not user_roles & roles:
                return no_store(render(request, "audit/forbidden.html", status=403))
            terminal = terminal_from_request(request)
            if terminal is None or not terminal.can(capability):
                return refusal_response(request, "Q09")
            if usage_approval_valid(operator=request.user, terminal=terminal) is None:  # type: ignore[arg-type]
                return refusal_response(request, "Q10")
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)  # type: ignore[arg-type]
            return response

        return wrapper

    return decorate


def _operator(request: HttpRequest) -> Operator:
    if not isinstance(request.user, Operator):
        raise PermissionDenied
    return request.user


def _terminal(request: HttpRequest) -> Terminal | None:
    return terminal_from_request(request)


def _case(pk: int) -> DisclosureCase:
    return get_object_or_404(DisclosureCase, pk=pk)


def _pdf(issued: services.IssuedPdf) -> HttpResponse:
    response = HttpResponse(issued.content, content_type="application/pdf")
    name = f"case{issued.entry.case_id}-{issued.entry.kind}-{issued.entry.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def _run(request: HttpRequest, pk: int, action: Callable[[], Any]) -> HttpResponseBase:
    """Run a service; a refusal becomes a message on the case page."""
    try:
        result = action()
    except (services.DisclosureError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("disclosure:case_detail", pk=pk)
    if isinstance(result, services.IssuedPdf):
        return _pdf(result)
    messages.success(request, "処理しました。")
    return redirect("disclosure:case_detail", pk=pk)


def _invalid(request: HttpRequest, pk: int, form: Any) -> HttpResponseBase:
    messages.error(request, "入力内容を確認してください: " + " ".join(str(e) for e in form.errors.values()))
    return redirect("disclosure:case_detail", pk=pk)


@staff_view(roles=STAFF)
def case_list(request: HttpRequest) -> HttpResponse:
    board = selectors.cases_for_dashboard(today=clock.today())
    return render(request, "disclosure/case_list.html", {"board": board, "today": clock.today()})


@staff_view()
def case_new(request: HttpRequest) -> HttpResponseBase:
    windows = selectors.windows_in_force(clock.today())
    form = forms.IntakeForm(request.POST or None, windows=windows)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.disclosure_case_receive(
                operator=_operator(request),
                terminal=_terminal(request),
                kind=data["kind"],
                received_on=data["received_on"],
                form_version=data["form_version"],
                window_index=data["window_index"],
                requester=services.Requester(
                    name=data["requester_name"],
                    kana=data["requester_kana"],
                    birth_date=data["requester_birth_date"],
                    sex=data["requester_sex"],
                    address=data["requester_address"],
                    postal_code=data["requester_postal_code"],
                    contact=data["requester_contact"],
                ),
                verification=services.Verification(
                    method=data["verification_method"],
                    document_type=data["verification_document"],
                    checked_on=data["verification_on"],
                ),
                file=data["file"],
                include_history=data["include_history"],
                request_summary=data["request_summary"],
                correction_kind=data["correction_kind"],
                correction_points=form.correction_points(),
                suspension_affair_codes=form.affair_codes(),
            )
        except (services.DisclosureError, ValueError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"受け付けました（処理期限 {case.due_on:%Y-%m-%d}）。")
            return redirect("disclosure:case_detail", pk=case.pk)
    return render(request, "disclosure/case_form.html", {"form": form})


@staff_view(roles=STAFF)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(pk)
    operator = _operator(request)
    candidates, refusal = None, ""
    if case.status == CaseStatus.RECEIVED:  # a logged search through the identity door
        try:
            candidates = selectors.disclosure_candidates(case=case, operator=operator, terminal=_terminal(request))
        except ports.IdentityDoorRefused as refused:
            refusal = str(refused)
    context = {
        "case": case,
        "candidates": candidates,
        "refusal": refusal,
        "ledger": case.ledger_entries.select_related("operator").order_by("pk"),
        "investigation": getattr(case, "investigation", None),
        "suspension": SuspensionDecision.objects.filter(case=case).first(),
        "is_administrator": operator.has_role(Role.ADMINISTRATOR),
        "overdue": case.status != CaseStatus.CLOSED and case.due_on < clock.today(),
        "kinds": RequestKind,
        "statuses": CaseStatus,
        "decision_form": forms.DecisionForm(),
        "payment_form": forms.PaymentForm(initial={"amount_yen": case.fee_total_yen, "paid_on": clock.today()}),
        "referral_form": forms.ReferralForm(initial={"referral_on": clock.today()}),
        "link_form": forms.NoticeLinkForm(),
        "close_form": forms.CorrectionCloseForm(),
        "suspension_form": forms.SuspensionForm(codes=case.suspension_affair_codes),
        "reprint_form": forms.ReprintForm(),
    }
    return render(request, "disclosure/case_detail.html", context)


@require_POST
@staff_view()
def case_match(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.MatchForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    return _run(
        request,
        pk,
        lambda: services.disclosure_requester_match(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            person_id=form.chosen(),
            address_confirmed=form.cleaned_data["address_confirmed"],
        ),
    )


@require_POST
@staff_view()
def case_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    return _run(
        request,
        pk,
        lambda: services.disclosure_decide(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
        ),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def case_decision_notice(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(
        request,
        pk,
        lambda: services.disclosure_decision_notice_issue(
            case=_case(pk), operator=_operator(request), terminal=_terminal(request)
        ),
    )


@require_POST
@staff_view()
def case_payment(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.PaymentForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    return _run(
        request,
        pk,
        lambda: services.disclosure_payment_record(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            amount_yen=form.cleaned_data["amount_yen"],
            paid_on=form.cleaned_data["paid_on"],
            receipt_reference=form.cleaned_data["receipt_reference"],
        ),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def case_confirmation_sheet(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(
        request,
        pk,
        lambda: services.disclosure_confirmation_sheet_hand_over(
            case=_case(pk), operator=_operator(request), terminal=_terminal(request)
        ),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def case_provision_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    return _run(
        request,
        pk,
        lambda: services.provision_status_report_issue(
            case=_case(pk), operator=_operator(request), terminal=_terminal(request)
        ),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def case_refer(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.ReferralForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    data = form.cleaned_data
    return _run(
        request,
        pk,
        lambda: services.correction_refer(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            method=data["method"],
            referral_on=data["referral_on"],
            reply_by=data["reply_by"],
            notes=data["notes"],
        ),
    )


@require_POST
@staff_view()
def case_link_notice(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.NoticeLinkForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    return _run(
        request,
        pk,
        lambda: services.correction_notice_link(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            update_notice_id=form.cleaned_data["update_notice_id"],
            corrected_on=form.cleaned_data["corrected_on"],
        ),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def case_correction_close(request: HttpRequest, pk: int) -> HttpResponseBase:
    form = forms.CorrectionCloseForm(request.POST)
    if not form.is_valid():
        return _invalid(request, pk, form)
    return _run(
        request,
        pk,
        lambda: services.correction_close(
            case=_case(pk),
            operator=_operator(request),
            terminal=_terminal(request),
            outcome=form.cleaned_data["outcome"],
            finding=form.cleaned_data["finding"],
        ),
    )


@require_POST
@staff_view(roles=ADMINISTRATOR, capability=Terminal.Capability.PRINT)
def case_suspension_decide(request: HttpRequest, pk: int) -> HttpResponseBase:
    case = _case(pk)
    form = forms.SuspensionForm(request.POST, codes=case.suspension_affair_codes)
    if not form.is_valid():
        return _invalid(request, pk, form)
    data = form.cleaned_data
    return _run(
        request,
        pk,
        lambda: services.suspension_decide(
            case=case,
            operator=_operator(request),
            terminal=_terminal(request),
            outcome=data["outcome"],
            affair_codes=data["affair_codes"] or None,
            effective_from=data["effective_from"],
            reason=data["reason"],
        ),
    )


@require_POST
@staff_view(roles=ADMINISTRATOR)
def case_suspension_lift(request: HttpRequest, pk: int) -> HttpResponseBase:
    decision = get_object_or_404(SuspensionDecision, case_id=pk)
    return _run(
        request,
        pk,
        lambda: services.suspension_lift(decision=decision, operator=_operator(request), terminal=_terminal(request)),
    )


@require_POST
@staff_view(capability=Terminal.Capability.PRINT)
def ledger_reprint(request: HttpRequest, entry_pk: int) -> HttpResponseBase:
    entry = get_object_or_404(OutputLedgerEntry, pk=entry_pk)
    form = forms.ReprintForm(request.POST)
    if not form.is_valid():
        return _invalid(request, entry.case_id, form)
    return _run(
        request,
        entry.case_id,
        lambda: services.document_reprint(
            entry=entry, operator=_operator(request), terminal=_terminal(request), reason=form.cleaned_data["reason"]
        ),
    )


@staff_view(roles=STAFF)
def ledger(request: HttpRequest) -> HttpResponse:
    entries = OutputLedgerEntry.objects.select_related("operator", "case").order_by("-pk")[:200]
    return render(request, "disclosure/ledger.html", {"entries": entries})

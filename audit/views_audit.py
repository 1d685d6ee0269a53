"""Auditor pages (監査): log search, per-subject history, entry view, CSV export, sampling (domain.md §11)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from audit import auditing
from audit.access import terminal_from_request
from audit.decorators import audit_view
from audit.forms import FlagsForm, LogSearchForm, SamplingForm, VerdictForm
from audit.models import SamplingCampaign, SamplingItem


def _filters(form: LogSearchForm) -> auditing.LogFilters:
    data = form.cleaned_data
    target = None
    if data.get("target_id") and ":" in data["target_id"]:
        label, pk = data["target_id"].split(":", 1)
        target = (label.strip(), pk.strip())
    return auditing.LogFilters(
        operator=data.get("operator"),
        office=data.get("office"),
        resident_code=data.get("resident_code") or "",
        target=target,
        affair_code=data.get("affair") or "",
        kind=data.get("kind"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )


def _without_code(request: HttpRequest) -> dict[str, str]:
    # A resident code comes by POST only, so it never sits in a URL or a server log.
    return {key: str(value) for key, value in request.GET.items() if key != "resident_code"}


@audit_view
def log_search(request: HttpRequest) -> HttpResponse:
    form = LogSearchForm(request.POST if request.method == "POST" else (_without_code(request) or None))
    rows = None
    if form.is_bound and form.is_valid():
        rows = auditing.operation_log_search(
            auditor=request.user,  # type: ignore[arg-type]
            terminal=terminal_from_request(request),
            filters=_filters(form),
        )
    context = {"form": form, "rows": rows, "limit": auditing.RESULT_LIMIT}
    return render(request, "audit/log_search.html", context)


@audit_view
def log_export(request: HttpRequest) -> HttpResponse:
    form = LogSearchForm(request.POST if request.method == "POST" else _without_code(request))
    if not form.is_valid():
        return redirect("audit:log_search")
    rows = auditing.operation_log_search(
        auditor=request.user,  # type: ignore[arg-type]
        terminal=terminal_from_request(request),
        filters=_filters(form),
        export=True,
    )
    response = HttpResponse(auditing.entries_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="operation-log.csv"'
    return response


@audit_view
def log_entry(request: HttpRequest, sequence: int) -> HttpResponse:
    entry = auditing.operation_log_entry_view(
        auditor=request.user,  # type: ignore[arg-type]
        terminal=terminal_from_request(request),
        sequence=sequence,
    )
    context = {"entry": entry, "conditions": auditing.conditions_display(entry.conditions)}
    return render(request, "audit/log_entry.html", context)


@audit_view
def sampling_list(request: HttpRequest) -> HttpResponse:
    form = SamplingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = auditing.sampling_campaign_create(
                auditor=request.user,  # type: ignore[arg-type]
                terminal=terminal_from_request(request),
                **form.cleaned_data,
            )
            return redirect("audit:sampling_detail", pk=campaign.pk)
        except auditing.AuditError as exc:
            form.add_error(None, str(exc))
    campaigns = SamplingCampaign.objects.select_related("created_by")[:50]
    return render(request, "audit/sampling_list.html", {"form": form, "campaigns": campaigns})


@audit_view
def sampling_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(SamplingCampaign, pk=pk)
    items = campaign.items.select_related("reviewer", "entry_operator")
    return render(request, "audit/sampling_detail.html", {"campaign": campaign, "items": items})


@audit_view
def sampling_review(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(SamplingItem, pk=pk)
    form = VerdictForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auditing.sampling_item_review(
                item=item,
                reviewer=request.user,  # type: ignore[arg-type]
                terminal=terminal_from_request(request),
                **form.cleaned_data,
            )
            messages.success(request, "判定を記録しました。")
            return redirect("audit:sampling_detail", pk=item.campaign_id)
        except auditing.AuditError as exc:
            form.add_error(None, str(exc))
    return render(request, "audit/sampling_review.html", {"item": item, "form": form})


@audit_view
def log_flags(request: HttpRequest) -> HttpResponse:
    form = FlagsForm(request.GET or None)
    flags = None
    if form.is_bound and form.is_valid():
        flags = auditing.operation_log_flags(
            auditor=request.user,  # type: ignore[arg-type]
            terminal=terminal_from_request(request),
            **form.cleaned_data,
        )
    return render(request, "audit/log_flags.html", {"form": form, "flags": flags})

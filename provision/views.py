"""Staff search screens (domain.md §9.2) and the bulk-provision upload (§9.5), for municipal-affairs clerks.

Search conditions travel in POST bodies, never URLs. Every search, view and reveal goes through
provision.selectors (which logs it); every response carries `Cache-Control: no-store`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from audit.authentication import unauthenticated_call_record
from audit.models import Affair, Office, Terminal
from jukinet import clock
from provision import access
from provision.bulk import BulkError, bulk_request_run
from provision.codes import message
from provision.models import BulkApproval, Medium
from provision.selectors import STAFF_CATEGORIES, Refused, person_history, record_detail, staff_search

View = Callable[..., HttpResponse]


def staff_screen(view: View) -> View:
    """Login with a verified second factor (else 401, logged), a role that may see personal data; no-store."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.is_verified(request):
            unauthenticated_call_record(request=request, channel="screen")
            response = render(request, "provision/unauthenticated.html", status=401)
        elif not access.may_see_personal_data(request.user, Terminal.Capability.SEARCH):
            response = render(request, "audit/forbidden.html", status=403)  # the contractor (§10.1)
        else:
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


def _staff_affairs() -> list[tuple[str, str]]:
    today = clock.today()
    affairs = Affair.objects.filter(category__in=STAFF_CATEGORIES, effective_from__lte=today).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=today)
    )
    return [(a.code, f"{a.code} {a.name}") for a in affairs.order_by("code")]


class SearchForm(forms.Form):
    file = forms.ChoiceField(label="ファイル", choices=Affair.File.choices)
    affair = forms.ChoiceField(label="事務")
    resident_code = forms.CharField(label="住民票コード", required=False, max_length=11)
    individual_number = forms.CharField(label="個人番号", required=False, max_length=12)
    name_kana = forms.CharField(label="氏名（ふりがな）", required=False, max_length=100, strip=False)
    name = forms.CharField(label="氏名（漢字）", required=False, max_length=100, strip=False)
    birth_date = forms.DateField(label="生年月日", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.TypedChoiceField(
        label="性別", required=False, choices=[("", "指定なし"), (1, "男"), (2, "女")], coerce=int, empty_value=None
    )
    address = forms.CharField(label="住所", required=False, max_length=200, strip=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["affair"].choices = _staff_affairs()  # type: ignore[attr-defined]


CONDITION_FIELDS = ("resident_code", "individual_number", "name", "name_kana", "birth_date", "sex", "address")


@staff_screen
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        outcome = staff_search(
            operator=request.user,  # type: ignore[arg-type]
            terminal=access.terminal_for_request(request),
            file=values["file"],
            affair_code=values["affair"],
            conditions={key: values.get(key) for key in CONDITION_FIELDS},
        )
        context.update(outcome=outcome, file=values["file"], affair=values["affair"])
        if outcome.code:
            context["message"] = message(outcome.code)
        elif not outcome.rows:
            context["message"] = message("not_found")
    return render(request, "provision/search.html", context)


def _file(file: str) -> str:
    if file not in Affair.File.values:
        raise Http404
    return file


@staff_screen
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, file: str, person_id: int) -> HttpResponse:
    affair = request.POST.get("affair") or request.GET.get("affair", "")
    reveal = request.method == "POST" and request.POST.get("reveal") == "1"
    try:
        fields = record_detail(
            operator=request.user,  # type: ignore[arg-type]
            terminal=access.terminal_for_request(request),
            file=_file(file),
            person_id=person_id,
            affair_code=affair,
            reveal=reveal,
        )
    except Refused as refusal:
        return render(request, "provision/refused.html", {"message": message(refusal.code)}, status=403)
    if fields is None:
        raise Http404
    context = {"fields": fields, "file": file, "person_id": person_id, "affair": affair, "revealed": reveal}
    return render(request, "provision/detail.html", context)


@staff_screen
def history(request: HttpRequest, file: str, person_id: int) -> HttpResponse:
    affair = request.GET.get("affair", "")
    try:
        rows = person_history(
            operator=request.user,  # type: ignore[arg-type]
            terminal=access.terminal_for_request(request),
            file=_file(file),
            person_id=person_id,
            affair_code=affair,
        )
    except Refused as refusal:
        return render(request, "provision/refused.html", {"message": message(refusal.code)}, status=403)
    context = {"rows": rows, "file": file, "person_id": person_id, "affair": affair}
    return render(request, "provision/history.html", context)


class BulkForm(forms.Form):
    recipient = forms.ModelChoiceField(
        label="依頼元（提供・移転先）", queryset=Office.objects.filter(kind__in=["body", "department"], is_active=True)
    )
    affair = forms.CharField(label="事務コード", max_length=20)
    file = forms.ChoiceField(label="ファイル", choices=Affair.File.choices)
    approval = forms.ModelChoiceField(
        label="事前承認", queryset=BulkApproval.objects.filter(used_at__isnull=True), required=False
    )
    medium = forms.ModelChoiceField(
        label="出力媒体", queryset=Medium.objects.filter(status=Medium.Status.REGISTERED), required=False
    )
    document_reference = forms.CharField(label="依頼文書", max_length=200, required=False)
    request_file = forms.FileField(label="依頼ファイル（CSV, UTF-8）")


@staff_screen
@require_http_methods(["GET", "POST"])
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            job = bulk_request_run(
                operator=request.user,  # type: ignore[arg-type]
                terminal=access.terminal_for_request(request),
                recipient=values["recipient"],
                affair_code=values["affair"],
                file=values["file"],
                content=values["request_file"].read(),
                approval=values["approval"],
                medium=values["medium"],
                document_reference=values["document_reference"],
            )
        except BulkError as error:
            return render(request, "provision/bulk.html", {"form": form, "message": str(error)}, status=400)
        if job.status != "completed":
            context = {"form": form, "message": message(job.code), "job": job}
            return render(request, "provision/bulk.html", context, status=403)
        response = HttpResponse(bytes(job.result_file or b""), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="bulk-result-{job.pk}.csv"'
        return response
    return render(request, "provision/bulk.html", {"form": form})

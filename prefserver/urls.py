from django.urls import path

from prefserver import api

urlpatterns = [
    path("cs/v1/notices", api.notices_post, name="cs-notices"),
    path("cs/v1/results", api.results_list, name="cs-results"),
    path("cs/v1/results/<str:notice_id>", api.result_get, name="cs-result"),
]

# 例外修正 (domain.md §6.6): drafts, approvals and the quarterly check.
from prefserver import correction_views  # noqa: E402

urlpatterns += [
    path("corrections/new/", correction_views.correction_new, name="manual-correction-new"),
    path("corrections/pending/", correction_views.correction_pending, name="manual-correction-pending"),
    path("corrections/<int:pk>/", correction_views.correction_decide, name="manual-correction-decide"),
    path("corrections/checks/", correction_views.correction_checks, name="manual-correction-checks"),
]

# Staff screens of intake and push (login required; ids, codes and statuses only).
from prefserver import staff_views  # noqa: E402

urlpatterns += [
    path("intake/", staff_views.intake_overview, name="intake-overview"),
    path("intake/municipalities/<str:code>/", staff_views.intake_municipality, name="intake-municipality"),
    path("intake/notices/<int:pk>/", staff_views.notice_detail, name="intake-notice"),
]

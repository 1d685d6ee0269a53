from django.urls import path

from prefserver import api

urlpatterns = [
    path("cs/v1/notices", api.notices_post, name="cs-notices"),
    path("cs/v1/results", api.results_list, name="cs-results"),
    path("cs/v1/results/<str:notice_id>", api.result_get, name="cs-result"),
]

# Staff screens of intake and push (login required; ids, codes and statuses only).
from prefserver import staff_views  # noqa: E402

urlpatterns += [
    path("intake/", staff_views.intake_overview, name="intake-overview"),
    path("intake/municipalities/<str:code>/", staff_views.intake_municipality, name="intake-municipality"),
    path("intake/notices/<int:pk>/", staff_views.notice_detail, name="intake-notice"),
]

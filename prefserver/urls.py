from django.urls import path

from prefserver import api

urlpatterns = [
    path("cs/v1/notices", api.notices_post, name="cs-notices"),
    path("cs/v1/results", api.results_list, name="cs-results"),
    path("cs/v1/results/<str:notice_id>", api.result_get, name="cs-result"),
]

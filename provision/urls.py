from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from provision import api, views

urlpatterns = [
    path("api/v1/identity/lookup", api.IdentityLookupView.as_view(), name="api-identity-lookup"),
    path("api/v1/furyo/lookup", api.FuryoLookupView.as_view(), name="api-furyo-lookup"),
    path("api/v1/national/lookup", api.NationalLookupView.as_view(), name="api-national-lookup"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("search/", views.search, name="provision-search"),
    path("search/<str:file>/<int:person_id>/", views.detail, name="provision-detail"),
    path("search/<str:file>/<int:person_id>/history/", views.history, name="provision-history"),
    path("bulk/", views.bulk, name="provision-bulk"),
]

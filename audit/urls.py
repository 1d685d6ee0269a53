from django.urls import path

from audit import api, views, views_audit

app_name = "audit"

urlpatterns = [
    path("terminal/enrol/", views.terminal_enrol, name="terminal_enrol"),
    path("usage/", views.usage_request, name="usage_request"),
    path("usage/pending/", views.usage_pending, name="usage_pending"),
    path("usage/<int:pk>/approve/", views.usage_approve, name="usage_approve"),
    path("rights/", views.rights_home, name="rights"),
    path("rights/apply/", views.rights_apply, name="rights_apply"),
    path("rights/training/", views.training_record, name="training_record"),
    path("rights/revoke/", views.rights_revoke, name="rights_revoke"),
    path("rights/<int:pk>/approve/", views.rights_approve, name="rights_approve"),
    path("rights/ledger/", views.ledger, name="ledger"),
    path("rights/reconciliation/", views.reconciliation, name="reconciliation"),
    path("operators/<int:pk>/unlock/", views.operator_unlock_view, name="operator_unlock"),
    path("audit/log/", views_audit.log_search, name="log_search"),
    path("audit/log/export.csv", views_audit.log_export, name="log_export"),
    path("audit/flags/", views_audit.log_flags, name="log_flags"),
    path("audit/log/<int:sequence>/", views_audit.log_entry, name="log_entry"),
    path("audit/sampling/", views_audit.sampling_list, name="sampling_list"),
    path("audit/sampling/<int:pk>/", views_audit.sampling_detail, name="sampling_detail"),
    path("audit/sampling/items/<int:pk>/", views_audit.sampling_review, name="sampling_review"),
    path("api/v1/auth/token", api.TokenApi.as_view(), name="api_token"),
    path("api/v1/audit/log/search", api.LogSearchApi.as_view(), name="api_log_search"),
]

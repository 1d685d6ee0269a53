from django.urls import path

from disclosure import views

app_name = "disclosure"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("new/", views.case_new, name="case_new"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/<int:entry_pk>/reprint/", views.ledger_reprint, name="ledger_reprint"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/match/", views.case_match, name="case_match"),
    path("<int:pk>/decide/", views.case_decide, name="case_decide"),
    path("<int:pk>/decision-notice/", views.case_decision_notice, name="case_decision_notice"),
    path("<int:pk>/payment/", views.case_payment, name="case_payment"),
    path("<int:pk>/confirmation-sheet/", views.case_confirmation_sheet, name="case_confirmation_sheet"),
    path("<int:pk>/provision-report/", views.case_provision_report, name="case_provision_report"),
    path("<int:pk>/refer/", views.case_refer, name="case_refer"),
    path("<int:pk>/link-notice/", views.case_link_notice, name="case_link_notice"),
    path("<int:pk>/correction-close/", views.case_correction_close, name="case_correction_close"),
    path("<int:pk>/suspension/", views.case_suspension_decide, name="case_suspension_decide"),
    path("<int:pk>/suspension/lift/", views.case_suspension_lift, name="case_suspension_lift"),
]

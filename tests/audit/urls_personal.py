"""The project's URLs plus one stand-in personal-data screen and API, to test the access doors."""

from django.http import HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.access import require_personal_data_access
from audit.authentication import OperatorRateThrottle
from audit.decorators import personal_data_view
from jukinet.urls import urlpatterns as project_urls


@personal_data_view()
def personal_screen(request):
    return HttpResponse(f"approval {request.personal_data_access.usage_approval.pk}")


class PersonalApi(APIView):
    def post(self, request):
        access = require_personal_data_access(request, capability="search")
        if access.refusal:
            return Response({"result": "refused", "code": access.refusal}, status=403)
        return Response({"result": "released", "usage_approval": access.usage_approval.pk})


class ThrottledApi(APIView):
    throttle_classes = [OperatorRateThrottle]

    def post(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("test/api/throttled", ThrottledApi.as_view()),
    path("test/personal/", personal_screen),
    path("test/api/personal", PersonalApi.as_view()),
    *project_urls,
]

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from audit import views as audit_views
from jukinet import views

urlpatterns = [
    # First: the lookup API is the busiest route, and each pattern tried before it costs every request CPU.
    path("", include("provision.urls")),
    path("", views.home, name="home"),
    # Password + TOTP, lockout and logging (audit, domain.md §10.2) replace Django's own login views.
    path("login/", audit_views.login_view, name="login"),
    path("logout/", audit_views.logout_view, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("settings/", views.settings_list, name="settings_list"),
    path("disclosure/", include("disclosure.urls")),
    path("", include("audit.urls")),
    path("", include("prefserver.urls")),
]

if settings.SERVE_STATIC:
    # Only for the local demo (`make run`); a deployment serves static files from the proxy.
    urlpatterns.append(re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATICFILES_DIRS[0]}))

"""The project's URLs plus the bench-only bare endpoint (never in jukinet.urls: it has no auth and no logging)."""

from django.urls import path

from bench.bare import BareLookupView
from jukinet.urls import urlpatterns as project_urlpatterns

# First, as the lookup API is first in jukinet.urls: both resolve after about the same number of patterns. Under
# /api/ and sent with the same bearer header, so it runs through the same middleware chain as the real lookup
# (jukinet.wsgi routes bearer API requests to the token handler).
urlpatterns = [path("api/bench/bare/lookup", BareLookupView.as_view()), *project_urlpatterns]

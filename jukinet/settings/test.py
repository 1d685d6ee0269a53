"""Test settings: speed overrides only."""

import os

from jukinet.settings.base import *  # noqa: F403
from jukinet.settings.base import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each checkout (or parallel developer) may name its own test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("JUKINET_TEST_DB", "test_jukinet")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Django's test client speaks plain HTTP; every other security setting stays as in production.
SECURE_SSL_REDIRECT = False

"""Settings for every environment. test.py only overrides for speed; nothing lives only in production.

Deployment-fixed values come from the environment (domain.md §16.1) through jukinet.env's typed helpers;
date-effective values an administrator edits live in the database (jukinet.models.SettingValue).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from jukinet.env import BASE_DIR, VAR_DIR, database_from_url, env_bool, env_int, env_list, env_str

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", secret=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

# --- Prefecture (one deployment = one prefecture, domain.md §1) -------------------------------------
PREFECTURE_CODE = env_str("PREFECTURE_CODE", "35")
if not (len(PREFECTURE_CODE) == 2 and PREFECTURE_CODE.isdigit() and 1 <= int(PREFECTURE_CODE) <= 47):
    raise ImproperlyConfigured("PREFECTURE_CODE must be a JIS X 0401 code from 01 to 47.")
RESIDENT_CODE_VALIDATOR = env_str("RESIDENT_CODE_VALIDATOR", "jukinet.identifiers.resident_code_check_digit")

# --- Keys (never from SECRET_KEY, domain.md §4.2) ----------------------------------------------------
# "id:base64key,id:base64key"; the active id encrypts, the others only decrypt.
INDIVIDUAL_NUMBER_KEYS = env_str("INDIVIDUAL_NUMBER_KEYS", secret=True)
INDIVIDUAL_NUMBER_ACTIVE_KEY_ID = env_str("INDIVIDUAL_NUMBER_ACTIVE_KEY_ID", secret=True)
BLIND_INDEX_KEY = env_str("BLIND_INDEX_KEY", secret=True)
OPLOG_SIGNING_KEY_FILE = env_str("OPLOG_SIGNING_KEY_FILE", str(VAR_DIR / "secrets" / "oplog-signing.pem"))
OPLOG_CHECKPOINT_EXPORT_DIR = env_str("OPLOG_CHECKPOINT_EXPORT_DIR", str(VAR_DIR / "checkpoints"))

# --- Retention and limits (domain.md §13, §16.1) -----------------------------------------------------
# The seed's "1年未満" (seeds/002_b6d1246946737152.txt:1464): above 364 days every process refuses to start.
TEMP_INDIVIDUAL_NUMBER_TTL_DAYS = env_int("TEMP_INDIVIDUAL_NUMBER_TTL_DAYS", 30, minimum=1, maximum=364)
RETENTION_YEARS = env_int("RETENTION_YEARS", 7, minimum=1)
NOTICE_BATCH_MAX = env_int("NOTICE_BATCH_MAX", 1000, minimum=1)
NOTICE_BODY_MAX_BYTES = 8 * 1024 * 1024
TRUSTED_PROXY_IPS = env_list("TRUSTED_PROXY_IPS", [])
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "10/s")
NATIONAL_SERVER_URL = env_str("NATIONAL_SERVER_URL", "https://127.0.0.1:8443")
# Mutual TLS to the national server (docs/national.md): ca.crt, client.crt/.key and the server pin.
NATIONAL_PKI_DIR = env_str("NATIONAL_PKI_DIR", str(VAR_DIR / "pki"))
NATIONAL_SERVER_SHA256 = env_str("NATIONAL_SERVER_SHA256", "")  # empty: pin NATIONAL_PKI_DIR/server.crt

# --- Apps ----------------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "jukinet",
    "audit",
    "prefserver",
    "furyo",
    "disclosure",
    "provision",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "audit.middleware.IdleLockMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jukinet.urls"
WSGI_APPLICATION = "jukinet.wsgi.application"
AUTH_USER_MODEL = "audit.Operator"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jukinet.context_processors.prefecture",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        # Default: the project-local cluster of scripts/services.sh.
        env_str("DATABASE_URL", f"postgresql://jukinet:jukinet@127.0.0.1:{env_int('JUKINET_PG_PORT', 54329)}/jukinet"),
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
# provision: the lookup path's server-side-binding cursors are prepared after 5 runs per connection (Django's own
# cursors bind client-side and are never prepared).
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5  # type: ignore[index]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", f"redis://127.0.0.1:{env_int('JUKINET_REDIS_PORT', 63799)}/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Locale --------------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
SERVE_STATIC = env_bool("JUKINET_SERVE_STATIC", False)

# --- Security ------------------------------------------------------------------------------------------
# JUKINET_TLS=0 only for the local demo over plain HTTP on loopback; every other deployment keeps it on.
_TLS = env_bool("JUKINET_TLS", True)
SESSION_COOKIE_SECURE = _TLS
CSRF_COOKIE_SECURE = _TLS
SECURE_SSL_REDIRECT = _TLS
SECURE_HSTS_SECONDS = 31536000 if _TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _TLS
SECURE_HSTS_PRELOAD = _TLS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _TLS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = NOTICE_BODY_MAX_BYTES

# --- REST framework ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
# audit: operator tokens bound to a terminal (domain.md §9.6); every 401 is logged.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = ["audit.authentication.OperatorTokenAuthentication"]
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "audit.authentication.api_exception_handler"
OTP_TOTP_ISSUER = "jukinet"
SPECTACULAR_SETTINGS = {
    "TITLE": "jukinet 都道府県サーバ API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc served from this server (drf-spectacular-sidecar): the network is closed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery (the inbox in PostgreSQL is the source of truth; Redis messages are wake-ups) --------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# audit: log checkpoints hourly (signed when OPLOG_CHECKPOINT_HOURS have passed, and at every month end),
# partitions ahead daily, retention purge monthly; revocation sweep daily at 00:00; reconciliation weekly.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["audit-oplog-checkpoint"] = {
    "task": "audit.tasks.oplog_checkpoint_task",
    "schedule": crontab(minute=5),
}
# The lookup API's unchained log entries are chained every OPLOG_SEAL_SECONDS (domain.md §11 fallback).
OPLOG_SEAL_SECONDS = env_int("OPLOG_SEAL_SECONDS", 2, minimum=1)
CELERY_BEAT_SCHEDULE["audit-oplog-seal"] = {
    "task": "audit.tasks.oplog_seal_task",
    "schedule": float(OPLOG_SEAL_SECONDS),
    "options": {"expires": float(OPLOG_SEAL_SECONDS)},  # a backlog of wake-ups is pointless: one run takes all
}
CELERY_BEAT_SCHEDULE["audit-oplog-partitions"] = {
    "task": "audit.tasks.oplog_partitions_task",
    "schedule": crontab(minute=15, hour=0),
}
CELERY_BEAT_SCHEDULE["audit-oplog-purge"] = {
    "task": "audit.tasks.oplog_purge_task",
    "schedule": crontab(minute=30, hour=1, day_of_month=1),
}
CELERY_BEAT_SCHEDULE["audit-revocation-sweep"] = {
    "task": "audit.tasks.revocation_sweep_task",
    "schedule": crontab(minute=0, hour=0),
}
CELERY_BEAT_SCHEDULE["audit-access-right-reconciliation"] = {
    "task": "audit.tasks.access_right_reconciliation_task",
    "schedule": crontab(minute=0, hour=6, day_of_week=1),
}
# disclosure: closed cases and their PDFs 7 years after closure (domain.md §13), monthly.
CELERY_BEAT_SCHEDULE["disclosure-purge"] = {
    "task": "disclosure.tasks.disclosure_purge_task",
    "schedule": crontab(minute=45, hour=1, day_of_month=1),
}
# Provision records: monthly partitions ahead, months past RETENTION_YEARS dropped (domain.md §13).
CELERY_BEAT_SCHEDULE["provision-records-purge"] = {
    "task": "provision.tasks.provision_records_purge_task",
    "schedule": 3600.0,
}
# Retention purges (domain.md §13, §5.3): daily history partitions, hourly temporary individual numbers.
CELERY_BEAT_SCHEDULE["history-purge"] = {"task": "prefserver.tasks.history_purge_task", "schedule": 24 * 3600.0}
CELERY_BEAT_SCHEDULE["temporary-numbers-purge"] = {
    "task": "furyo.tasks.temporary_numbers_purge_task",
    "schedule": 3600.0,
}

# GIN indexes' pending lists (the log's targets, the provision records' subjects) moved into the indexes in the
# background, so that no append under the log's chain lock does it (jukinet.db.gin_pending_lists_clean).
GIN_PENDING_CLEAN_SECONDS = env_int("GIN_PENDING_CLEAN_SECONDS", 30, minimum=1, maximum=3600)
CELERY_BEAT_SCHEDULE["gin-pending-lists"] = {
    "task": "jukinet.tasks.gin_pending_lists_task",
    "schedule": float(GIN_PENDING_CLEAN_SECONDS),
    "options": {"expires": float(GIN_PENDING_CLEAN_SECONDS)},  # one run takes all: a backlog is pointless
}

# --- Logging: internal ids only, never names, addresses, codes or numbers (domain.md §11) ---------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Intake (prefserver): wake-up sweeper and hold sweep (domain.md §6.3, §6.5) -------------------------
CELERY_BEAT_SCHEDULE["intake-redispatch"] = {"task": "prefserver.tasks.intake_redispatch_task", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["intake-hold-sweep"] = {"task": "prefserver.tasks.intake_hold_sweep_task", "schedule": 60.0}
# 例外修正 (prefserver.corrections): unchecked after their quarter → an alert for the auditors, daily.
CELERY_BEAT_SCHEDULE["manual-corrections-unchecked"] = {
    "task": "prefserver.tasks.manual_corrections_unchecked_task",
    "schedule": crontab(minute=20, hour=0),
}
# Intake's records past RETENTION_YEARS (notices, results, duplicate log; domain.md §6.5): daily at 02:15.
CELERY_BEAT_SCHEDULE["intake-records-purge"] = {
    "task": "prefserver.tasks.intake_records_purge_task",
    "schedule": crontab(minute=15, hour=2),
}


# --- National push relay (prefserver.push, domain.md §7) ------------------------------------------------
PUSH_BATCH_MAX = env_int("PUSH_BATCH_MAX", 2000, minimum=1, maximum=10_000)
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["push-relay-sweep"] = {"task": "prefserver.tasks.push_relay_task", "schedule": 3.0}
CELERY_BEAT_SCHEDULE["push-backlog-check"] = {"task": "prefserver.tasks.push_backlog_check_task", "schedule": 60.0}

# --- Registers purge (jukinet.registers, domain.md §13) -------------------------------------------------
# Usage approvals, alerts, bulk requests and approvals, the output and media ledgers, the access-right ledger
# and expired API tokens past RETENTION_YEARS: monthly, on the 1st at 02:00.
CELERY_BEAT_SCHEDULE["registers-purge"] = {
    "task": "jukinet.tasks.registers_purge_task",
    "schedule": crontab(minute=0, hour=2, day_of_month=1),
}

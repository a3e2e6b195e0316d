"""The one settings module. Everything that differs between a laptop demo, CI and production
comes from the environment; a bad value stops start-up with a message naming the variable."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from scaling_ops.env import email_settings_from_url, envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

# Unset means production: a forgotten variable must not serve debug pages with a known key.
# The laptop demo (make demo), the bench and the test suite turn it on themselves.
DEBUG = envbool("DEBUG", "false")

# With DEBUG off, a missing secret or host list is refused where it matters, loudly: by a deploy
# check (scaling_ops.health) that compose runs before migrate, and by wsgi.py when gunicorn loads
# the app. Offline commands that need neither (makemigrations) still run.
SECRET_KEY = envstr("SECRET_KEY") or (
    "insecure-development-key-only-for-debug-runs" if DEBUG else ""
)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "axes",
    "django_htmx",
    "scaling_ops",
    "pathways",
    "workforce",
    "assurance",
    "learning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "scaling_ops.sessions.IdleTimeoutMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "scaling_ops.middleware.TenantMiddleware",
    # Axes last: it inspects the response of a failed login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "scaling_ops.urls"
WSGI_APPLICATION = "scaling_ops.wsgi.application"

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
                "scaling_ops.context_processors.tenancy",
            ],
            # ``|person``: a person's name, not their username (histories, lists).
            "builtins": ["scaling_ops.templatetags.people"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
        # A kept connection the server dropped (restart, failover, idle kill) is replaced at
        # the start of the next request instead of failing it with a 500.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation on PostgreSQL, for every connection (workers' and Celery's included):
    # it pays off for long analytical queries, and ours are chunked. Past the cost thresholds,
    # compiling took longer than running: 0.44 s of a 0.83 s read of 250,000 case assignments
    # (the caseload figures), 0.43 s against 0.23 s for a month's case set (the snapshot).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A browser session left alone this long is signed out (scaling_ops.sessions).
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", "30")
if SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured(f"SESSION_IDLE_MINUTES={SESSION_IDLE_MINUTES} must be 1 or more.")

# Invitations and password resets. DEBUG prints mail on the console; production sends by SMTP.
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "scaling_ops <noreply@localhost>")
# One URL for all of the above (it wins over the separate variables): smtp://user:pass@host:587?tls=1,
# smtps://..., console://, file:///folder (see scaling_ops.env.email_settings_from_url).
EMAIL_URL = envstr("EMAIL_URL")
if EMAIL_URL:
    globals().update(email_settings_from_url(EMAIL_URL))
# Where the links in notification emails point: the address people open the site at.
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Guardian's anonymous user is not needed: anonymous visitors never reach tenant data.
ANONYMOUS_USER_NAME = None

# The number of reverse proxies in front of gunicorn (Caddy in compose: 1), each appending to
# X-Forwarded-For: the client's address is the entry that many from the right (0: the
# connecting address itself, and no X-Forwarded-* header is believed).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT} must be 0 or more.")

AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_MINUTES = envint("AXES_COOLOFF_MINUTES", "15")
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Locks are per (username, real client address), never the proxy's address.
AXES_CLIENT_IP_CALLABLE = "scaling_ops.proxy.client_address"
# Per account, from every address together: after this many failures each further attempt waits
# 2, 4, 8 ... seconds, up to the cap, instead of a lock someone else could impose
# (scaling_ops/login.py). Failures are forgotten after the axes cool-off without one.
LOGIN_SLOWDOWN_AFTER = envint("LOGIN_SLOWDOWN_AFTER", str(AXES_FAILURE_LIMIT))
LOGIN_SLOWDOWN_MAX_SECONDS = envint("LOGIN_SLOWDOWN_MAX_SECONDS", "60")
for _name, _least in [
    ("AXES_FAILURE_LIMIT", 1),
    ("LOGIN_SLOWDOWN_AFTER", 1),
    ("LOGIN_SLOWDOWN_MAX_SECONDS", 1),
    ("AXES_COOLOFF_MINUTES", 1),
]:
    if globals()[_name] < _least:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} must be {_least} or more.")

# A change reason is user text (an override reason, a review title): a text column, not
# simple-history's 100-character default, so a long one is kept whole instead of a 500.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"
# Uploaded evidence (scaling_ops/uploads.py): served only by views that check tenant and role,
# so it must live where neither MEDIA_URL nor whitenoise's static roots can reach it.
PRIVATE_MEDIA_ROOT = Path(envstr("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private-media"))).resolve()
for _served in (MEDIA_ROOT, STATIC_ROOT, *STATICFILES_DIRS):
    _served = Path(_served).resolve()
    if _served == PRIVATE_MEDIA_ROOT or _served in PRIVATE_MEDIA_ROOT.parents:
        raise ImproperlyConfigured(
            f"PRIVATE_MEDIA_ROOT={PRIVATE_MEDIA_ROOT} is inside {_served}, which is served; "
            "point it at a directory of its own."
        )
EVIDENCE_MAX_MB = envint("EVIDENCE_MAX_MB", "10")
if EVIDENCE_MAX_MB < 1:
    raise ImproperlyConfigured(f"EVIDENCE_MAX_MB={EVIDENCE_MAX_MB} must be 1 or more.")

# Small files stay in memory; a larger one is spooled to disk only up to the limit above.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "scaling_ops.uploads.CappedTemporaryFileUploadHandler",
]

DEMO_TIME_ZONE = envstr("DEMO_TIME_ZONE", "Europe/London")
try:
    ZoneInfo(DEMO_TIME_ZONE)
except ZoneInfoNotFoundError:
    raise ImproperlyConfigured(f"DEMO_TIME_ZONE={DEMO_TIME_ZONE!r} is not an IANA zone.") from None

# --- Security headers; strict by default whenever DEBUG is off. ---
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# X-Forwarded-* headers are believed only from the trusted proxies counted above (Caddy in
# compose: 1); with 0 any client could claim HTTPS or another address.
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes (compose healthchecks, load balancers) call gunicorn over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- REST API ---
# A partner's batch of 1,000 events with notes runs to a few megabytes (../shared/API.md: at
# most 8 MB); Django's 2.5 MB default refused valid batches. Forms post far less.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["scaling_ops.authentication.PartnerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Request bodies are JSON only: form and multipart parsers would accept (and the schema
    # advertise) bodies the ingest was never written for.
    "DEFAULT_PARSER_CLASSES": ["scaling_ops.api_parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["scaling_ops.authentication.PartnerKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"partner_key": envstr("PARTNER_API_RATE", "600/minute")},
    "EXCEPTION_HANDLER": "scaling_ops.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "scaling_ops partner API",
    "DESCRIPTION": "Cases, case events and daily exception reports for partner systems.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Celery: eager (in-process) unless a Redis URL is given. ---
REDIS_URL = envstr("REDIS_URL")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ACKS_LATE = True
# An unreachable (not refusing) Redis host fails an enqueue in seconds, not a TCP timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Days a daily exception report keeps its lines (the queue's rows); older reports keep their
# figures and a summary by site, step, kind and status (pathways.services.report_retention).
EXCEPTION_REPORT_RETENTION_DAYS = envint("EXCEPTION_REPORT_RETENTION_DAYS", "400")
if EXCEPTION_REPORT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"EXCEPTION_REPORT_RETENTION_DAYS={EXCEPTION_REPORT_RETENTION_DAYS} must be 1 or more."
    )
# Processes that evaluate the chunks of a full exception report or a monthly snapshot side by
# side on PostgreSQL (pathways.parallel_chunks); 1: all in the calling process.
COMPUTE_PROCESSES = envint("COMPUTE_PROCESSES", "2")
if COMPUTE_PROCESSES < 1:
    raise ImproperlyConfigured(f"COMPUTE_PROCESSES={COMPUTE_PROCESSES} must be 1 or more.")
CELERY_BEAT_SCHEDULE: dict = {
    # Each organisation's daily exception report, once its local day has ended.
    "pathways-due-exception-reports": {
        "task": "pathways.tasks.compute_due_exception_reports",
        "schedule": 15 * 60,
    },
    # Each organisation's daily workforce integrity checks, on the exception engine's cadence.
    "workforce-due-integrity-checks": {
        "task": "workforce.tasks.compute_due_workforce_checks",
        "schedule": 15 * 60,
    },
    # Daily report lines older than EXCEPTION_REPORT_RETENTION_DAYS, rolled up and dropped.
    "pathways-expire-report-lines": {
        "task": "pathways.tasks.expire_report_lines_everywhere",
        "schedule": 24 * 60 * 60,
    },
    # Each organisation's monthly assurance snapshot, once its local month has ended.
    # Notices (reminders, the daily digest) and their email, every organisation, each quarter hour.
    "scaling-ops-notices": {
        "task": "scaling_ops.tasks.send_due_notices",
        "schedule": 15 * 60,
    },
    # Re-audit samples of drift signals whose window has opened, drawn once.
    "assurance-due-reaudit-samples": {
        "task": "assurance.tasks.draw_due_reaudit_samples",
        "schedule": 60 * 60,
    },
    "assurance-due-monthly-snapshots": {
        "task": "assurance.tasks.compute_due_assurance_snapshots",
        "schedule": 60 * 60,
    },
}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

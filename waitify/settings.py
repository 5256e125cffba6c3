"""Waitify settings: one module, driven by the environment.

With no environment variable at all the project runs embedded: SQLite file,
no Redis (Celery runs tasks inline, cache in memory), SMS printed to the
console and Stripe off. Every production value comes from the environment.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A checkout may keep its values in `.env` beside manage.py; the real environment wins.
# The image sets WAITIFY_ENV_FILE empty: a container takes its settings from its own
# environment (compose's env_file) only, so a stray .env copied into /app is never read.
ENV_FILE = env.str("WAITIFY_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The default key is only good for a local demo: `check --deploy` flags it.
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-waitify-local-demo-key-never-use-in-production"
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
# Proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
# Every limit (join, API throttles, failed logins) counts clients by waitify.lib.client_ip.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.facebook",
    "djstripe",
    "businesses",
    "queues",
    "billing",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "waitify.urls"
WSGI_APPLICATION = "waitify.wsgi.application"

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
                "django.template.context_processors.i18n",
                "waitify.navigation.nav_section",
                "businesses.context_processors.staff",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# An empty DATABASE_URL (`DATABASE_URL=${DATABASE_URL:-}` in compose files) means "unset".
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'var' / 'waitify.sqlite3'}"
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A kept-alive connection is checked before reuse, so a database restart costs no failed request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # Concurrent requests on the embedded SQLite wait for the write lock
    # instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Cache and background work ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_CACHE_TIMEOUT = env.float("REDIS_CACHE_TIMEOUT_SECONDS", default=0.05)
if REDIS_URL:
    CACHES = {
        "default": {
            # Fails open: a Redis fault is logged and answered as an empty cache would.
            "BACKEND": "waitify.lib.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            # Redis answers in well under a millisecond; a frozen one must cost a
            # request tens of milliseconds, not seconds (then the breaker skips it).
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": REDIS_CACHE_TIMEOUT,
                        "SOCKET_TIMEOUT": REDIS_CACHE_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The in-memory transport with its host spelled out: kombu warns "No hostname was
# supplied" on every connection to a bare "memory://".
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
# Every task is safe to run twice (conditional UPDATEs; an SMS row is sent only by the
# task that claims it, so a redelivered send_sms finds nothing to send): a task is
# acknowledged when it is done, and one cut off by a dead worker is delivered again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message reserved per worker process: on SIGTERM (warm shutdown) the worker only
# finishes what it is running, and hands nothing back it had hoarded.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Beat saves its schedule file after every task it sends (every few seconds with the
# call timeout sweep): a restart does not rerun jobs, and the file's age tells health checks
# beat is alive.
CELERY_BEAT_SYNC_EVERY = 1
# Without these a down Redis makes .delay() hang for ~20 s before failing.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 3,
    "socket_timeout": 3,
    "max_retries": 2,
    # A task whose worker died is redelivered after this long (tasks are idempotent).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The web process publishes after its response is sent and falls back to the SMS
# sweep: one quick retry, not Celery's default of three.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0,
                                    "interval_step": 0.2, "interval_max": 0.2}
CELERY_TIMEZONE = "Europe/Paris"
# Workers write a heartbeat this often; /health calls the scheduler or the workers
# "late" (degraded, still HTTP 200) once their last one is older than the threshold.
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=15.0)
HEARTBEAT_LATE_SECONDS = env.int("HEARTBEAT_LATE_SECONDS", default=60)
# /health shows each dependency's detail to staff, or to a probe sending this token in
# the X-Health-Token header; anyone else reads only up / degraded / down.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
# Every scheduled job of the platform is listed here, in one place. In the
# embedded default `manage.py run_embedded` runs the same schedule in-process.
CELERY_BEAT_SCHEDULE: dict = {
    "expire-overdue-calls": {
        "task": "queues.expire_overdue_calls",
        "schedule": env.float("QUEUE_SWEEP_SECONDS", default=5.0),
        "options": {"expires": 10},
    },
    # Re-queues SMS due for a (re)try and settles sends whose worker died.
    "sms-sweep": {
        "task": "queues.sms_sweep",
        "schedule": env.float("SMS_SWEEP_SECONDS", default=30.0),
        "options": {"expires": 60},
    },
    # Sent → delivered (or failed) from the carriers' reports (SNS delivery status logs).
    "sms-delivery-reports": {
        "task": "queues.sms_record_delivery_reports",
        "schedule": env.float("SMS_DELIVERY_REPORT_SECONDS", default=300.0),
        "options": {"expires": 240},
    },
    # Numbers that answered STOP, as the provider knows them.
    "sms-sync-opt-outs": {
        "task": "queues.sms_sync_opt_outs",
        "schedule": env.float("SMS_OPT_OUT_SYNC_SECONDS", default=3600.0),
        "options": {"expires": 600},
    },
    # Yesterday's DailyStat rows for every business (Europe/Paris day), then digests.
    "analytics-daily-stats": {
        "task": "analytics.compute_daily_stats",
        "schedule": crontab(hour=1, minute=0),
    },
    # GDPR: entries past 90 days (once their day is in DailyStat), SMS log phones.
    "analytics-retention": {
        "task": "analytics.apply_retention",
        "schedule": crontab(hour=2, minute=0),
    },
    # Accounts whose free trial ended without a subscription become read-only.
    "billing-expire-trials": {
        "task": "billing.expire_trials",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    # Last month's SMS overage onto each account's next Stripe invoice; daily, so a
    # missed or interrupted run catches up (safe to run twice: once per account+period).
    "billing-invoice-usage": {
        "task": "billing.invoice_last_period_usage",
        "schedule": crontab(hour=3, minute=15),
    },
}

# --- Auth ---------------------------------------------------------------------------
AUTH_USER_MODEL = "businesses.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed hook revokes the API token of the account.
    {"NAME": "businesses.passwords.RevokeApiTokenOnPasswordChange"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "queues:overview"
SITE_ID = 1

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_ADAPTER = "businesses.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "businesses.adapters.SocialAccountAdapter"
# Login brute force: allauth throttles failed logins per IP and per account.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,5/300s/key"),
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False


def _oauth_app(prefix: str) -> list[dict]:
    client_id = env.str(f"{prefix}_CLIENT_ID", default="")
    secret = env.str(f"{prefix}_CLIENT_SECRET", default="")
    return [{"client_id": client_id, "secret": secret, "key": ""}] if client_id and secret else []


# A provider's button only shows when its keys are in the environment.
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APPS": _oauth_app("GOOGLE"),
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
    },
    "facebook": {
        "APPS": _oauth_app("FACEBOOK"),
        "METHOD": "oauth2",
        "SCOPE": ["email", "public_profile"],
    },
}

# --- E-mail -------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Waitify <noreply@waitify.fr>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where merchants write for what the product does not do online (more businesses
# without online billing, a suspended account).
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@waitify.fr")

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# --- Security -------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SITE_URL.startswith("https"))
# Container and load-balancer probes call /health over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Only behind a proxy that sets X-Forwarded-Proto itself (the compose file's Caddy):
# reached directly, a client could send the header and pass for HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL_HEADER", default=False)
    else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Every page, the Django admin included, runs only scripts and styles served from
# static files: no inline <script>, no style="…" attribute, no on…= handler, so an
# injected tag cannot run. htmx is told not to add its indicator <style> (base.html).
# form-action is left open: checkout and social login post here, then redirect away.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["waitify.lib.throttles.AccountRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_RATE_LIMIT", default="1000/min"),
        "auth_token": env.str("API_AUTH_RATE_LIMIT", default="10/min"),
        "public": env.str("API_PUBLIC_RATE_LIMIT", default="120/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "waitify.lib.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only: in form-encoded input DRF reads a missing boolean as false.
    "DEFAULT_PARSER_CLASSES": ["waitify.lib.api_parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Our throttles identify clients with waitify.lib.client_ip; this keeps any of
    # DRF's own from trusting X-Forwarded-For beyond our proxies either.
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Waitify API",
    "DESCRIPTION": "Virtual queues by QR code: businesses, queues and analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "waitify.lib.api.document_error_answers",  # 400/401/403/404/409/429 everywhere
    ],
}

# --- Third parties ------------------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_ENABLED = bool(STRIPE_SECRET_KEY)
# dj-stripe: the key decides the mode; the API version is pinned so payloads keep
# the shape the billing code reads (change it together with stripe/dj-stripe).
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2026-05-27.dahlia")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_SECRET = env.str("DJSTRIPE_WEBHOOK_SECRET", default="") or STRIPE_WEBHOOK_SECRET
# Signed webhook payloads older than this are refused (replays).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
# Stripe's client (billing/apps.py): a call that hangs is cut after this many seconds
# (the library's default is 80) and retried, POSTs with the same idempotency key.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

AWS_REGION = env.str("AWS_REGION", default="eu-west-3")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="sns" if AWS_ACCESS_KEY_ID else "console",
)
SMS_SENDER_ID = env.str("SMS_SENDER_ID", default="Waitify")
# Only for a local fake of SNS (benchmarks); empty means AWS itself.
AWS_SNS_ENDPOINT_URL = env.str("AWS_SNS_ENDPOINT_URL", default="") or None
# SNS writes its SMS delivery status logs (when enabled in the SNS console) to
# "sns/<region>/<account id>/DirectPublishToPhoneNumber" and ".../Failure": set
# that name and sent SMS become delivered (or failed) as carriers report them.
SMS_DELIVERY_LOG_GROUP = env.str("SMS_DELIVERY_LOG_GROUP", default="")
AWS_LOGS_ENDPOINT_URL = env.str("AWS_LOGS_ENDPOINT_URL", default="") or None
# Destinations the public join accepts: French mobiles by default (SMS pumping).
SMS_ALLOWED_PREFIXES = env.list("SMS_ALLOWED_PREFIXES", default=["+336", "+337"])
SMS_HOURLY_CAP_PER_BUSINESS = env.int("SMS_HOURLY_CAP_PER_BUSINESS", default=300)
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=4)
SMS_RETRY_BASE_SECONDS = env.float("SMS_RETRY_BASE_SECONDS", default=10.0)
# A send claimed longer ago than this is settled as "unknown" (never re-sent).
SMS_CLAIM_LEASE_SECONDS = env.int("SMS_CLAIM_LEASE_SECONDS", default=120)
# Public join: attempts per client IP and per phone number in a window.
WAITIFY_RATE_LIMITS_ENABLED = env.bool("WAITIFY_RATE_LIMITS_ENABLED", default=True)
JOIN_LIMIT_PER_IP = env.int("JOIN_LIMIT_PER_IP", default=20)
JOIN_LIMIT_IP_WINDOW_SECONDS = env.int("JOIN_LIMIT_IP_WINDOW_SECONDS", default=600)
JOIN_LIMIT_PER_PHONE = env.int("JOIN_LIMIT_PER_PHONE", default=5)
JOIN_LIMIT_PHONE_WINDOW_SECONDS = env.int("JOIN_LIMIT_PHONE_WINDOW_SECONDS", default=3600)
# "Text me my link again": at most once per number in this many seconds.
RESEND_LINK_INTERVAL_SECONDS = env.int("RESEND_LINK_INTERVAL_SECONDS", default=300)

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # The logger's name in brackets: "INFO [waitify.queue] queue_opened business=…" reads
        # as one source and one event, not "waitify.queue queue queue_opened".
        "plain": {"format": "%(asctime)s %(levelname)s [%(name)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per task run every few seconds would drown the demo's console.
        "celery.app.trace": {"level": "WARNING"},
    },
}

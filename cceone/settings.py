"""Settings, read from the environment (12-factor) with embedded defaults.

Everything a deployment changes comes from an environment variable (or `.env`);
the defaults run the console on one machine: SQLite and a filesystem broker
under `var/`.
"""
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CCEONE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated into var/ on first start."""
    if env.str("SECRET_KEY", default=""):
        return env.str("SECRET_KEY")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_bootstrap5",
    "django_tables2",
    "bootstrap",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_celery_beat",
    "django_celery_results",
    "django_prometheus",
    "cceone.iam",
    "cceone.audit",
    "cceone.console",
    "cceone.queue",
    "clusters",
    "fleets",
    "permissions",
    "federation",
    "billing",
    "resources",
    "operations",
    "backups",
    "monitoring",
    "addons",
]

MIDDLEWARE = [
    "cceone.logs.RequestIdMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cceone.iam.middleware.DeclaredIAMMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cceone.console.middleware.RegionMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "cceone.urls"
WSGI_APPLICATION = "cceone.wsgi.application"
ASGI_APPLICATION = "cceone.asgi.application"

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
                "billing.context_processors.arrears",
                "cceone.console.context.console",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cceone.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL, a busy timeout and write transactions that take the lock up front (IMMEDIATE) let
    # web, worker, beat, hub and sandbox share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20, "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    })
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Query counts, latency and errors per database in /metrics: django-prometheus's wrappers of
# the same engines (`connection.vendor` is unchanged).
_METERED_ENGINES = {"django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
                    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql"}
if env.bool("CCEONE_DB_METRICS", default=True):
    DATABASES["default"]["ENGINE"] = _METERED_ENGINES.get(DATABASES["default"]["ENGINE"],
                                                          DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "iam.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:overview"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True  # sliding expiry: idle sessions end, active ones don't

# Failed-login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CCE One <noreply@localhost>")

# Celery: kombu's filesystem transport under var/ by default, Redis/RabbitMQ in production.
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Clusters reached directly (cloud clusters, no agent) are polled this often for their
# heartbeat facts; two failed polls in a row disconnect them.
CCEONE_DIRECT_POLL_SECONDS = env.float("CCEONE_DIRECT_POLL_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-cluster-connectivity": {"task": "clusters.tasks.sweep_connectivity", "schedule": 60.0},
    "poll-direct-clusters": {"task": "clusters.tasks.poll_direct_clusters", "schedule": CCEONE_DIRECT_POLL_SECONDS},
    # Retries with back-off, lost requests, and the periodic re-sync that binds namespaces
    # created after their association.
    "resync-kubernetes-permissions": {"task": "fleets.tasks.resync_permissions", "schedule": 60.0},
    # Billing (R7.3): settle on every hour boundary of CELERY_TIMEZONE (Asia/Shanghai, UTC+8).
    "billing-settle-hours": {"task": "billing.tasks.settle_hours", "schedule": crontab(minute=0)},
    "billing-deliver-notices": {"task": "billing.tasks.deliver_notices", "schedule": 60.0},
    # Backups and restores whose worker was lost (backups.services.recover_stalled).
    "backups-recover-stalled": {"task": "backups.tasks.recover_stalled", "schedule": 60.0},
    # Backups past their schedule's retention (backups.services.expire_backups).
    "backups-expire": {"task": "backups.tasks.expire_backups", "schedule": 3600.0},
    # Add-on operations whose worker was lost (addons.services.recover_stalled).
    "addons-recover-stalled": {"task": "addons.tasks.recover_stalled", "schedule": 60.0},
    # Recovery (docs/architecture.md, "Recovering lost work"): messages the broker refused,
    # and long work whose heartbeat stopped (a killed worker took its message with it).
    "queue-resend-unsent": {"task": "cceone.queue.tasks.resend_unsent", "schedule": 60.0},
    "recover-stalled-drains": {"task": "resources.tasks.recover_stalled_drains", "schedule": 60.0},
    "recover-stalled-operations-runs": {"task": "operations.tasks.recover_stalled_runs", "schedule": 60.0},
    "recover-stalled-cluster-operations": {"task": "clusters.tasks.recover_stalled_operations",
                                           "schedule": 60.0},
    "recover-stalled-federation-operations": {"task": "federation.tasks.recover_stalled_operations",
                                              "schedule": 60.0},
    "sweep-federation-migrations": {"task": "federation.tasks.sweep_migrations", "schedule": 60.0},
    "refresh-federation-versions": {"task": "federation.tasks.refresh_versions", "schedule": 300.0},
    "refresh-federation-members": {"task": "federation.tasks.refresh_members", "schedule": 60.0},
    "observe-federation-failover": {"task": "federation.tasks.observe_failover", "schedule": 60.0},
    # The audit timeline: kubeconfig-proxy requests older than their retention (cceone/audit).
    "audit-expire-kubernetes-requests": {"task": "cceone.audit.tasks.expire_kubernetes_requests",
                                         "schedule": 3600.0},
}
# Long work without a heartbeat for this long is resent, at most this many times, then
# failed with the reason where the user sees it.
# An incremental migration step whose target replicas are not ready for this long is marked stalled.
CCEONE_FEDERATION_MIGRATION_STALL_SECONDS = env.float("CCEONE_FEDERATION_MIGRATION_STALL_SECONDS", default=600.0)
CCEONE_RECOVERY_STALE_SECONDS = env.float("CCEONE_RECOVERY_STALE_SECONDS", default=300.0)
CCEONE_RECOVERY_MAX_RESUMES = env.int("CCEONE_RECOVERY_MAX_RESUMES", default=3)
# Backups (backups/): uploads larger than this go to S3 in parts of this size (S3's minimum part is 5 MiB).
CCEONE_BACKUP_MULTIPART_BYTES = env.int("CCEONE_BACKUP_MULTIPART_BYTES", default=8 * 1024 * 1024)
# `make run`'s S3-compatible endpoint (`manage.py runs3`, moto) for the demo's sandbox storage location.
CCEONE_SANDBOX_S3_URL = env.str("CCEONE_SANDBOX_S3_URL", default="http://127.0.0.1:9460")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cceone.iam.api_auth.APITokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cceone.iam.api_permissions.IAMPermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "cceone.api_schema.ConsoleAutoSchema",
    "EXCEPTION_HANDLER": "cceone.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "cceone.throttling.AnonRateThrottle",
        "cceone.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("CCEONE_API_THROTTLE_ANON", default="60/min"),
        "user": env.str("CCEONE_API_THROTTLE_USER", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CCE One API",
    "DESCRIPTION": (
        "Every console action as an endpoint with the same permissions. Authenticate with a "
        "personal API token (`Authorization: Token <key>`) or a console session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; the operations runs' gets its own name.
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "operations.models.RunStatus",
                            "FederationMigrationStateEnum": "federation.models.FederationMigration.State"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "cceone.api_schema.without_requirement_ids"],
}

# Product settings.
CCEONE_DELEGATION_ROLE = env.str("CCEONE_DELEGATION_ROLE", default="CtyunAssumeRoleForCCEONE")


def _generated_secret(name: str) -> str:
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


# The access hub (`manage.py runhub`): agents dial the public listener; the gateway uses
# the internal one with a shared secret. The URLs handed to agents are what a member
# cluster can reach: the public endpoint, or the private one over a VPC/leased line.
CCEONE_HUB_PUBLIC_LISTEN = env.str("CCEONE_HUB_PUBLIC_LISTEN", default="0.0.0.0:9443")
CCEONE_HUB_INTERNAL_LISTEN = env.str("CCEONE_HUB_INTERNAL_LISTEN", default="127.0.0.1:9444")


def _url_of_listener(listen: str) -> str:
    """How this host reaches `runhub --internal` when only where it listens is configured."""
    host, _sep, port = listen.rpartition(":")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    return f"http://{host}:{port}"


CCEONE_HUB_INTERNAL_URL = env.str("CCEONE_HUB_INTERNAL_URL", default=_url_of_listener(CCEONE_HUB_INTERNAL_LISTEN))
CCEONE_HUB_PUBLIC_URL = env.str("CCEONE_HUB_PUBLIC_URL", default="wss://127.0.0.1:9443")
CCEONE_HUB_PRIVATE_URL = env.str("CCEONE_HUB_PRIVATE_URL", default=CCEONE_HUB_PUBLIC_URL)
# The kubeconfig proxy as users' kubectl reaches it (https, same listener as agents).
CCEONE_HUB_KUBECONFIG_URL = env.str("CCEONE_HUB_KUBECONFIG_URL",
                                    default=CCEONE_HUB_PUBLIC_URL.replace("wss://", "https://", 1))
# Where a federation's Karmada reaches a member on the private network (R5.2 network type).
CCEONE_HUB_PRIVATE_KUBECONFIG_URL = env.str("CCEONE_HUB_PRIVATE_KUBECONFIG_URL",
                                            default=CCEONE_HUB_PRIVATE_URL.replace("wss://", "https://", 1))
CCEONE_HUB_SECRET = env.str("CCEONE_HUB_SECRET", default="") or _generated_secret("hub_secret")
CCEONE_HUB_TLS_DIR = env.str("CCEONE_HUB_TLS_DIR", default=str(VAR_DIR / "hub"))
# `make run`'s sandbox (manage.py runsandbox): its tokens, kubeconfigs and the requests the
# console leaves for it ("start a sandbox agent for this cluster").
CCEONE_SANDBOX_DIR = env.str("CCEONE_SANDBOX_DIR", default=str(VAR_DIR / "sandbox"))
CCEONE_HUB_HOSTNAMES = env.list("CCEONE_HUB_HOSTNAMES", default=["localhost", "127.0.0.1"])
CCEONE_HUB_HEARTBEAT_WINDOW = env.float("CCEONE_HUB_HEARTBEAT_WINDOW", default=30.0)
# Several hub replicas behind one address (docs/deploy.md): the routing directory's Redis
# (empty: one hub, routing in its process), the key prefix, this replica's id (default: host
# name and a random suffix) and the URL other replicas reach its internal listener at
# (default: the address it listens on, the pod's IP for 0.0.0.0). SIGTERM drains for this long.
CCEONE_HUB_REDIS_URL = env.str("CCEONE_HUB_REDIS_URL", default="")
CCEONE_HUB_REDIS_PREFIX = env.str("CCEONE_HUB_REDIS_PREFIX", default="cceone:hub:")
CCEONE_HUB_REPLICA_ID = env.str("CCEONE_HUB_REPLICA_ID", default="")
CCEONE_HUB_ADVERTISE_URL = env.str("CCEONE_HUB_ADVERTISE_URL", default="")
CCEONE_HUB_DRAIN_SECONDS = env.float("CCEONE_HUB_DRAIN_SECONDS", default=20.0)
# kubectl exec / attach / port-forward through the hub: closed after this long without a byte.
CCEONE_HUB_SESSION_IDLE_SECONDS = env.float("CCEONE_HUB_SESSION_IDLE_SECONDS", default=1800.0)
# How long an agent token keeps working after it was rotated (time to apply the new YAML).
CCEONE_AGENT_TOKEN_GRACE_MINUTES = env.int("CCEONE_AGENT_TOKEN_GRACE_MINUTES", default=60)
# Requests through the kubeconfig proxy in the audit timeline are kept this many days.
CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS = env.int("CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS", default=30)
# The hub's request audit: the buffer's bound (more requests are dropped and counted), and
# how often and in what batches it hands them to the database.
CCEONE_HUB_AUDIT_CAPACITY = env.int("CCEONE_HUB_AUDIT_CAPACITY", default=20_000)
CCEONE_HUB_AUDIT_INTERVAL_SECONDS = env.float("CCEONE_HUB_AUDIT_INTERVAL_SECONDS", default=1.0)
# How long the hub trusts a kubeconfig user's IAM `clusters:get` before asking again.
CCEONE_HUB_IAM_CACHE_SECONDS = env.float("CCEONE_HUB_IAM_CACHE_SECONDS", default=5.0)
def _generated_fernet_key() -> str:
    path = VAR_DIR / "encryption_key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


# Newest first; the first encrypts, all decrypt (see cceone/crypto.py).
CCEONE_ENCRYPTION_KEYS = env.list("CCEONE_ENCRYPTION_KEYS", default=[]) or [_generated_fernet_key()]
CCEONE_DEFAULT_CLUSTER_QUOTA = env.int("CCEONE_DEFAULT_CLUSTER_QUOTA", default=50)
# Federations (R5): the provisioner of new orders' Karmada control planes (pre-registered,
# sandbox, karmada-operator; federation/provisioners.py), the sandbox Karmada it may use,
# how long karmada-operator may take, and the default per-account quota.
CCEONE_FEDERATION_PROVISIONER = env.str("CCEONE_FEDERATION_PROVISIONER", default="pre-registered")
CCEONE_SANDBOX_KARMADA_URL = env.str("CCEONE_SANDBOX_KARMADA_URL", default="")
CCEONE_SANDBOX_KARMADA_TOKEN = env.str("CCEONE_SANDBOX_KARMADA_TOKEN", default="")
CCEONE_SANDBOX_KARMADA_CA_FILE = env.str("CCEONE_SANDBOX_KARMADA_CA_FILE", default="")
CCEONE_FEDERATION_OPERATOR_TIMEOUT = env.int("CCEONE_FEDERATION_OPERATOR_TIMEOUT", default=900)
CCEONE_FEDERATION_POLL_SECONDS = env.int("CCEONE_FEDERATION_POLL_SECONDS", default=10)
CCEONE_DEFAULT_FEDERATION_QUOTA = env.int("CCEONE_DEFAULT_FEDERATION_QUOTA", default=5)
CCEONE_ACCESS_TIMEOUT_MINUTES = env.int("CCEONE_ACCESS_TIMEOUT_MINUTES", default=30)
CCEONE_KUBECONFIG_MAX_HOURS = env.int("CCEONE_KUBECONFIG_MAX_HOURS", default=24 * 30)
# A kubeconfig that is not temporary still ends: a copied file does not work forever.
CCEONE_KUBECONFIG_DEFAULT_DAYS = env.int("CCEONE_KUBECONFIG_DEFAULT_DAYS", default=365)
# Personal API tokens: valid this long by default, and never longer.
CCEONE_API_TOKEN_MAX_DAYS = env.int("CCEONE_API_TOKEN_MAX_DAYS", default=90)
# Single-cluster console: node drains and streamed pod logs.
CCEONE_DRAIN_TIMEOUT = env.int("CCEONE_DRAIN_TIMEOUT", default=600)
CCEONE_DRAIN_RETRY_SECONDS = env.float("CCEONE_DRAIN_RETRY_SECONDS", default=5)
CCEONE_LOG_FOLLOW_KEEPALIVE = env.float("CCEONE_LOG_FOLLOW_KEEPALIVE", default=15)
CCEONE_LOG_FOLLOW_MAX_SECONDS = env.float("CCEONE_LOG_FOLLOW_MAX_SECONDS", default=1800)
# The pod page's web terminal: a session ends after this long, whatever happens in it.
CCEONE_TERMINAL_MAX_SECONDS = env.float("CCEONE_TERMINAL_MAX_SECONDS", default=1800)
CCEONE_AGENT_IMAGE = env.str("CCEONE_AGENT_IMAGE", default="cceone/cceone-agent:0.1.0")

# Billing (R7): notices go out in this language unless an operator sets another for the
# account; SMS through a pluggable backend (logging by default; billing.sms.HttpBackend
# posts JSON to CCEONE_SMS_HTTP_URL).
CCEONE_BILLING_NOTICE_LANGUAGE = env.str("CCEONE_BILLING_NOTICE_LANGUAGE", default="zh-hans")
# An inspection with new critical findings also sends an SMS (R3.11 notices).
CCEONE_INSPECTION_SMS_CRITICAL = env.bool("CCEONE_INSPECTION_SMS_CRITICAL", default=True)
CCEONE_SMS_BACKEND = env.str("CCEONE_SMS_BACKEND", default="billing.sms.LoggingBackend")
CCEONE_SMS_HTTP_URL = env.str("CCEONE_SMS_HTTP_URL", default="")
CCEONE_SMS_HTTP_TOKEN = env.str("CCEONE_SMS_HTTP_TOKEN", default="")
CCEONE_SMS_SENDER = env.str("CCEONE_SMS_SENDER", default="CCE One")

# Production hardening; `check --deploy` passes when DEBUG is off and HTTPS is on.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files,
# so an injected <script>, on…= handler or style attribute does not run. Swagger UI is
# served through drf-spectacular's split view for the same reason (no inline script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# CCEONE_LOG_FORMAT=json (the container images): one JSON object per line with the request id.
CCEONE_LOG_FORMAT = env.str("CCEONE_LOG_FORMAT", default="text")
# /metrics (Prometheus) answers only with `Authorization: Bearer <this>`; empty: 404.
CCEONE_METRICS_TOKEN = env.str("CCEONE_METRICS_TOKEN", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_without_traceback": {"()": "cceone.logs.RefusalsWithoutTraceback"},
                "request_id": {"()": "cceone.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "cceone.logs.json_formatter"},
                   "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if CCEONE_LOG_FORMAT == "json" else "text"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "django.request": {"filters": ["refusals_without_traceback"]}},
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-hover align-middle"}

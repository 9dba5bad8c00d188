"""Settings shared by every environment. Everything deployment-specific comes from the
environment (or a `.env` file beside manage.py) through django-environ; see README.md for the list.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_HASHES
from django.utils.log import DEFAULT_LOGGING
from kombu import Exchange, Queue

from perfmgmt.cache import redis_cache_settings
from perfmgmt.file_broker import file_broker_options

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# Variables already in the environment win over the file.
environ.Env.read_env(env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)
# Runtime files of the embedded default (SQLite database, file broker, uploads) live here.
VAR_DIR = Path(env.str("PERFMGMT_VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",  # django-csp: its system checks (the policy itself is CONTENT_SECURITY_POLICY below)
    "perfmgmt.apps.PerfmgmtConfig",
    "teams",
    "metrics",
    "incentives",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # the Content-Security-Policy header, on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # No user at all yet: every page leads to the set-up page (teams/middleware.py).
    "teams.middleware.SetupRedirectMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires, so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "perfmgmt.urls"
WSGI_APPLICATION = "perfmgmt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "teams.context_processors.viewer",
            ],
        },
    },
]

# Embedded default: a SQLite file in the project folder, so `make run` needs no server.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent web + worker processes on one SQLite file: wait for locks instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out client is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A one-time link to set a password (an invitation, or a new link from a manager) works once, for
# this many days (Django's password-reset tokens; teams/services/users.py).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_LINK_DAYS", default=7) * 24 * 3600  # seconds

# Repeated failed logins: after AXES_FAILURE_LIMIT failures for one username from one address
# the pair is locked for AXES_COOLOFF_MINUTES; the lockout page says so and until when.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours, as axes expects
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp 4): scripts only from our own files, never inline or eval,
# so an injected name cannot run even if a template forgot to escape it. Page behaviour lives in
# static/js (data attributes + addEventListener); plotly's data sits in json_script tags, which
# are data, not script. No template has a <style> block or a style="" attribute either (computed
# widths and shades are set by static/js/app.js through the CSSOM, which CSP does not govern).
# plotly.js (4.1, measured in Chromium by tests/browser/test_security_browser.py) needs exactly
# three inline styles beyond that, so they are allowed by hash instead of 'unsafe-inline':
# - an empty <style id="plotly.js-style-global"> it creates and then fills through
#   sheet.insertRule (modebar, hover and cursor rules; without the sheet the modebar is unstyled);
# - the maplibre CSS its bundle injects as a <style> when it loads (unused: no map traces);
# - setAttribute("style", …) with "" (colorbar fills) and with its image-rendering test string
#   (heatmaps drawn as crisp pixels); 'unsafe-hashes' lets these two attribute values, and only
#   they, through.
# tests/perfmgmt/test_security.py recomputes the hashes from the installed plotly.min.js.
PLOTLY_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # "" (empty <style>, style="")
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",  # the bundled maplibre-gl CSS
    "'sha256-AR/cKIZjWPcPmBUPDA6oti9XBiTbJvz0Cro2J1VzzS8='",  # "image-rendering: optimizeSpeed; …"
]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_HASHES, *PLOTLY_STYLE_HASHES],
        # blob:: plotly's "Download plot as a PNG" draws the figure's SVG through a blob: image
        # onto a canvas (data: on Safari); without it the button silently does nothing.
        "img-src": [SELF, "data:", "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# Internationalisation: Simplified Chinese by default, English switchable per user (cookie).
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
FORMAT_MODULE_PATH = ["perfmgmt.formats"]  # digit grouping for Chinese (see perfmgmt/formats)
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language a user picks in the header (cookie) wins over the browser's Accept-Language,
# which wins over LANGUAGE_CODE; the pick is remembered for a year, not just the session.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # seconds
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "perfmgmt.staticfinders.PlotlyJsFinder",  # vendor/plotly.min.js from the plotly package
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# Celery. With REDIS_URL set, Redis is broker and result backend. Without it, the embedded
# default: a file-based broker and result store under var/, so `make run` needs no server and
# the web request still never runs a job itself (the worker started by `make run` does).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_DIR = VAR_DIR / "celery"
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # A message taken by a worker that was then killed as a whole (not just a pool process) goes
    # back to the queue this long after it was taken: longer than the longest task, or a task
    # still running would be handed to a second worker (docs/faults.md).
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),  # seconds
    # Redis down or silent: a publish (an upload queuing its import) fails within seconds instead
    # of hanging the request; the import is then marked failed (metrics.importing.services).
    "socket_connect_timeout": 3,  # seconds
    "socket_timeout": 5,  # seconds (a blocking read; the worker polls with 1 s reads)
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3  # seconds, the result backend's
else:
    # The file transport ignores the host; naming one keeps kombu from warning "No hostname was
    # supplied" on every connection (each `import_data` run printed it).
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = file_broker_options(CELERY_BROKER_DIR)
    CELERY_RESULT_BACKEND = f"file://{CELERY_BROKER_DIR / 'results'}"
# Cache: dashboards keep computed pages here, keyed by the data version of their stores (see
# metrics.kpis.cache). Redis when REDIS_URL is set; otherwise files under VAR_DIR,
# which the web server and the worker share (a per-process memory cache would not be).
# The Redis cache fails open: with Redis down or silent, pages are computed from the database
# (perfmgmt/cache.py: short socket timeouts and a circuit breaker).
if REDIS_URL:
    CACHES = {"default": redis_cache_settings(url=REDIS_URL)}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Pages and the rollup months the dashboards read (a piece per store, month and table).
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
# Cached pages and rollup pieces are pickled objects that name their classes' modules: when a
# release moves such a module, it changes this prefix so that it never reads what an older release
# cached (the old entries expire on their own).
CACHES["default"]["KEY_PREFIX"] = "v21"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXPIRES = 24 * 3600  # seconds
# django-celery-beat's database schedule behind a leader lock: of two beat processes only the one
# holding the lock sends the periodic jobs; the other takes over once a dead leader's lock expires.
CELERY_BEAT_SCHEDULER = "perfmgmt.beat:LockedDatabaseScheduler"
CELERY_BEAT_LOCK_TTL = env.int("CELERY_BEAT_LOCK_TTL", default=60)  # seconds (Redis lock; renewed every TTL/3)
# Publishing to a broker that does not answer: 3 tries within about a second, then the caller hears of it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Broker lost while running: reconnect for as long as it takes (every 2, 4, … up to 30 s), where
# Celery's default gives up after 100 tries (about 50 minutes) and the worker exits. Tasks already
# running carry on (their acks_late message is acknowledged on the new connection): an import
# that commits without Redis is not thrown away and run again (docs/faults.md).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery 5.7.0's consumer exits when closing the lost connection fails; ours reconnects (perfmgmt/worker.py).
CELERY_WORKER_CONSUMER = "perfmgmt.worker:Consumer"
# Two queues: imports and the KPI updates that follow them on "imports", everything else (cache
# warm-ups, alerts, badges, statements, purges) on the default "celery", so an upload never waits
# behind a warm-up. A worker started without -Q consumes both (CELERY_TASK_QUEUES); bin/serve and
# docker-compose.yml add a worker for "imports" only (docs/deploy.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
IMPORTS_QUEUE = "imports"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, IMPORTS_QUEUE)
]
CELERY_TASK_ROUTES = {
    name: {"queue": IMPORTS_QUEUE}
    for name in (
        "metrics.tasks.import_batch_run_task",
        "metrics.tasks.kpis_after_import_task",
        "metrics.tasks.kpis_recompute_range_task",
        "metrics.tasks.kpis_attribution_task",
        "metrics.tasks.kpis_partition_task",
        "metrics.tasks.followups_deliver_task",
    )
}
# Work whose worker vanished (metrics.followups.services): a running import or follow-up refreshes
# its heartbeat every FOLLOWUP_HEARTBEAT_SECONDS; one older than WORK_STALE_SECONDS is interrupted
# (found by followups_deliver_task, every minute) and queued again WORK_AUTO_RETRIES times, then
# offered as "Run again". 180 s is six beats: a beat on SQLite waits for the import's write
# transaction (a merge of 100,000 orders holds it about 10 s), so only a dead worker misses six;
# it is still twenty times shorter than the broker's visibility timeout (docs/faults.md).
FOLLOWUP_HEARTBEAT_SECONDS = env.int("FOLLOWUP_HEARTBEAT_SECONDS", default=30)  # seconds
WORK_STALE_SECONDS = env.int("WORK_STALE_SECONDS", default=180)  # seconds
WORK_AUTO_RETRIES = 1

REST_FRAMEWORK = {
    # Token first: DRF takes the first class's WWW-Authenticate header, so a request without valid
    # credentials answers 401 (the session class has no header and would turn it into a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus the error responses (400, 401, 403, 404, 415, 429) of every operation.
    "DEFAULT_SCHEMA_CLASS": "perfmgmt.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"token_obtain": "10/min"},
    # Every 400 body an object (field → messages), as the schema's ValidationError says.
    "EXCEPTION_HANDLER": "perfmgmt.schema.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "perfmgmt API",
    "DESCRIPTION": "Sales and customer-service team performance management. "
    "Every list is scoped to what the authenticated user may see.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request bodies are documented as JSON (the import upload declares its multipart form itself):
    # a form encoding cannot carry the null of nullable fields that the schema would promise.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Two models have a field named "kind": give each choice set its own schema name.
    "ENUM_NAME_OVERRIDES": {
        "TeamKindEnum": "teams.models.TeamKind",
        "ImportKindEnum": "metrics.models.ImportKind",
        "ImportStatusEnum": "metrics.models.ImportStatus",
        "CampaignKindEnum": "metrics.models.CampaignKind",
        "PhaseKindEnum": "metrics.models.PhaseKind",
        "ManualLineKindEnum": "incentives.models.ManualLineKind",
    },
}

# One line per event on the console. Django's default configuration (applied before this one) gives
# the "django" logger a console handler of its own when DEBUG is on, so every request warning was
# printed twice, once by it and once by the root's; its records now go to the root's handler only
# (its other handler, mail_admins, sends nothing without ADMINS). Configuring "django" resets its
# child loggers, so runserver's access log ("django.server") is declared again as Django has it.
# A refused request (403, or 400 for a body that does not parse) is one line without a traceback
# (perfmgmt/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_client_error_traceback": {"()": "perfmgmt.logs.ClientErrorTracebackFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": DEFAULT_LOGGING["formatters"]["django.server"],
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": DEFAULT_LOGGING["handlers"]["django.server"],
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": []},
        "django.request": {"filters": ["no_client_error_traceback"]},
        "django.server": DEFAULT_LOGGING["loggers"]["django.server"],
    },
}

# E-mail (alerts, password links): EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587;
# without it alerts are printed to the console and password links are only shown to whoever made
# them (a link in a log is a password anyone reading the log could set).
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_CONFIGURED = bool(env.str("EMAIL_URL", default=""))
if EMAIL_CONFIGURED:
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="perfmgmt@localhost")
# The site's address as its users reach it (https://perfmgmt.example.com): links that background
# jobs e-mail (the invitations of the logins a roster import creates) are built on it, since a
# worker has no request to take the address from. Empty: those links are not e-mailed, and a
# manager sends them from the users page.
SITE_URL = env.str("PERFMGMT_SITE_URL", default="")

# Imports of shop exports.
IMPORT_MAX_FILE_MB = env.int("IMPORT_MAX_FILE_MB", default=200)
IMPORT_MAX_XLSX_UNPACKED_MB = env.int("IMPORT_MAX_XLSX_UNPACKED_MB", default=1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=5_000_000)
# Cells of an XLSX sheet (rows × columns, counted as its XML streams, before openpyxl parses it):
# openpyxl read about 70,000 cells per CPU second in our measurement, so this bounds a sheet's
# read to about 2.5 minutes; larger exports go as CSV. docs/faults.md, "Bad files".
IMPORT_MAX_XLSX_CELLS = env.int("IMPORT_MAX_XLSX_CELLS", default=10_000_000)
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=100_000)  # rows read, checked and staged at a time
IMPORT_MAX_REPORTED_ERRORS = env.int("IMPORT_MAX_REPORTED_ERRORS", default=1000)
IMPORT_RETENTION_DAYS = env.int("IMPORT_RETENTION_DAYS", default=90)  # original files kept this long
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # bytes; larger uploads go to a temporary file
# Request bodies beyond these answer 400 before any view runs. Files are limited by IMPORT_MAX_FILE_MB
# (the import refuses a larger one with its reason); the rest of a request is small: no form of the
# product sends more than a few hundred fields (target decomposition, bulk pay actions of a page).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # bytes of non-file form data
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000  # fields of one request
DATA_UPLOAD_MAX_NUMBER_FILES = 100  # files of one upload ("drop several exports at once")

# Sales teams: a new hire's probation lasts this many calendar months from the hire date (the
# new-hire qualification rate counts those whose probation ended in a period; docs/sales-kpis.md).
PROBATION_MONTHS = env.int("PROBATION_MONTHS", default=3)

# The KPI selectors read day rollups a store's month of a table at a time, cached by the month's
# version (metrics.kpis.frames): in the cache above, compressed, and decoded in each
# process's memory up to this budget (MB per process, and a quarter more for buyer codes; a month of
# a store with 330,000 orders and 470,000 chats a year is about 5 MB, docs/deploy.md).
ROLLUP_MEMORY_MB = env.int("ROLLUP_MEMORY_MB", default=256)

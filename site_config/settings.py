"""Settings for the explainers site.

One module for every environment, switched by ``DJANGO_``-prefixed environment variables and
``DATABASE_URL``. With nothing set it runs in development mode on SQLite; with ``DJANGO_DEBUG``
off it refuses to start without a secret key.
"""

import os
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    # Development only: a fixed key is harmless when DEBUG is on and nothing is deployed.
    SECRET_KEY = "django-insecure-development-only-key"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The admin, with the editorial dashboard as its index page.
    "explainers.apps.EditorialAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.forms",
    "taggit",
    "reversion",
    "reversion_compare",
    # Drag and drop in the admin's ordering view (its page side only: explainers/admin_ordering.py).
    "adminsortable2",
    "axes",
    "csp",
    # Two-factor sign-in for the admin (explainers/two_factor.py): authenticator apps (TOTP)
    # and recovery codes (static tokens).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Background tasks (renditions): django-tasks, with its queue in the database.
    "django_tasks",
    "django_tasks_db",
    "explainers",
    # The content API (api/, django-ninja under /api/v1/); django-cors-headers answers
    # cross-origin callers when allowed below. ninja is not an app here (NINJA_DIR below).
    "corsheaders",
    "api",
]

MIDDLEWARE = [
    "explainers.middleware.RequestIdMiddleware",
    # Readers' requests resolve against the URLconf without the admin and the API
    # (PUBLIC_URLCONF below). Middleware must not reverse() before the view: that reads
    # ROOT_URLCONF and so loads them; ADMIN_URL and API_URL say where they are.
    "explainers.middleware.PublicURLconfMiddleware",
    # 400 for control characters, 413 for a body outside the admin, 405 for writes to
    # read-only pages: before anything reads the path, the query or the body.
    "explainers.middleware.RefuseHostileRequestsMiddleware",
    # CORS headers and preflight answers for /api/ only, from the origins listed below.
    "corsheaders.middleware.CorsMiddleware",
    # A reader's cached page is answered here, with the headers the stack below gave it when
    # it was rendered; nothing below runs for it.
    "explainers.cache.PageCacheMiddleware",
    # brotli or gzip for everything else that is text (pages the cache stores it encodes).
    "explainers.compression.CompressionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "explainers.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # ETag on every page, and 304 for a repeat visit that still has it.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): a second factor was given in this session.
    "django_otp.middleware.OTPMiddleware",
    # Admin pages wait for it from those who need it (Editors, superusers, anyone set up).
    "explainers.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out user is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in guessing (explainers/security.py). AXES_FAILURE_LIMIT failures lock:
# - an address, whatever usernames it tried ("ip_address"): one address guessing many
#   usernames, or one password across many accounts;
# - a username, whatever addresses tried it ("username"): a guess spread over many addresses;
#   except from an address that user signed in from (right password) in the last 90 days, so
#   an attacker's failures elsewhere never lock the real user out where they sign in. Their
#   own address's failures still count. (A plain list cannot say this: ["username"] locks the
#   user out everywhere, [["username", "ip_address"]] lets each new address guess again.)
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_AXES_FAILURE_LIMIT", "5"))
AXES_LOCKOUT_PARAMETERS = "explainers.security.lockout_parameters"
# 15 minutes, doubling with each lockout of the same address or username, at most 24 hours.
AXES_COOLOFF_TIME = "explainers.security.cool_off"
AXES_HANDLER = "explainers.security.SignInAttemptHandler"
# One failure-log row per failed sign-in, marked on the one that locked: the cool-off reads
# the lockouts back. Failures during a lockout are refused unchecked and not counted.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A right password clears that user's own failures from that address (and no one else's).
AXES_RESET_ON_SUCCESS = True
# The client's address: REMOTE_ADDR, or behind DJANGO_TRUSTED_PROXY_COUNT proxies (a load
# balancer is 1) the address the outermost of them saw, read from the right of
# X-Forwarded-For (the entries left of it are the client's to invent). Without a proxy, keep
# 0: with it set, anyone reaching the site directly could choose their address.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT > 0:
    # The header only: REMOTE_ADDR is then a proxy's, never a client's.
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR",)
    # django-ipware counts the proxies listed in the header: all but the nearest, which
    # connects to us (REMOTE_ADDR) and appends the address it saw.
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
    # At least that many proxies: a client's own invented entries do not void the header.
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
# The admin's sign-in page, linked from the end of a password reset (emailed link, Django's
# email settings below).
LOGIN_URL = "admin:login"
# Sign-in emails (password resets, two-factor set-up links) an hour, counted in the shared
# cache: at most this many to one address, and from one client address (as axes reads it).
# Past either, nothing is sent (a warning is logged) and the reset form answers as always.
SIGN_IN_EMAILS_PER_ADDRESS = env_int("DJANGO_SIGN_IN_EMAILS_PER_ADDRESS", 3)
SIGN_IN_EMAILS_PER_CLIENT = env_int("DJANGO_SIGN_IN_EMAILS_PER_CLIENT", 10)
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

ROOT_URLCONF = "site_config.urls"
# django-ninja's Swagger UI, its template and files (api/views.py), found in its package: as an
# installed app it would be imported by every process at start-up, API or not.
NINJA_DIR = Path(find_spec("ninja").origin).parent
# Readers' requests resolve and reverse against a URLconf without the admin and the API
# (explainers.middleware.PublicURLconfMiddleware): a process that serves only readers never
# imports the admin's modules, django-ninja or pydantic, about 20 MiB of each worker.
PUBLIC_URLCONF = "site_config.public_urls"
# Where the admin and the API are mounted (site_config/urls.py), for the code that must know
# it without loading them.
ADMIN_URL = "admin/"
API_URL = "api/v1/"

# Readers' pages are Jinja2 templates (jinja2/), compiled to Python code, which renders a
# page of cards at a fraction of what Django's engine spends; the admin, its widgets and the
# emails keep Django templates (templates/). Names do not overlap, so each template is found
# by whichever engine has it.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "explainers.jinja2.environment",
            "context_processors": ["explainers.site.site_context"],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # `site`: the site's name, description and publisher (explainers/site.py).
                "explainers.site.site_context",
            ],
        },
    },
]

# Form widgets render through the templates above, so ours live in templates/ too.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "site_config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file on this machine: keeping it open saves a connect and its set-up per request.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # Writers take the lock when their transaction starts, so a form's check for newer
    # saves and its own save cannot be split by another writer (PostgreSQL locks the row).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg's pool keeps connections open across requests (instead of CONN_MAX_AGE); with
    # CONN_HEALTH_CHECKS it checks each one it hands out, so a connection that died with a
    # database restart is replaced rather than used.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DJANGO_DB_POOL_MIN", 1),
        "max_size": env_int("DJANGO_DB_POOL_MAX", 4),
        # Seconds a request waits for a connection: short, so /readyz answers 503 in time.
        "timeout": env_int("DJANGO_DB_POOL_TIMEOUT", 5),
    }
    # No JIT compiling: the site's queries run in milliseconds, and PostgreSQL compiles one
    # whose estimate passes its threshold (a subquery per row is estimated so): the sitemap's
    # 1,114 categories took 120 ms of compiling for 2 ms of work.
    DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
    if env_bool("DJANGO_DB_PREPARED_STATEMENTS", True):
        # Parameters sent apart from the SQL, and a statement run five times on a connection
        # is prepared: PostgreSQL stops parsing and planning the same few page queries (40%
        # of its CPU on a category page). Django leaves this off for transaction-mode
        # poolers such as PgBouncer, which cannot keep prepared statements: set it to 0 there.
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# English only: no translation machinery on every value a template prints.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_DIR / "static"]
STATICFILES_FINDERS = [
    # Ours and ninja's, less the ReDoc copy ninja ships (api/staticfiles.py).
    "api.staticfiles.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]

# `manage.py loaddata explainers` finds fixtures/explainers.json.
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need collectstatic; development serves the sources as they are.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # Several web machines share uploads and renditions through S3-compatible storage.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "file_overwrite": False,
            "querystring_auth": False,
        },
    }
# Renditions come from the site itself, or redirect to the storage's own domain.
MEDIA_ORIGINS = [f"https://{domain}" for domain in env_list("AWS_S3_CUSTOM_DOMAIN", [])]
# Hashed static files never change under their name: browsers may keep them for a year.
WHITENOISE_MAX_AGE = 365 * 24 * 3600 if not DEBUG else 0
# Source maps (the API docs' Swagger UI ships 2 MB of them) are for developer tools, which
# rarely ask: kept whole rather than compressed at every collectstatic.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        # Bounded (each process has its own): when full, the least recently used third goes.
        "OPTIONS": {"MAX_ENTRIES": 500},
    }
}
# How long a CDN may keep a public page; our own cache is invalidated on every change.
PAGE_CACHE_SECONDS = env_int("DJANGO_CACHE_SECONDS", 300)
# How long each web process answers a page from its own copy of what the shared cache gave it,
# before asking again: how long a change may take to reach readers (explainers.cache).
PAGE_CACHE_LOCAL_SECONDS = env_int("DJANGO_CACHE_LOCAL_SECONDS", 1)
# Addresses on one page of a sitemap section (explainers/sitemaps.py). Google takes up to
# 50,000 (and 50 MB) a file, but a page costs about 23 µs an address to build (more under
# gunicorn): 200 keep each page near the cost of the whole 85-explainer site's, and crawlers
# fetch the index's 500 pages at 100,000 explainers as readily (each is cached on its own).
SITEMAP_SECTION_SIZE = 200
# The largest request body accepted outside the admin, whose uploads (hero images up to
# 10 MB) keep Django's own limits: public pages take none, so 64 KB is plenty.
PUBLIC_BODY_MAX_BYTES = env_int("DJANGO_PUBLIC_BODY_MAX_BYTES", 64 * 1024)

# The content API (api/). Anonymous callers get this many requests a minute per client address
# (as lockouts read it: DJANGO_TRUSTED_PROXY_COUNT), counted in the shared cache; past it, 429
# with Retry-After. Token-authenticated calls (imports) are not counted.
API_ANON_REQUESTS_PER_MINUTE = env_int("DJANGO_API_ANON_REQUESTS_PER_MINUTE", 120)
# Cross-origin callers (browser apps on other sites) of /api/ only, and only from these
# origins ("https://app.example.com,https://partner.example.org"): none by default.
CORS_ALLOWED_ORIGINS = env_list("DJANGO_CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/"
# Reads only: imports come from ops' scripts, never from another site's pages.
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]

# The site as pages, feeds, search engines and link previews name and describe it
# (explainers/site.py reads these), and its address for links in emails
# ("https://explainers.example.com").
SITE_NAME = os.environ.get("DJANGO_SITE_NAME", "AI Explainers")
SITE_DESCRIPTION = os.environ.get(
    "DJANGO_SITE_DESCRIPTION",
    "Explainers on how AI works: from LLM foundations to model architectures.",
)
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Who publishes it: the author of feeds and the publisher of articles' JSON-LD. The logo is
# a path among the static files (a square raster image, 512 × 512 here).
SITE_PUBLISHER_NAME = os.environ.get("DJANGO_SITE_PUBLISHER_NAME", SITE_NAME)
SITE_PUBLISHER_URL = os.environ.get("DJANGO_SITE_PUBLISHER_URL", SITE_URL).rstrip("/")
SITE_PUBLISHER_LOGO = os.environ.get("DJANGO_SITE_PUBLISHER_LOGO", "site/publisher-logo.png")
# Authenticator apps list the admin account under the site's name.
OTP_TOTP_ISSUER = SITE_NAME

# Editing: autosave of dirty forms, who else has a form open, how long scratch copies live.
AUTOSAVE_SECONDS = env_int("DJANGO_AUTOSAVE_SECONDS", 20)
PRESENCE_HEARTBEAT_SECONDS = env_int("DJANGO_PRESENCE_HEARTBEAT_SECONDS", 30)
PRESENCE_TIMEOUT_SECONDS = env_int("DJANGO_PRESENCE_TIMEOUT_SECONDS", 50)
SCRATCH_COPY_DAYS = 30

# Review notifications: printed to the console in development; SMTP in production.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "explainers@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Production: HTTPS everywhere, behind a proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
# Opt-in: both bind every subdomain (and, preloaded, every browser) to HTTPS for good.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
# check --deploy recommends both; leaving them off is a decision, taken above.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
# Signing in (or a password reset) leads to the editorial dashboard.
LOGIN_REDIRECT_URL = "admin:index"
# The health checks answer the load balancer over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # No inline script anywhere; JSON-LD blocks are data, not script.
        "script-src": [SELF],
        # The admin sets a few style attributes.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", *MEDIA_ORIGINS],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Background tasks (explainers/tasks.py): hero renditions are drawn when an image is saved,
# not when a reader asks. The queue lives in the database, so nothing more is needed than
# `manage.py db_worker` running beside the web processes (`make run` and docker-compose.yml
# start one). DJANGO_TASKS_BACKEND=immediate runs each task at once in the process that
# queues it (the tests do so through tests/conftest.py).
TASKS_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASKS = {"default": {"BACKEND": TASKS_BACKENDS[os.environ.get("DJANGO_TASKS_BACKEND", "database")]}}

# Typing "mona bridge" in the admin reuses the existing "MONA Bridge" series, and series
# names are split on commas only, never on spaces.
TAGGIT_CASE_INSENSITIVE = True
TAGGIT_TAGS_FROM_STRING = "explainers.forms.series_from_string"
TAGGIT_STRING_FROM_TAGS = "explainers.forms.series_to_string"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "explainers.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # django-axes reports every sign-in at INFO; lock-outs still show as warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

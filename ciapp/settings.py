"""Settings for the CI service, read from the environment.

The defaults run the whole service on one machine with SQLite under
``var/``; ``DATABASE_URL`` moves it onto PostgreSQL. See ``docs/`` for the
full list.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import dj_database_url

from ciapp.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("CI_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The configured key, or one made once and kept in the data folder."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        return configured
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The address users reach the service at, used in the ``url`` the API returns.
# Empty means "the host the request came to".
PUBLIC_URL = env_str("PUBLIC_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "ciapp",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ciapp.security.ContentSecurityPolicy",
    "ciapp.security.DatabaseUnavailable",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Security headers. Behind a proxy that ends TLS, set SECURE_PROXY_SSL_HEADER
# so that Django knows a request came in over HTTPS.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'",
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

ROOT_URLCONF = "ciapp.urls"
WSGI_APPLICATION = "ciapp.wsgi.application"

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
            ],
        },
    },
]

_SQLITE_URL = f"sqlite:///{DATA_DIR / 'ci.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _SQLITE_URL) or _SQLITE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while one writer writes; IMMEDIATE transactions
    # take the write lock up front, so two writers queue for the busy timeout
    # instead of failing with "database is locked" on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
# Lets two test runs share one database server without clobbering each other.
if env_str("TEST_DATABASE_NAME", ""):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic fills it; WhiteNoise wants it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Work is queued in the database. Besides "default", each worker host has a
# queue of its own ("host-<name>") for work that needs files on its disk.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": [],
    }
}

# Running runners.
CI_HOST_NAME = env_str("CI_HOST_NAME", socket.gethostname())
CI_WORK_DIR = Path(env_str("CI_WORK_DIR", str(DATA_DIR / "work"))).resolve()
CI_CACHE_DIR = Path(env_str("CI_CACHE_DIR", str(DATA_DIR / "cache"))).resolve()
# How often an idle worker looks for work, in seconds.
CI_WORKER_POLL_SECONDS = float(env_str("CI_WORKER_POLL_SECONDS", "0.2"))
# A worker renews its lease on what it runs every third of this; a runner
# whose lease ran out is ended as ERROR.
CI_LEASE_SECONDS = env_int("CI_LEASE_SECONDS", 30, minimum=3)
CI_STEP_TIMEOUT_SECONDS = env_int("CI_STEP_TIMEOUT_SECONDS", 3600, minimum=1)
CI_RUNNER_TIMEOUT_SECONDS = env_int("CI_RUNNER_TIMEOUT_SECONDS", 4 * 3600, minimum=1)
CI_STEP_LOG_MAX_BYTES = env_int("CI_STEP_LOG_MAX_BYTES", 1024 * 1024, minimum=1024)
# How long a finished runner's files are kept for runners that start from it.
CI_KEEP_WORK_HOURS = env_int("CI_KEEP_WORK_HOURS", 24, minimum=0)

# Where the service keeps its mirrors of repositories' git sources.
GIT_MIRROR_DIR = Path(env_str("CI_GIT_MIRROR_DIR", str(DATA_DIR / "git"))).resolve()
# How long one git command may take before it is given up.
GIT_TIMEOUT_SECONDS = env_int("CI_GIT_TIMEOUT_SECONDS", 300, minimum=1)

# The cache keeps the API's rate-limit counters. The default keeps them in
# each web process's memory; with several processes or hosts, point
# CI_CACHE_URL at Redis (redis://host:6379/0) so that they share one count.
_CACHE_URL = env_str("CI_CACHE_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
        }
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Calls one API token may make per minute; 0 turns the limit off.
CI_API_RATE_LIMIT = env_int("CI_API_RATE_LIMIT", 600)

# Limits on what the API accepts.
API_MAX_BODY_BYTES = env_int("CI_API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
API_MAX_EXTRA_BYTES = env_int("CI_API_MAX_EXTRA_BYTES", 16 * 1024, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_tokens": {"()": "ciapp.logfilters.MaskTokens"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

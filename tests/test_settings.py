"""Settings come from the environment; production refuses to start without a secret."""

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def run_check(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def test_production_without_a_secret_key_refuses_to_start():
    result = run_check(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.org")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off." in result.stderr


def test_production_with_a_secret_key_starts():
    result = run_check(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="example.org"
    )

    assert result.returncode == 0, result.stderr


def test_with_nothing_set_it_runs_in_development_mode_on_sqlite():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='site_config.settings';"
            "from django.conf import settings as s;"
            "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'])",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )

    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        str(PROJECT / "db.sqlite3"),
    ]


def run_with_settings(env, code):
    """Run ``code`` after django.setup() with only ``env`` set; return what it printed."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'site_config.settings';"
            f"django.setup()\n{code}",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


STORAGE_CLASS = (
    "from django.core.files.storage import storages; print(type(storages['default']).__name__)"
)
CACHE_SETTING = "from django.conf import settings; print(settings.CACHES['default'])"


def test_media_goes_to_s3_compatible_storage_when_a_bucket_is_configured():
    bucket = {
        "AWS_STORAGE_BUCKET_NAME": "explainers-media",
        "AWS_S3_ENDPOINT_URL": "https://s3.test",
    }

    assert run_with_settings(bucket, STORAGE_CLASS) == "S3Storage"
    assert run_with_settings({}, STORAGE_CLASS) == "FileSystemStorage"


def test_the_cache_is_redis_when_redis_url_is_set_and_local_memory_otherwise():
    redis = run_with_settings({"REDIS_URL": "redis://127.0.0.1:6379/3"}, CACHE_SETTING)
    local = run_with_settings({}, CACHE_SETTING)

    assert "RedisCache" in redis and "redis://127.0.0.1:6379/3" in redis
    assert "LocMemCache" in local


HSTS = (
    "from django.test import RequestFactory; from django.middleware.security import "
    "SecurityMiddleware as M; from django.http import HttpResponse;"
    "r = RequestFactory().get('/', secure=True);"
    "print(M(lambda q: HttpResponse())(r)['Strict-Transport-Security'])"
)
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k3y-" + "".join(chr(65 + n % 26) + str(n) for n in range(20)),
    "DJANGO_ALLOWED_HOSTS": "testserver",
}


def test_hsts_covers_subdomains_and_preload_only_when_asked():
    assert run_with_settings(PRODUCTION, HSTS) == "max-age=31536000"
    both = {**PRODUCTION, "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1", "DJANGO_HSTS_PRELOAD": "1"}
    assert run_with_settings(both, HSTS) == "max-age=31536000; includeSubDomains; preload"


def test_the_deploy_check_is_clean_in_production_either_way():
    for extra in ({}, {"DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1", "DJANGO_HSTS_PRELOAD": "1"}):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", **PRODUCTION, **extra},
            timeout=60,
        )
        assert result.returncode == 0, result.stderr + result.stdout

"""The test suite's settings: the project's own, less what only slows tests down.

pytest reads this module (pyproject.toml); everything else (runserver, gunicorn, the tests
that start those in a subprocess) uses site_config.settings.
"""

from .settings import *  # noqa: F403

# PBKDF2 at Django's 1,000,000 iterations costs about 0.3 s a password here, paid at every
# user made and every sign-in; the suite checks who may do what, not how hashes are made.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Background tasks (renditions) run as soon as they are queued, in the test's process,
# instead of waiting in the database for a worker.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# Each test sees a change at once (tests/test_page_cache_front.py turns the copy on).
PAGE_CACHE_LOCAL_SECONDS = 0

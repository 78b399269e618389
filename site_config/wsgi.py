import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")

django_application = get_wsgi_application()

# Readers' cached pages are answered in front of Django (explainers/cache.py); importable
# only once get_wsgi_application() has loaded the apps.
from explainers.cache import PageCacheApplication  # noqa: E402

application = PageCacheApplication(django_application)

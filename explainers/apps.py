from django.apps import AppConfig
from django.contrib import admin
from django.contrib.admin import apps as admin_apps
from django.contrib.admin import checks as admin_checks
from django.core import checks


class ExplainersConfig(AppConfig):
    default = True
    name = "explainers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)


class EditorialAdminConfig(admin_apps.SimpleAdminConfig):
    """Django's admin, whose index page is the editorial dashboard.

    Its modules (every app's admin.py, and the libraries they use) are discovered with the
    admin's addresses (site_config/urls.py), not at start-up: the processes that serve
    readers resolve against a URLconf without them and never load them.
    """

    default = False  # named in INSTALLED_APPS in the admin's place
    default_site = "explainers.dashboard.EditorialAdminSite"

    def ready(self):
        checks.register(admin_checks.check_dependencies, checks.Tags.admin)
        checks.register(check_discovered_admin, checks.Tags.admin)


def check_discovered_admin(app_configs, **kwargs):
    """The admin's own checks, of every app's admin.py: discovered first, since a check may run
    before anything has loaded the admin's addresses."""
    admin.autodiscover()
    return admin_checks.check_admin_app(app_configs, **kwargs)

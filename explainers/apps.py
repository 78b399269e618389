from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ExplainersConfig(AppConfig):
    default = True
    name = "explainers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)


class EditorialAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose index page is the editorial dashboard."""

    default = False  # named in INSTALLED_APPS in the admin's place
    default_site = "explainers.dashboard.EditorialAdminSite"

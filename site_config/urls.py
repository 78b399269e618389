"""The whole site's URLconf (ROOT_URLCONF): the admin, its sign-in pages and the API, before
the readers' addresses (site_config/public_urls.py), which readers' requests resolve alone."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from api.views import api
from explainers import two_factor
from site_config import public_urls
from site_config.public_urls import handler500  # noqa: F401  (Django reads it here)

# The admin's modules are imported with its addresses, not when a process starts
# (explainers.apps.EditorialAdminConfig): processes that serve only readers never load them.
admin.autodiscover()

ADMIN = settings.ADMIN_URL

# Signing in to the admin: the second factor (explainers/two_factor.py), and a password reset
# by email (the admin's login page links to it once "admin_password_reset" exists), its
# emails limited like set-up links' (two_factor.LimitedPasswordResetForm). Before the admin's
# own addresses.
ADMIN_LOOK = {"site_header": admin.site.site_header, "site_title": admin.site.site_title}
SIGN_IN_URLS = [
    path(f"{ADMIN}two-factor/", two_factor.verify, name="two_factor_verify"),
    path(f"{ADMIN}two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    # The emailed link that opens the first set-up (its token never stays in the address bar).
    path(
        f"{ADMIN}two-factor/setup/<str:token>/",
        two_factor.setup_link,
        name="two_factor_setup_link",
    ),
    path(
        f"{ADMIN}two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        f"{ADMIN}password_reset/",
        auth_views.PasswordResetView.as_view(
            # At most a few emails an hour per address and per client; the same page either way.
            form_class=two_factor.LimitedPasswordResetForm,
            extra_context=ADMIN_LOOK,
            extra_email_context={"site_name": settings.SITE_NAME},
        ),
        name="admin_password_reset",
    ),
    path(
        f"{ADMIN}password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_done",
    ),
    path(
        f"{ADMIN}password_reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_confirm",
    ),
    path(
        f"{ADMIN}password_reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    *SIGN_IN_URLS,
    path(ADMIN, admin.site.urls),
    # The content API (api/views.py), before the readers' catch-all category paths.
    path(settings.API_URL, api.urls),
    *public_urls.urlpatterns,
]

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from api.views import api
from explainers import sitemaps, two_factor
from explainers.cache import cached_page
from explainers.middleware import safe_methods_only
from explainers.views import healthz, readyz, robots_txt

# Signing in to the admin: the second factor (explainers/two_factor.py), and a password reset
# by email (the admin's login page links to it once "admin_password_reset" exists), its
# emails limited like set-up links' (two_factor.LimitedPasswordResetForm). Before the admin's
# own addresses.
ADMIN_LOOK = {"site_header": admin.site.site_header, "site_title": admin.site.site_title}
SIGN_IN_URLS = [
    path("admin/two-factor/", two_factor.verify, name="two_factor_verify"),
    path("admin/two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    # The emailed link that opens the first set-up (its token never stays in the address bar).
    path(
        "admin/two-factor/setup/<str:token>/",
        two_factor.setup_link,
        name="two_factor_setup_link",
    ),
    path(
        "admin/two-factor/recovery-codes/",
        two_factor.recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "admin/password_reset/",
        auth_views.PasswordResetView.as_view(
            # At most a few emails an hour per address and per client; the same page either way.
            form_class=two_factor.LimitedPasswordResetForm,
            extra_context=ADMIN_LOOK,
            extra_email_context={"site_name": settings.SITE_NAME},
        ),
        name="admin_password_reset",
    ),
    path(
        "admin/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_done",
    ),
    path(
        "admin/password_reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_confirm",
    ),
    path(
        "admin/password_reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(extra_context=ADMIN_LOOK),
        name="password_reset_complete",
    ),
]

# Read-only addresses: anything but GET and HEAD is a 405 before the view runs.
# /sitemap.xml, an index of its sections' pages (explainers/sitemaps.py), cached like the
# pages they list; before the readers' catch-all patterns (no trailing slash: none clashes).
SITEMAP_URLS = [
    path("sitemap.xml", cached_page(sitemaps.index), name="sitemap"),
    re_path(
        r"^sitemap-(?P<section>[a-z]+)\.xml\Z",
        cached_page(sitemaps.section_page),
        name="sitemap-section",
    ),
    re_path(
        r"^sitemap-(?P<section>[a-z]+)-(?P<page>[1-9][0-9]*)\.xml\Z",
        cached_page(sitemaps.section_page),
        name="sitemap-section-page",
    ),
]

urlpatterns = [
    path("healthz", safe_methods_only(healthz), name="healthz"),
    path("readyz", safe_methods_only(readyz), name="readyz"),
    *SIGN_IN_URLS,
    path("admin/", admin.site.urls),
    path("robots.txt", safe_methods_only(robots_txt), name="robots"),
    *SITEMAP_URLS,
    # The content API (api/views.py), before the readers' catch-all category paths.
    path("api/v1/", api.urls),
    path("", include("explainers.urls")),
]

# The 500 page names the site like every other page (views.server_error).
handler500 = "explainers.views.server_error"

if settings.DEBUG:
    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns

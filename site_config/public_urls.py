"""The readers' URLconf: every public address, without the admin and the API.

Readers' requests resolve and reverse against it (explainers.middleware.
PublicURLconfMiddleware), so a process that only serves them never loads the admin's modules
or django-ninja. site_config/urls.py, the ROOT_URLCONF, holds these addresses too.
"""

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path, re_path

from explainers import sitemaps
from explainers.cache import cached_page
from explainers.middleware import safe_methods_only
from explainers.views import healthz, readyz, robots_txt

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
    path("robots.txt", safe_methods_only(robots_txt), name="robots"),
    *SITEMAP_URLS,
    path("", include("explainers.urls")),
]

# The 500 page names the site like every other page (views.server_error).
handler500 = "explainers.views.server_error"

if settings.DEBUG:
    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns

"""The sitemap: an index at ``/sitemap.xml`` (robots.txt names it) of four sections, each in
pages of at most ``settings.SITEMAP_SECTION_SIZE`` addresses (200).

Page 1 of a section is ``/sitemap-<section>.xml``, page N ``/sitemap-<section>-N.xml``: the
page is in the path, so the page cache (cache.py, keyed by path and ``?page=`` alone) keeps
each page apart, and every page goes stale with the content version like any other page. A
page past the end, ``-1`` (page 1 has the plain address) and an unknown section are 404s.

Sections are built from ``values()`` rows, ordered by a unique key (explainers by pk,
categories by path, series by slug) and sliced by Django's sitemap paginator (LIMIT/OFFSET;
for explainers, a deep page's ids first, and the number of them from the sections' kept
counts): a page is at most two queries whatever its size, and no model instance is built.
The index gives each section its latest change from an aggregate, never by reading the
section's rows.
"""

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.contrib.sitemaps.views import SitemapIndexItem, x_robots_tag
from django.contrib.sites.shortcuts import get_current_site
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import http_date

from .models import SHOWN_CHANGE, Category, Explainer, Series, SeriesItem
from .pagination import ListingPaginator

# Django's sitemap.xml in Jinja2, less what this site never uses (jinja2/sitemaps/sitemap.xml),
# and its sitemap_index.xml.
SECTION_TEMPLATE = "sitemaps/sitemap.xml"
INDEX_TEMPLATE = "sitemaps/sitemap_index.xml"


class LastChanges:
    """When readers last saw a change, each figure read once: the index asks for the same
    one for several sections."""

    @cached_property
    def published(self):
        return Explainer.objects.published().last_change()

    @cached_property
    def in_a_series(self):
        in_a_series = Exists(SeriesItem.objects.filter(content_object=OuterRef("pk")))
        members = Explainer.objects.published().filter(in_a_series)
        # Each time from its index, newest first, down to the first explainer in a series:
        # an aggregate over the EXISTS would join every explainer to the series first.
        latest_edit = members.order_by("-updated_at").values_list("updated_at", flat=True)
        latest_publication = members.order_by("-published_at").values_list(
            "published_at", flat=True
        )
        return max(filter(None, [latest_edit.first(), latest_publication.first()]), default=None)


def shown_changes(queryset, *fields) -> list[dict]:
    """``fields`` of these categories or series (annotated with_due_since()) as rows, each
    with ``last_change``: the kept one, or the publication come since, the later."""
    rows = list(queryset.values(*fields, "last_change", "due_since"))
    for row in rows:
        row["last_change"] = max(
            filter(None, [row["last_change"], row.pop("due_since")]), default=None
        )
    return rows


class RowSitemap(Sitemap):
    """A section whose items are ``values()`` rows carrying their ``last_change``."""

    def __init__(self, changes: LastChanges | None = None):
        self.changes = changes or LastChanges()

    @property
    def limit(self):
        return settings.SITEMAP_SECTION_SIZE

    def lastmod(self, row):
        return row["last_change"]

    def page_count(self) -> int:
        """How many pages the section has (the index lists them)."""
        return self.paginator.num_pages


class HomeSitemap(RowSitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return [{"name": "explainers:home"}]

    def location(self, row):
        return reverse(row["name"])

    def lastmod(self, row):
        # The home page lists the latest explainers and every category's count.
        return self.changes.published

    def get_latest_lastmod(self):
        return self.changes.published


class ExplainerSitemap(RowSitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return (
            Explainer.objects.published()
            .order_by("pk")
            .values("slug", "category__path", last_change=SHOWN_CHANGE)
        )

    @cached_property
    def paginator(self):
        # Every explainer is in a section: their kept totals say how many there are, and the
        # rows a deep page skips are read by id alone (ListingPaginator).
        sections = Category.objects.filter(parent=None).with_published_counts()
        total = sum(sections.values_list("published_count", flat=True))
        return ListingPaginator(self.items(), self.limit, count=total)

    def location(self, row):
        return reverse(
            "explainers:detail",
            kwargs={"category_path": row["category__path"], "slug": row["slug"]},
        )

    def get_latest_lastmod(self):
        return self.changes.published


class CategorySitemap(RowSitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        """Every category in path order, with the latest change to a published explainer in
        it or under it (a section's page lists its categories'): kept on the row
        (services.counts), with the scheduled ones published since."""
        return shown_changes(Category.objects.order_by("path").with_due_since(), "path")

    def location(self, row):
        return reverse("explainers:category", kwargs={"category_path": row["path"]})

    def page_count(self) -> int:
        # Without the latest changes, which the index does not show per category.
        return Paginator(Category.objects.order_by("path"), self.limit).num_pages

    def get_latest_lastmod(self):
        # Every explainer is in a category: the latest change to any of them.
        return self.changes.published


class SeriesSitemap(RowSitemap):
    """Series readers have something to read in: the only ones with a page."""

    changefreq = "weekly"
    priority = 0.5

    def items(self):
        series = Series.objects.with_published_explainers().with_due_since().order_by("slug")
        return shown_changes(series, "slug")

    def location(self, row):
        return reverse("explainers:series", kwargs={"slug": row["slug"]})

    def get_latest_lastmod(self):
        return self.changes.in_a_series


SITEMAPS = {
    "home": HomeSitemap,
    "categories": CategorySitemap,
    "series": SeriesSitemap,
    "explainers": ExplainerSitemap,
}


def section_url(section: str, number: int = 1) -> str:
    if number == 1:
        return reverse("sitemap-section", kwargs={"section": section})
    return reverse("sitemap-section-page", kwargs={"section": section, "page": str(number)})


@x_robots_tag
def index(request):
    """Every page of every section, with the section's latest change.

    django.contrib.sitemaps.views.index does this with ``?p=N`` addresses, which the page
    cache would not tell apart; this one gives the pages the addresses ``section_page``
    answers, with the same template.
    """
    base = f"{request.scheme}://{get_current_site(request).domain}"
    entries, lastmods, changes = [], [], LastChanges()
    for section, sitemap_class in SITEMAPS.items():
        sitemap = sitemap_class(changes)
        lastmod = sitemap.get_latest_lastmod()
        lastmods.append(lastmod)
        for number in range(1, sitemap.page_count() + 1):
            entries.append(SitemapIndexItem(base + section_url(section, number), lastmod))
    headers = None
    if lastmods and None not in lastmods:
        headers = {"Last-Modified": http_date(max(lastmods).timestamp())}
    return TemplateResponse(
        request,
        INDEX_TEMPLATE,
        {"sitemaps": entries},
        content_type="application/xml",
        headers=headers,
    )


def section_page(request, section, page=None):
    """A page of a section (``page`` from the path, none for page 1): Django's sitemap view."""
    if page == "1":
        raise Http404("Page 1 of a section has the address without a number")
    # The sitemap view reads its page from ``?p=`` (cached_page has dropped every parameter).
    request.GET = QueryDict(f"p={page or 1}")
    return sitemap_views.sitemap(request, SITEMAPS, section=section, template_name=SECTION_TEMPLATE)

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Category, Explainer, Series


class HomeSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["explainers:home"]

    def location(self, url_name):
        return reverse(url_name)

    def lastmod(self, url_name):
        # The home page lists the latest explainers and every category's count.
        return Explainer.objects.published().last_change()


class ExplainerSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Explainer.objects.published().select_related("category").order_by("pk")

    def lastmod(self, explainer):
        return explainer.last_modified


class CategorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return Category.objects.with_last_change().order_by("path")

    def lastmod(self, category):
        return category.last_change


class SeriesSitemap(Sitemap):
    """Series readers have something to read in: the only ones with a page."""

    changefreq = "weekly"
    priority = 0.5

    def items(self):
        return Series.objects.with_published_explainers().with_last_change().order_by("slug")

    def lastmod(self, series):
        return series.last_change


SITEMAPS = {
    "home": HomeSitemap,
    "categories": CategorySitemap,
    "series": SeriesSitemap,
    "explainers": ExplainerSitemap,
}

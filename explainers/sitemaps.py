from django.contrib.sitemaps import Sitemap

from .models import Category, Explainer


class ExplainerSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return Explainer.objects.published().select_related("category").order_by("pk")

    def lastmod(self, explainer):
        return explainer.updated_at


class CategorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self):
        return Category.objects.with_last_change().order_by("path")

    def lastmod(self, category):
        return category.last_change


SITEMAPS = {"categories": CategorySitemap, "explainers": ExplainerSitemap}

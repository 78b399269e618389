"""RSS and Atom feeds: the whole site, each category (with its subcategories) and each series."""

from django.contrib.syndication.views import Feed
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed
from django.utils.html import escape

from .models import Category, Explainer, Series
from .site import site_details

FEED_SIZE = 30
DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"


class RssWithCreator(Rss201rev2Feed):
    """RSS 2.0 names a channel's people by email only (managingEditor): the publisher's name
    goes in Dublin Core's creator instead, as Django does for each item without an email."""

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:dc": DUBLIN_CORE}

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.feed["author_name"]:
            handler.addQuickElement("dc:creator", self.feed["author_name"])


class ExplainerFeed(Feed):
    """The latest published explainers, newest first, with the hero as an enclosure."""

    feed_type = RssWithCreator

    def title(self):
        return site_details().name

    def description(self, obj=None):
        return site_details().description

    def author_name(self):
        return site_details().publisher_name

    def item_author_name(self, item):
        # Explainers carry no byline: the publisher signs them (Atom requires an author).
        return site_details().publisher_name

    def get_feed(self, obj, request):
        feed = super().get_feed(obj, request)
        # Item links are made absolute by Django; enclosures are ours to finish.
        for item in feed.items:
            for enclosure in item["enclosures"]:
                enclosure.url = request.build_absolute_uri(enclosure.url)
        return feed

    def link(self):
        return reverse("explainers:home")

    def items(self, obj=None):
        explainers = self.explainers(obj).select_related("category", "hero").with_series()
        # The order of the home page's latest and of a series: the one the latest-published
        # index holds, so that ties (an import publishes thousands at one time) are not sorted.
        return explainers.order_by("-published_at", "pk")[:FEED_SIZE]

    def explainers(self, obj):
        return Explainer.objects.published()

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        # Feed readers read descriptions as HTML: the excerpt is text, so it goes escaped.
        return escape(item.excerpt)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.last_modified

    def item_categories(self, item):
        return [item.category.name, *(series.name for series in item.series_list)]

    def item_enclosures(self, item):
        if item.hero is None:
            return []
        # The 1200 px rendition once made; until then the original (nothing drawn here).
        image = item.hero.shown_image(1200)
        try:
            length = default_storage.size(image.name)
        except FileNotFoundError:
            return []
        return [Enclosure(image.url, str(length), image.mime_type)]


class CategoryFeed(ExplainerFeed):
    def get_object(self, request, category_path):
        return get_object_or_404(Category, path=category_path)

    def title(self, category):
        return f"{category.name} · {site_details().name}"

    def description(self, category):
        return category.description or f"New explainers in {category.name}."

    def link(self, category):
        return category.get_absolute_url()

    def explainers(self, category):
        # The categories' ids as values, not a subquery: PostgreSQL cannot tell how many a
        # path pattern matches, planned a section of 20,000 explainers as a few dozen and
        # sorted them all (45 ms at 100,000); given the ids, it reads the latest-published
        # index until it has the feed's (1.5 ms).
        in_tree = list(category.descendants_and_self().values_list("pk", flat=True))
        return super().explainers(category).filter(category__in=in_tree)


class SeriesFeed(ExplainerFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Series.objects.with_published_explainers(), slug=slug)

    def title(self, series):
        return f"{series.name} · {site_details().name}"

    def description(self, series):
        return f"New explainers in the {series.name} series."

    def link(self, series):
        return series.get_absolute_url()

    def explainers(self, series):
        return super().explainers(series).filter(series=series)


class AtomFeedMixin:
    feed_type = Atom1Feed

    def subtitle(self, obj=None):
        return self.description(obj)


class ExplainerAtomFeed(AtomFeedMixin, ExplainerFeed):
    pass


class CategoryAtomFeed(AtomFeedMixin, CategoryFeed):
    pass


class SeriesAtomFeed(AtomFeedMixin, SeriesFeed):
    pass

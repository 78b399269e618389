from django.urls import path

from . import feeds, views
from .cache import cached_page
from .middleware import safe_methods_only

app_name = "explainers"

# Readers' pages and feeds are read-only: anything but GET and HEAD is a 405 before the view
# runs (cached_page includes safe_methods_only).
urlpatterns = [
    path("", cached_page(views.HomeView.as_view()), name="home"),
    path("search/", safe_methods_only(views.SearchView.as_view()), name="search"),
    path("search/suggest/", safe_methods_only(views.search_suggestions), name="search-suggestions"),
    path("feeds/rss.xml", safe_methods_only(feeds.ExplainerFeed()), name="feed-rss"),
    path("feeds/atom.xml", safe_methods_only(feeds.ExplainerAtomFeed()), name="feed-atom"),
    path(
        "feeds/series/<slug:slug>/rss.xml",
        safe_methods_only(feeds.SeriesFeed()),
        name="series-feed-rss",
    ),
    path(
        "feeds/series/<slug:slug>/atom.xml",
        safe_methods_only(feeds.SeriesAtomFeed()),
        name="series-feed-atom",
    ),
    path(
        "feeds/categories/<path:category_path>/rss.xml",
        safe_methods_only(feeds.CategoryFeed()),
        name="category-feed-rss",
    ),
    path(
        "feeds/categories/<path:category_path>/atom.xml",
        safe_methods_only(feeds.CategoryAtomFeed()),
        name="category-feed-atom",
    ),
    path("series/<slug:slug>/", cached_page(views.SeriesView.as_view()), name="series"),
    path(
        # /images/heroes/2026/12/photo.png/800.webp: the original, then the rendition, whose
        # extension is the format served.
        "images/<path:original>/<str:size>.<str:extension>",
        safe_methods_only(views.hero_rendition),
        name="rendition",
    ),
    # "/ai-principles/llm-foundations/" is both a category path and, in shape, an explainer
    # under "/ai-principles/"; one view tells them apart (categories first).
    path(
        "<path:category_path>/<slug:slug>/",
        cached_page(views.category_or_explainer),
        name="detail",
    ),
    path("<path:category_path>/", cached_page(views.category_or_explainer), name="category"),
]

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import loader
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.generic import DetailView, ListView, TemplateView

from .cache import content_version
from .images import ORIGINAL_SIZE, ORIGINAL_TYPES, RENDITION_FORMATS, stored_image_name
from .markup import render_markdown
from .models import Category, Explainer, HeroImage, Series, SeriesItem
from .pagination import ListingPaginator
from .search import MAX_SUGGEST_LENGTH, UnsearchableQuery, search, suggestions
from .services.cards import listing_cards
from .site import site_details
from .structured_data import article, breadcrumb_list, collection_page, website
from .two_factor import passed_two_factor

CARDS_PER_PAGE = 30
# Seconds a browser (and our cache) keeps the search box's suggestions for a text.
SUGGESTIONS_MAX_AGE = 300
LATEST_ON_HOME = 6
RELATED_COUNT = 3
# The deepest category a URL may name (the site's go two deep today): deeper is a 404
# before any query, not thousands of prefixes for the database to look up.
MAX_CATEGORY_DEPTH = 8


def can_preview(user) -> bool:
    """Signed-in staff who may view explainers also see drafts and scheduled ones (after the
    second factor, for those who need one: a password alone shows nothing unpublished)."""
    return (
        user.is_authenticated
        and user.is_staff
        and user.has_perm("explainers.view_explainer")
        and passed_two_factor(user)
    )


class PageMetaMixin:
    """Title, description, canonical URL, sharing tags and JSON-LD (includes/meta.html)."""

    def page_meta(self, context) -> dict:
        """Override: ``title`` (the site's name follows it), ``description``, and optionally
        ``image`` (a SharingImage: an explainer's hero, or a card's; the site's default
        image without one), ``type`` ("website" or "article") and ``structured_data`` (a
        list of dicts)."""
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        site = site_details()
        meta = {"description": site.description, "type": "website"}
        meta.update(self.page_meta(context))
        meta["title"] = f"{meta['title']} · {site.name}" if "title" in meta else site.name
        page = context.get("page_obj")
        # Page 1 has one address: no "?page=1" twin.
        canonical = self.request.path
        if page is not None and page.number > 1:
            canonical += f"?page={page.number}"
        meta["canonical"] = self.request.build_absolute_uri(canonical)
        image = meta.pop("image", None) or site.default_sharing_image
        meta["image_url"] = self.request.build_absolute_uri(image.url)
        meta["image_width"], meta["image_height"] = image.width, image.height
        meta["image_alt"] = image.alt_text
        if context.get("breadcrumbs"):
            meta.setdefault("structured_data", []).insert(
                0, breadcrumb_list(self.request, context["breadcrumbs"])
            )
        context["meta"] = meta
        return context


class HomeView(PageMetaMixin, TemplateView):
    template_name = "explainers/home.html"

    def get_context_data(self, **kwargs):
        # The sections and the categories right under them, each count taking in all below.
        categories = Category.objects.filter(
            Q(parent=None) | Q(parent__parent=None)
        ).with_published_counts()
        children = {}
        for category in categories:
            children.setdefault(category.parent_id, []).append(category)
        sections = [(section, children.get(section.pk, [])) for section in children.get(None, [])]
        latest = Explainer.objects.published().for_listing().order_by("-published_at", "pk")
        return super().get_context_data(
            sections=sections, latest=listing_cards(latest[:LATEST_ON_HOME]), **kwargs
        )

    def page_meta(self, context):
        return {
            "image": first_sharing_image(context["latest"]),
            "structured_data": [website(self.request)],
        }


class ListingMixin:
    """A ListView of cards: its page's rows carry their stored cards (services.cards)."""

    def paginate_queryset(self, queryset, page_size):
        paginator, page, rows, is_paginated = super().paginate_queryset(queryset, page_size)
        page.object_list = listing_cards(rows)
        return paginator, page, page.object_list, is_paginated


class CategoryView(PageMetaMixin, ListingMixin, ListView):
    """A category's published explainers in listing order, after its subcategories."""

    template_name = "explainers/category.html"
    context_object_name = "explainers"
    paginate_by = CARDS_PER_PAGE
    paginator_class = ListingPaginator

    def get_queryset(self):
        return (
            Explainer.objects.published()
            .filter(category=self.kwargs["chain"][-1])
            .for_listing()
            .order_by("position", "pk")
        )

    def get_paginator(self, queryset, per_page, **kwargs):
        # Its row may tell the listing's size: then the page's rows come without a COUNT.
        size = self.kwargs["chain"][-1].listing_size()
        return super().get_paginator(queryset, per_page, count=size, **kwargs)

    def get_context_data(self, **kwargs):
        *ancestors, category = self.kwargs["chain"]
        if category.knows_next_publication():
            # What the page shows changes by itself only when something scheduled in the
            # category or under it comes out: the page cache keeps it until then.
            kwargs["next_publication"] = category.next_publication
        return super().get_context_data(
            category=category,
            breadcrumbs=category.breadcrumbs(ancestors),
            subcategories=category.children.with_published_counts()
            if category.subcategory_count
            else [],
            **kwargs,
        )

    def page_meta(self, context):
        category, page = context["category"], context["page_obj"]
        title = category.name if page.number == 1 else f"{category.name} (page {page.number})"
        description = category.description or f"Explainers in {category.name}."
        listing = collection_page(
            self.request,
            name=category.name,
            description=description,
            page_obj=page,
            subcategories=context["subcategories"],
        )
        return {
            "title": title,
            "description": description,
            "image": first_sharing_image(page),
            "structured_data": [listing],
        }


class ExplainerDetailView(PageMetaMixin, DetailView):
    template_name = "explainers/explainer_detail.html"
    context_object_name = "explainer"

    def get(self, request, *args, **kwargs):
        try:
            self.object = self.get_object()
        except Http404:
            moved = self.get_queryset().filter(previous_slugs__slug=self.kwargs["slug"]).first()
            if moved is None:
                raise
            return redirect(moved, permanent=True)
        if self.object.category.path != self.kwargs["category_path"]:
            return redirect(self.object, permanent=True)
        response = self.render_to_response(self.get_context_data(object=self.object))
        if not self.object.is_published():
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    def get_queryset(self):
        explainers = Explainer.objects.all()
        if not can_preview(self.request.user):
            explainers = explainers.published()
        return explainers.select_related("category", "hero").with_series()

    def get_context_data(self, **kwargs):
        explainer = self.object
        visible = Explainer.objects.published()
        previous, following = explainer.neighbours(visible)
        series_ids = [series.pk for series in explainer.series_list]
        shown = {e.pk for e in (previous, following) if e is not None}
        related = visible.related_to(explainer, series_ids).exclude(pk__in=shown).for_listing()
        chain = self.kwargs.get("chain") or []
        breadcrumbs = explainer.category.breadcrumbs(chain[:-1] if chain else None)
        return super().get_context_data(
            breadcrumbs=[*breadcrumbs, (explainer.title, explainer.get_absolute_url())],
            preview=not explainer.is_published(),
            previous=previous,
            next=following,
            related=listing_cards(related[:RELATED_COUNT]),
            **kwargs,
        )

    def page_meta(self, context):
        explainer = context["explainer"]
        return {
            "title": explainer.title,
            "description": explainer.excerpt,
            "image": explainer.sharing_image(),
            "type": "article",
            "structured_data": [article(self.request, explainer)],
        }


class PendingPreviewView(ExplainerDetailView):
    """An explainer's page as it will be once its working copy (the pending version of a
    live explainer) is published. Staff only: the admin serves it (ExplainerAdmin)."""

    def get(self, request, *args, **kwargs):
        self.object = self.get_object().show_pending()
        if self.object.pending is not None:
            # The stored HTML is the published body's: render the pending one for this page
            # (staff only; the form that saved it held it to the body's length limit).
            self.object.body_html = render_markdown(self.object.body)
        names = self.object.working_series()
        self.object.series_items = [
            SeriesItem(tag=series) for series in Series.objects.filter(name__in=names)
        ]
        response = self.render_to_response(self.get_context_data(object=self.object))
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response

    def get_queryset(self):
        return Explainer.objects.select_related("category", "hero")

    def get_context_data(self, **kwargs):
        return super().get_context_data(pending_preview=self.object.pending is not None, **kwargs)


class SeriesView(PageMetaMixin, ListingMixin, ListView):
    template_name = "explainers/series.html"
    context_object_name = "explainers"
    paginate_by = CARDS_PER_PAGE
    paginator_class = ListingPaginator

    def get_queryset(self):
        self.series = get_object_or_404(
            Series.objects.with_published_counts(), slug=self.kwargs["slug"]
        )
        if not self.series.published_count:
            raise Http404("Readers have nothing to read in this series yet.")
        # Newest first, as its feed: the order an index serves whatever the series' size
        # (a series may hold half the site).
        return (
            Explainer.objects.published()
            .filter(series=self.series)
            .for_listing()
            .order_by("-published_at", "pk")
        )

    def get_paginator(self, queryset, per_page, **kwargs):
        # The series' count is kept on its row: no COUNT over half the site per page.
        return super().get_paginator(
            queryset, per_page, count=self.series.published_count, **kwargs
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            series=self.series,
            breadcrumbs=self.series.breadcrumbs(),
            **kwargs,
        )

    def page_meta(self, context):
        description = f"Every explainer in the {self.series.name} series."
        listing = collection_page(
            self.request,
            name=self.series.name,
            description=description,
            page_obj=context["page_obj"],
        )
        return {
            "title": self.series.name,
            "description": description,
            "image": first_sharing_image(context["page_obj"]),
            "structured_data": [listing],
        }


class SearchView(PageMetaMixin, ListView):
    """Published explainers matching ``?q=``, best first, with the matched words marked,
    counts by category and series that narrow them (``category=<path>``, ``series=<slug>``),
    and misspelled words corrected unless ``exact=1``."""

    template_name = "explainers/search.html"
    context_object_name = "explainers"
    paginate_by = CARDS_PER_PAGE
    FILTERS = ("category", "series")

    def get(self, request, *args, **kwargs):
        self.query = request.GET.get("q", "")
        self.filters = {name: request.GET.get(name, "").strip() for name in self.FILTERS}
        self.results, self.problem = None, None
        try:
            self.results = search(
                Explainer.objects.published().for_cards(),
                self.query,
                correct=request.GET.get("exact") != "1",
                **{name: value or None for name, value in self.filters.items()},
            )
        except UnsearchableQuery as problem:
            self.problem = str(problem)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return self.results if self.results is not None else Explainer.objects.none()

    def get_context_data(self, **kwargs):
        results = self.results
        return super().get_context_data(
            query=self.query,
            problem=self.problem,
            results=results,
            exact_url=self.search_url(q=self.query, exact="1", **self.filters),
            narrowed=any(self.filters.values()),
            everywhere_url=self.search_url(q=self.query),
            facets=[
                (title, name, self.facet_links(name, getattr(results, facet_field)))
                for title, name, facet_field in [
                    ("Categories", "category", "categories"),
                    ("Series", "series", "series"),
                ]
                if results is not None
            ],
            breadcrumbs=[("Home", reverse("explainers:home")), ("Search", self.request.path)],
            **kwargs,
        )

    def facet_links(self, name, facets):
        """(label, count, URL, chosen) for each facet value: a link that narrows the results
        to it, or, for the one chosen, back to all of them."""
        chosen = self.filters[name]
        links = []
        for facet in facets:
            narrowed = {**self.filters, name: "" if facet.key == chosen else facet.key}
            url = self.search_url(q=self.query, **narrowed)
            links.append((facet.name, facet.count, url, facet.key == chosen))
        return links

    def search_url(self, **parameters) -> str:
        kept = {name: value for name, value in parameters.items() if value}
        return f"{self.request.path}?{urlencode(kept)}"

    def page_meta(self, context):
        return {
            "title": "Search",
            # Its cards are rendered live, their heroes loaded (no stored card shows hits).
            "image": next(filter(None, (e.sharing_image() for e in context["explainers"])), None),
            "noindex": True,
        }


def search_suggestions(request):
    """Completions of the search box's text as JSON, for its suggestions as one types: from
    the vocabulary of published explainers, cached until the content changes."""
    text = request.GET.get("q", "")
    if len(text) > MAX_SUGGEST_LENGTH:
        return JsonResponse(
            {"error": f"q: at most {MAX_SUGGEST_LENGTH} characters, not {len(text)}."}, status=400
        )
    digest = hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()
    key = f"explainers:suggest:{content_version()}:{digest}"
    found = cache.get(key)
    if found is None:
        found = suggestions(text)
        cache.set(key, found, SUGGESTIONS_MAX_AGE)
    response = JsonResponse({"q": text, "suggestions": found})
    patch_cache_control(response, public=True, max_age=SUGGESTIONS_MAX_AGE)
    return response


def first_sharing_image(cards):
    """A listing's sharing image: that of its first card with a hero (None if none has);
    ``cards`` as ``listing_cards`` gives them."""
    return next((card.listing_sharing_image for card in cards if card.listing_sharing_image), None)


def category_or_explainer(request, category_path, slug=None):
    """Serve a category page, or an explainer page when the last part is not a category."""
    full_path = f"{category_path}/{slug}" if slug else category_path
    # An explainer's address is its category's path and its slug: one part more.
    if full_path.count("/") + 1 > MAX_CATEGORY_DEPTH + (slug is not None):
        raise Http404("No such category.")
    chain = Category.objects.chain_to(full_path)
    if chain and chain[-1].path == full_path:
        return CategoryView.as_view()(request, chain=chain)
    if slug is None:
        raise Http404("No such category.")
    return ExplainerDetailView.as_view()(
        request, category_path=category_path, slug=slug, chain=chain
    )


def hero_rendition(request, size, extension, original):
    """A hero image as pages show it: a rendition, or the original itself (``original.png``),
    which pages show until the renditions are made.

    Only what is in storage is served; nothing is ever drawn here (the background task draws,
    services/renditions.py), so a rendition not made yet is a 404 like any unknown name. Only
    the declared spellings of originals that belong to a hero are answered; anything else is
    a 404 before storage is touched.
    """
    name = stored_image_name(original, size, extension)
    if name is None or not original.startswith("heroes/"):
        raise Http404("No such image.")
    # Readers get the heroes of what they can read; staff also those of drafts, of pending
    # versions and of the library.
    heroes = HeroImage.objects.filter(image=original)
    if not sees_every_hero(request.user):
        heroes = heroes.shown_to_readers()
    if not heroes.exists() or not default_storage.exists(name):
        raise Http404("No such image.")
    content_type = (
        ORIGINAL_TYPES[extension]
        if size == ORIGINAL_SIZE
        else RENDITION_FORMATS[extension].mime_type
    )
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    # Each name is drawn once: a replaced image has a new name, a new focal point a new key.
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    return response


def sees_every_hero(user) -> bool:
    """Staff who may preview drafts or look at the image library (after the second factor)."""
    return can_preview(user) or (
        user.is_authenticated
        and user.is_staff
        and user.has_perm("explainers.view_heroimage")
        and passed_two_factor(user)
    )


def server_error(request):
    """The 500 page in the site's layout. Like Django's own, it runs no context processor
    (one of them may be what failed), so the layout gets ``site`` here."""
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({"site": site_details()}))


def robots_txt(request):
    """Crawlers may read the site but not the admin; the sitemap lists every page."""
    lines = [
        "User-agent: *",
        f"Disallow: /{settings.ADMIN_URL}",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


def healthz(request):
    """The process answers (for the container's HEALTHCHECK and the load balancer)."""
    return HttpResponse("ok\n", content_type="text/plain")


def readyz(request):
    """The database and the cache answer too; 503 otherwise, so traffic goes elsewhere."""
    checks = {"database": _database_answers, "cache": _cache_answers}
    results = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "not ready", whatever raised it
            results[name] = f"unavailable: {type(error).__name__}"
    ready = all(result == "ok" for result in results.values())
    response = JsonResponse(results, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


def _database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_answers():
    cache.set("explainers:readyz", "ok", timeout=10)
    if cache.get("explainers:readyz") != "ok":
        raise RuntimeError("the cache did not keep a value")

"""The API's reads: which rows each answer shows (always what readers see, through
``Explainer.objects.published()`` and the querysets' own methods) and how a row becomes an
item. Items are built field by field from what one query (and one more for the series)
loaded, so an answer costs the same few queries whatever its length; ``fields=`` builds
only the fields asked for."""

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from explainers.images import SOCIAL_SIZE
from explainers.models import (
    CARD_FIELDS,
    SHOWN_CHANGE,
    Category,
    Explainer,
    Series,
    SeriesItem,
)
from explainers.search import SearchResults, search
from explainers.views import MAX_CATEGORY_DEPTH

from .pagination import Ordering, SortKey, page_of, place_in_ranking
from .schemas import CATEGORY_FIELDS, EXPLAINER_FIELDS, SEARCH_FIELDS, SERIES_FIELDS

API_NAMESPACE = "api-v1"
# What a list item reads of an explainer, its category and its hero: a card's columns and
# the few more the API shows (never the body).
ITEM_COLUMNS = [*CARD_FIELDS, "published_at", "updated_at", "position", "category__name",
                "hero__caption", "hero__credit"]  # fmt: skip
ORDERINGS = {
    # Explainer.Meta's order, each category's listing one after the other: the published
    # listing index (category, position, id) serves it.
    "listing": Ordering("listing", (SortKey("category_id"), SortKey("position"), SortKey("pk"))),
    # The latest-published index (published_at DESC, id), forwards and backwards.
    "-published_at": Ordering(
        "-published_at", (SortKey("published_at", True, "datetime"), SortKey("pk"))
    ),
    "published_at": Ordering(
        "published_at", (SortKey("published_at", False, "datetime"), SortKey("pk", True))
    ),
    "-updated_at": Ordering(
        "-updated_at", (SortKey("changed_at", True, "datetime"), SortKey("pk"))
    ),
    "updated_at": Ordering("updated_at", (SortKey("changed_at", False, "datetime"), SortKey("pk"))),
}
RFC_3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:(?P<second>\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


class NotFound(LookupError):
    """Nothing readers can see answers to this; the message names what was looked for."""


class BadParameter(ValueError):
    """A parameter the endpoint cannot use; the message starts with its name."""


class Links:
    """Absolute addresses for one request's answer (pages and API alike)."""

    def __init__(self, request):
        self.request = request
        self.base = f"{request.scheme}://{request.get_host()}"
        self.categories: dict[str, dict] = {}

    def absolute(self, path: str) -> str:
        return self.base + path

    def api(self, name: str, query: dict | None = None, **kwargs) -> str:
        address = self.absolute(reverse(f"{API_NAMESPACE}:{name}", kwargs=kwargs or None))
        return f"{address}?{urlencode(query)}" if query else address

    def next_page(self, cursor: str | None) -> str | None:
        """This address with ``cursor`` for the next page; None when there is none."""
        if cursor is None:
            return None
        query = self.request.GET.copy()
        query["cursor"] = cursor
        return f"{self.absolute(self.request.path)}?{query.urlencode()}"

    def category_ref(self, category: Category) -> dict:
        # Items of one category share it: built once an answer.
        if category.path not in self.categories:
            self.categories[category.path] = {
                "name": category.name,
                "path": category.path,
                "url": self.absolute(category.get_absolute_url()),
                "api_url": self.api("category", path=category.path),
            }
        return self.categories[category.path]

    def breadcrumbs(self, trail) -> list[dict]:
        return [{"label": label, "url": self.absolute(url)} for label, url in trail]


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def chosen_fields(fields: str | None, known) -> list[str]:
    """The item fields ``fields=`` names, in the schema's order; all of them without it."""
    if fields is None:
        return list(known)
    names = fields.split(",")
    for name in names:
        if name not in known:
            shown = name if len(name) <= 40 else f"{name[:40]}…"
            raise BadParameter(
                f"fields: no field “{shown}”; choose among {', '.join(known)}"
                if name
                else "fields: an empty name (two commas, or one at an end)"
            )
    return [name for name in known if name in names]


# Explainers


def explainers_for_api(*, columns=ITEM_COLUMNS, series: bool = True):
    """Published explainers with their category and hero, ``changed_at`` (when readers
    last saw them change) and, with ``series``, their series prefetched (one more query)."""
    explainers = (
        Explainer.objects.published()
        .select_related("category", "hero")
        .annotate(changed_at=SHOWN_CHANGE)
    )
    if columns is not None:
        explainers = explainers.only(*columns)
    return explainers.with_series() if series else explainers


def hero_data(hero, links: Links) -> dict | None:
    """A hero as pages show it: the original until its renditions are made, then every one
    of them (explainers.images decides which there are and their addresses)."""
    if hero is None:
        return None
    focal = hero.focal_point
    original = hero.original_image()
    renditions = hero.all_renditions() if hero.renditions_ready else ()
    return {
        "alt_text": hero.alt_text,
        "width": hero.width,
        "height": hero.height,
        "caption": hero.caption,
        "credit": hero.credit,
        "focal_point": None
        if focal is None
        else {"x": focal.x, "y": focal.y, "width": focal.width, "height": focal.height},
        "original": image_file(original, links),
        "renditions": [
            {
                **image_file(rendition, links),
                "crop": None
                if rendition.aspect is None
                else "link_preview"
                if rendition.size == SOCIAL_SIZE
                else "card",
            }
            for rendition in renditions
        ],
    }


def image_file(image, links: Links) -> dict:
    return {
        "url": links.absolute(image.url),
        "width": image.width,
        "height": image.height,
        "type": image.mime_type,
    }


EXPLAINER_FIELD_BUILDERS = {
    "slug": lambda explainer, links: explainer.slug,
    "title": lambda explainer, links: explainer.title,
    "excerpt": lambda explainer, links: explainer.excerpt,
    "reading_time": lambda explainer, links: explainer.reading_time,
    "url": lambda explainer, links: links.absolute(explainer.get_absolute_url()),
    "api_url": lambda explainer, links: links.api("explainer", slug=explainer.slug),
    "category": lambda explainer, links: links.category_ref(explainer.category),
    "series": lambda explainer, links: [
        {
            "name": series.name,
            "slug": series.slug,
            "url": links.absolute(series.get_absolute_url()),
            "api_url": links.api("series_detail", slug=series.slug),
        }
        for series in explainer.series_list
    ],
    "hero": lambda explainer, links: hero_data(explainer.hero, links),
    "published_at": lambda explainer, links: timestamp(explainer.published_at),
    "updated_at": lambda explainer, links: timestamp(explainer.changed_at),
}


def explainer_item(explainer, fields, links: Links) -> dict:
    return {name: EXPLAINER_FIELD_BUILDERS[name](explainer, links) for name in fields}


def explainers_filtered(filters, *, series: bool = True):
    """The published explainers ``filters`` (schemas.ExplainerFilters) choose, and their
    order; with ``series``, theirs prefetched. NotFound for a category or series readers
    have no page for."""
    explainers = explainers_for_api(series=series)
    if filters.category is not None:
        category = _category_at(filters.category)
        if filters.include_descendants:
            explainers = explainers.filter(
                category__in=category.descendants_and_self().values("pk")
            )
        else:
            explainers = explainers.filter(category_id=category.pk)
    if filters.series is not None:
        series = Series.objects.with_published_explainers().filter(slug=filters.series)
        series_id = series.values_list("pk", flat=True).first()
        if series_id is None:
            raise NotFound(f"No series “{filters.series}”.")
        explainers = explainers.filter(
            pk__in=SeriesItem.objects.filter(tag_id=series_id).values("content_object")
        )
    if filters.updated_since is not None:
        explainers = explainers.filter(changed_at__gte=moment_from(filters.updated_since))
    if filters.q is not None:
        # Exactly as typed: a filter never swaps the words for others.
        found = search(Explainer.objects.published(), filters.q, correct=False)
        explainers = explainers.filter(pk__in=found.ids)
    return explainers, ORDERINGS[filters.order]


def moment_from(spelled: str) -> datetime:
    """An RFC 3339 date and time, offset included (a leap second counts as :59)."""
    match = RFC_3339.fullmatch(spelled)
    if match is None:
        raise BadParameter(
            "updated_since: not a date and time with its offset, such as 2026-12-01T09:00:00Z"
        )
    if match["second"] == "60":
        spelled = spelled[: match.start("second")] + "59" + spelled[match.end("second") :]
    try:
        return datetime.fromisoformat(spelled.upper())
    except ValueError:
        raise BadParameter(f"updated_since: no such date or time: {spelled}") from None


def did_you_mean(results: SearchResults) -> str | None:
    """The query the results are for when words of the one asked found nothing and were
    corrected (the search page's "Showing results for …"); None otherwise."""
    return results.corrected


def explainer_page(filters, links: Links) -> dict:
    fields = chosen_fields(filters.fields, EXPLAINER_FIELDS)
    explainers, ordering = explainers_filtered(filters, series="series" in fields)
    rows, cursor = page_of(explainers, ordering, filters.cursor, filters.limit)
    return {
        "items": [explainer_item(explainer, fields, links) for explainer in rows],
        "next": links.next_page(cursor),
    }


def search_page(params, links: Links) -> dict:
    """The site's search (explainers.search.search(), which ranks its best matches): a page
    of them, best first, each with its highlighted passage."""
    fields = chosen_fields(params.fields, SEARCH_FIELDS)
    explainers = explainers_for_api(series="series" in fields)
    results = search(explainers, params.q, correct=not params.exact)
    start, cursor = place_in_ranking(results.ids, params.cursor, params.limit)
    items = []
    # Slicing the results loads those rows, each with its snippet.
    for explainer in results[start : start + params.limit]:
        item = explainer_item(explainer, [name for name in fields if name != "highlights"], links)
        if "highlights" in fields:
            item["highlights"] = [{"text": text, "hit": hit} for text, hit in explainer.snippet]
        items.append(item)
    return {
        "items": items,
        "next": links.next_page(cursor),
        "query": results.asked,
        "did_you_mean": did_you_mean(results),
    }


def explainer_detail(slug: str, links: Links) -> dict:
    """One published explainer, everything the page shows of it; NotFound otherwise. Moved
    ones (an old slug) are ``moved_explainer``'s."""
    explainer = explainers_for_api(columns=None).filter(slug=slug).first()
    if explainer is None:
        raise NotFound(f"No explainer “{slug}”.")
    data = explainer_item(explainer, EXPLAINER_FIELD_BUILDERS, links)
    category = explainer.category
    data["category"] = {
        **links.category_ref(category),
        "breadcrumbs": links.breadcrumbs(category.breadcrumbs()),
    }
    data["body"] = explainer.body
    data["body_html"] = explainer.body_html
    return data


def moved_explainer(slug: str) -> str | None:
    """The slug a published explainer has now, if ``slug`` was its address before."""
    moved = Explainer.objects.published().filter(previous_slugs__slug=slug)
    return moved.values_list("slug", flat=True).first()


# Categories


def _checked_path(path: str) -> str:
    """``path`` without its outer slashes; NotFound before any query if it is deeper than
    any category's address may be (as the category pages refuse it)."""
    path = path.strip("/")
    if not path or path.count("/") >= MAX_CATEGORY_DEPTH:
        raise NotFound(f"No category at “{path}”.")
    return path


def _category_at(path: str) -> Category:
    path = _checked_path(path)
    category = Category.objects.only("pk", "path").filter(path=path).first()
    if category is None:
        raise NotFound(f"No category at “{path}”.")
    return category


def category_tree() -> list[Category]:
    """Every category, sections first, each followed by its subcategories in their order,
    with ``published_count`` and ``trail`` (its ancestors from the top)."""
    categories = Category.objects.with_published_counts()
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    ordered = []

    def visit(parent_id, trail):
        for category in children.get(parent_id, []):
            category.trail = trail
            ordered.append(category)
            visit(category.pk, [*trail, category])

    visit(None, [])
    return ordered


CATEGORY_FIELD_BUILDERS = {
    "name": lambda category, links: category.name,
    "slug": lambda category, links: category.slug,
    "path": lambda category, links: category.path,
    "description": lambda category, links: category.description,
    "parent": lambda category, links: category.trail[-1].path if category.trail else None,
    "depth": lambda category, links: len(category.trail),
    "url": lambda category, links: links.absolute(category.get_absolute_url()),
    "api_url": lambda category, links: links.api("category", path=category.path),
    "explainers_url": lambda category, links: links.api(
        "explainers", query={"category": category.path}
    ),
    "breadcrumbs": lambda category, links: links.breadcrumbs(category.breadcrumbs(category.trail)),
    "published_count": lambda category, links: category.published_count,
}


def category_page(params, links: Links) -> dict:
    fields = chosen_fields(params.fields, CATEGORY_FIELDS)
    items = [
        {name: CATEGORY_FIELD_BUILDERS[name](category, links) for name in fields}
        for category in category_tree()
    ]
    return {"items": items, "next": None}


def category_detail(path: str, links: Links) -> dict:
    path = _checked_path(path)
    chain = Category.objects.chain_to(path)
    if not chain or chain[-1].path != path:
        raise NotFound(f"No category at “{path}”.")
    *trail, category = chain
    category.trail = trail
    counted = {
        row.pk: row
        for row in Category.objects.filter(Q(pk=category.pk) | Q(parent_id=category.pk))
        .with_published_counts()
        .order_by("position", "name")
    }
    category.published_count = counted.pop(category.pk).published_count
    data = {name: build(category, links) for name, build in CATEGORY_FIELD_BUILDERS.items()}
    data["subcategories"] = [
        {
            "name": child.name,
            "slug": child.slug,
            "path": child.path,
            "url": links.absolute(child.get_absolute_url()),
            "api_url": links.api("category", path=child.path),
            "published_count": child.published_count,
        }
        for child in counted.values()
    ]
    return data


# Series

SERIES_ORDERING = Ordering("name", (SortKey("name", kind="str"), SortKey("pk")))


def series_for_api():
    """Series readers have something to read in, with ``published_count``."""
    return Series.objects.with_published_explainers()


SERIES_FIELD_BUILDERS = {
    "name": lambda series, links: series.name,
    "slug": lambda series, links: series.slug,
    "url": lambda series, links: links.absolute(series.get_absolute_url()),
    "api_url": lambda series, links: links.api("series_detail", slug=series.slug),
    "explainers_url": lambda series, links: links.api("explainers", query={"series": series.slug}),
    "published_count": lambda series, links: series.published_count,
}


def series_page(params, links: Links) -> dict:
    fields = chosen_fields(params.fields, SERIES_FIELDS)
    rows, cursor = page_of(series_for_api(), SERIES_ORDERING, params.cursor, params.limit)
    return {
        "items": [
            {name: SERIES_FIELD_BUILDERS[name](series, links) for name in fields} for series in rows
        ],
        "next": links.next_page(cursor),
    }


def series_detail(slug: str, links: Links) -> dict:
    series = series_for_api().filter(slug=slug).first()
    if series is None:
        raise NotFound(f"No series “{slug}”.")
    return {name: build(series, links) for name, build in SERIES_FIELD_BUILDERS.items()}

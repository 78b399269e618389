"""What the API answers and takes, as pydantic schemas: the OpenAPI document is made from
these. Fields of list items are optional because ``fields=`` may leave any of them out; they
are never null unless marked so."""

from typing import Literal

from ninja import Field, Schema

from explainers.search import MAX_QUERY_LENGTH

DEFAULT_LIMIT = 30
MAX_LIMIT = 100
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
# Text parameters hold no control characters: the middleware in front of the API refuses
# them (a plain-text 400). Stated in the OpenAPI document, enforced there.
PRINTABLE = {"pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}


def field_list_pattern(names) -> str:
    """The ``fields=`` spelling, as the OpenAPI document states it: known names, by commas."""
    choice = "|".join(names)
    return f"^({choice})(,({choice}))*$"


class Error(Schema):
    detail: str = Field(description="What was wrong, naming the parameter or the field.")


class Breadcrumb(Schema):
    label: str
    url: str


class CategoryRef(Schema):
    name: str
    path: str
    url: str
    api_url: str


class CategoryInTrail(CategoryRef):
    breadcrumbs: list[Breadcrumb] = Field(description="From Home down to this category.")


class SeriesRef(Schema):
    name: str
    slug: str
    url: str
    api_url: str


class FocalPoint(Schema):
    """The subject of the image, as fractions of it (0 is the left or top edge): its centre,
    and the size of a box around it (0 when the editor clicked a point)."""

    x: float
    y: float
    width: float
    height: float


class ImageFile(Schema):
    url: str
    width: int
    height: int
    type: str = Field(description="Its media type: image/webp, image/jpeg, …")


class Rendition(ImageFile):
    crop: Literal["card", "link_preview"] | None = Field(
        description="null: the whole image, scaled; card: the 16:9 crop cards show; "
        "link_preview: the 1200 × 630 crop of link previews."
    )


class Hero(Schema):
    alt_text: str
    width: int
    height: int
    caption: str
    credit: str
    focal_point: FocalPoint | None = Field(description="null: the centre of the image.")
    original: ImageFile = Field(description="The uploaded file itself, without metadata.")
    renditions: list[Rendition] = Field(
        description="Every size and crop the site serves; empty until they are made (pages "
        "show the original until then)."
    )


class Highlight(Schema):
    text: str
    hit: bool = Field(description="A searched word (pages mark it).")


class ExplainerSummary(Schema):
    slug: str = None
    title: str = None
    excerpt: str = None
    reading_time: int = Field(None, description="Minutes.")
    url: str = Field(None, description="The explainer's page (canonical).")
    api_url: str = None
    category: CategoryRef = None
    series: list[SeriesRef] = None
    hero: Hero | None = None
    published_at: str = Field(None, json_schema_extra={"format": "date-time"})
    updated_at: str = Field(
        None,
        description="When readers last saw it change: never before its publication.",
        json_schema_extra={"format": "date-time"},
    )


class SearchHit(ExplainerSummary):
    highlights: list[Highlight] = Field(None, description="A passage, with the hits marked.")


class ExplainerDetail(Schema):
    slug: str
    title: str
    excerpt: str
    reading_time: int = Field(description="Minutes.")
    url: str = Field(description="The explainer's page (canonical).")
    api_url: str
    category: CategoryInTrail
    series: list[SeriesRef]
    hero: Hero | None
    published_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    body: str = Field(description="Markdown, as editors wrote it.")
    body_html: str = Field(description="The body as the page shows it: rendered, sanitized.")


class CategorySummary(Schema):
    name: str
    slug: str
    path: str
    url: str
    api_url: str
    published_count: int


class CategoryItem(Schema):
    name: str = None
    slug: str = None
    path: str = Field(None, description="Slugs from the top: ai-principles/llm-foundations.")
    description: str = None
    parent: str | None = Field(None, description="The parent's path; null for a section.")
    depth: int = Field(None, description="0 for a section, 1 under it, …")
    url: str = None
    api_url: str = None
    explainers_url: str = Field(None, description="Its explainers, in this API.")
    breadcrumbs: list[Breadcrumb] = None
    published_count: int = Field(
        None, description="Explainers readers can see in it and in all its subcategories."
    )


class CategoryDetail(Schema):
    name: str
    slug: str
    path: str
    description: str
    parent: str | None
    depth: int
    url: str
    api_url: str
    explainers_url: str
    breadcrumbs: list[Breadcrumb]
    published_count: int
    subcategories: list[CategorySummary]


class SeriesItem(Schema):
    name: str = None
    slug: str = None
    url: str = None
    api_url: str = None
    explainers_url: str = Field(None, description="Its explainers, in this API.")
    published_count: int = Field(None, description="Explainers readers can see in it.")


class SeriesDetail(Schema):
    name: str
    slug: str
    url: str
    api_url: str
    explainers_url: str
    published_count: int


class ExplainerPage(Schema):
    items: list[ExplainerSummary]
    next: str | None = Field(description="The next page's address; null on the last page.")


class CategoryPage(Schema):
    items: list[CategoryItem] = Field(
        description="The whole tree, sections first, each "
        "followed by its subcategories in their order."
    )
    next: str | None = Field(description="Always null: the tree comes in one answer.")


class SeriesPage(Schema):
    items: list[SeriesItem]
    next: str | None = Field(description="The next page's address; null on the last page.")


class SearchPage(Schema):
    items: list[SearchHit]
    next: str | None = Field(description="The next page's address; null on the last page.")
    query: str = Field(description="The query as searched (spaces tidied).")
    did_you_mean: str | None = Field(
        description="When no explainer had the words of `q` and unknown words were corrected "
        "to the nearest indexed ones: the corrected query, which these results are for "
        "(exact=true searches as typed). null otherwise."
    )


class ImportedUpdate(Schema):
    title: str
    changes: list[str] = Field(description="The fields that changed: title, excerpt, …")


class ImportReport(Schema):
    dry_run: bool = Field(description="True: nothing was written.")
    created: list[str] = Field(description="Titles of the explainers created.")
    updated: list[ImportedUpdate]
    unchanged: int
    created_count: int
    updated_count: int
    categories_created: list[str] = Field(description="Paths of the categories created.")
    categories_updated: list[str] = Field(description="Paths whose description changed.")
    summary: str = Field(description="As import_listings prints it.")


class ListingProblem(Schema):
    file: str
    line: int | None
    problem: str


class ImportProblem(Error):
    errors: list[ListingProblem] = Field(
        None, description="Where the listings are wrong (absent for a parameter's problem)."
    )


EXPLAINER_FIELDS = tuple(ExplainerSummary.model_fields)
SEARCH_FIELDS = tuple(SearchHit.model_fields)
CATEGORY_FIELDS = tuple(CategoryItem.model_fields)
SERIES_FIELDS = tuple(SeriesItem.model_fields)


def fields_parameter(names):
    """``fields=``: checked by the endpoint (an unknown name is a 400 naming it); the
    pattern is for the OpenAPI document."""
    return Field(
        None,
        description=f"The fields of each item, by commas (all without it): {', '.join(names)}.",
        json_schema_extra={"pattern": field_list_pattern(names)},
    )


class ListParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str = Field(
        None,
        min_length=1,
        description="Where a page starts: take it from `next` (signed; a made-up one is a 400).",
        json_schema_extra=PRINTABLE,
    )


ExplainerOrder = Literal["listing", "-published_at", "published_at", "-updated_at", "updated_at"]


class ExplainerFilters(ListParams):
    category: str = Field(
        None,
        min_length=1,
        max_length=1000,
        description="A category's path.",
        json_schema_extra=PRINTABLE,
    )
    include_descendants: bool = Field(False, description="With the category's subcategories'.")
    series: str = Field(
        None, min_length=1, max_length=100, pattern=SLUG_PATTERN, description="A series' slug."
    )
    q: str = Field(
        None,
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description="Words to search for, as the site's search takes them (never corrected).",
        json_schema_extra=PRINTABLE,
    )
    updated_since: str = Field(
        None,
        description="Only those readers saw change at or after this time (RFC 3339, with "
        "its offset: 2026-12-01T09:00:00Z).",
        json_schema_extra={"format": "date-time"},
    )
    order: ExplainerOrder = Field(
        "listing",
        description="listing: each category's own order (categories one after the other); "
        "-published_at: newest first; published_at: oldest first; -updated_at: latest "
        "change first; updated_at: earliest change first (for following changes).",
    )
    fields: str = fields_parameter(EXPLAINER_FIELDS)


class SearchParams(ListParams):
    q: str = Field(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description="Words to search for.",
        json_schema_extra=PRINTABLE,
    )
    exact: bool = Field(
        False, description="Search the words as typed, never corrected (the page's exact=1)."
    )
    fields: str = fields_parameter(SEARCH_FIELDS)


class SeriesParams(ListParams):
    fields: str = fields_parameter(SERIES_FIELDS)


class CategoryParams(Schema):
    fields: str = fields_parameter(CATEGORY_FIELDS)


class CategoryPath(Schema):
    path: str = Field(
        max_length=1000,
        description="Slugs from the top: ai-principles/llm-foundations.",
        json_schema_extra=PRINTABLE,
    )


class ImportParams(Schema):
    dry_run: bool = Field(False, description="Say what would change; write nothing.")
    parent: str = Field(
        None,
        min_length=1,
        max_length=200,
        description="The category to put new categories under when their listing has no "
        "breadcrumbs (as --parent).",
        json_schema_extra=PRINTABLE,
    )

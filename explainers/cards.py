"""Cards: what listing pages show of an explainer, read as plain rows.

A page of 30 cards built from model instances made some 120 of them (explainer, category,
hero, series) and spent more time in the ORM building them than in the database. A card
needs a dozen columns and its first series, so ``Explainer.objects.for_cards()`` reads those
as values in one query and yields these small objects instead. They answer the same
questions templates ask of the models (``get_absolute_url``, ``hero.renditions``,
``hero.alt_text``, ``series.name``).
"""

from dataclasses import dataclass

from .images import HasRenditions
from .reversing import fast_reverse

# What for_cards() reads; the double underscores follow relations as values() does.
CARD_FIELDS = (
    "id",
    "title",
    "slug",
    "excerpt",
    "reading_time",
    "category__path",
    "hero__image",
    "hero__width",
    "hero__height",
    "hero__alt_text",
    "hero__focal_x",
    "hero__focal_y",
    "hero__focal_width",
    "hero__focal_height",
    "hero__renditions_key",
)


@dataclass(frozen=True, slots=True)
class SeriesTag:
    """A series as a card names and links it."""

    name: str
    slug: str

    def get_absolute_url(self) -> str:
        return fast_reverse("explainers:series", slug=self.slug)


@dataclass(frozen=True, slots=True)
class CardHero(HasRenditions):
    """A card's hero image: enough to offer its renditions (or, until they are made, its
    original cropped around the focal point) and describe it."""

    original: str  # the file's name in storage
    width: int
    height: int
    alt_text: str
    focal_x: float | None
    focal_y: float | None
    focal_width: float | None
    focal_height: float | None
    renditions_key: str


class Card:
    """One published explainer on a listing page.

    Values a query adds beyond CARD_FIELDS (a search's ``rank`` and ``headline``) become
    attributes too, as annotations do on model instances.
    """

    def __init__(self, row: dict, series: SeriesTag | None):
        self.pk = row.pop("id")
        self.title = row.pop("title")
        self.slug = row.pop("slug")
        self.excerpt = row.pop("excerpt")
        self.reading_time = row.pop("reading_time")
        self.category_path = row.pop("category__path")
        hero = CardHero(
            row.pop("hero__image"),
            row.pop("hero__width"),
            row.pop("hero__height"),
            row.pop("hero__alt_text"),
            row.pop("hero__focal_x"),
            row.pop("hero__focal_y"),
            row.pop("hero__focal_width"),
            row.pop("hero__focal_height"),
            row.pop("hero__renditions_key"),
        )
        self.hero = hero if hero.original else None  # the explainer has no hero
        self.series = series
        self.__dict__.update(row)

    def __repr__(self):
        return f"<Card {self.slug}>"

    def get_absolute_url(self) -> str:
        return fast_reverse("explainers:detail", category_path=self.category_path, slug=self.slug)

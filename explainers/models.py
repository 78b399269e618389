import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Concat, Greatest, RowNumber
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import NaturalKeyManager, TagBase, TaggedItemBase

from .body_images import body_images
from .images import HasRenditions
from .markup import render_markdown, validate_body_length
from .site import SharingImage

WORDS_PER_MINUTE = 230
EXCERPT_MAX_LENGTH = 1000
DESCRIPTION_MAX_LENGTH = 2000

# When readers last saw an explainer change: one saved before the time it was scheduled for
# changed, for them, when it appeared (so never earlier than its publication).
SHOWN_CHANGE = Greatest("updated_at", "published_at")
# Before any change: what a last change that is not there yet compares as.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# What a card reads of an explainer, its category and its hero (Explainer.objects.for_cards()).
# A hero image's focal point, as fractions of it (see HeroImage).
FOCAL_FIELDS = ["focal_x", "focal_y", "focal_width", "focal_height"]
# What pages read of a hero image to show it (a picture, a sharing image).
SHOWN_HERO_FIELDS = ["image", "width", "height", "alt_text", "renditions_key", *FOCAL_FIELDS]
CARD_FIELDS = [
    "title", "slug", "excerpt", "reading_time", "category__path",
    "lead_series__name", "lead_series__slug", *(f"hero__{name}" for name in SHOWN_HERO_FIELDS),
]  # fmt: skip

# A share of an image's width or height.
FRACTION = [MinValueValidator(0), MaxValueValidator(1)]


# Top-level slugs the site's own URLs use; a category there could never be reached.
RESERVED_TOP_LEVEL_SLUGS = {
    "admin", "api", "images", "media", "search", "series", "static", "feeds"
}  # fmt: skip


def user_reference(**options):
    """Who did something; empty once that account is deleted (the record stays)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name=options.pop("related_name", "+"),
        **options,
    )


class Versioned(models.Model):
    """A record whose every change counts up ``version``, so a form loaded from an older one
    can tell that someone saved in between (see services.editing)."""

    version = models.PositiveIntegerField(default=1, editable=False)
    changed_by = user_reference()

    class Meta:
        abstract = True


# Listings: explainers in their category, categories among their siblings (under one
# parent). Positions are dense from 0 in each listing; services.ordering moves records in
# them, and save() below keeps them dense when a record arrives or leaves.


def listing_end(model, group_field: str, group_id, exclude_pk=None) -> int:
    """The position after the last record of a listing (0 for an empty one).

    The listing's category row is locked (where the database locks rows) until the caller's
    transaction ends, so two records added at once cannot take the same place."""
    if group_id is not None:
        list(Category.objects.select_for_update().filter(pk=group_id).values_list("pk"))
    siblings = model.objects.filter(**{f"{group_field}_id": group_id}).exclude(pk=exclude_pk)
    last = siblings.aggregate(end=Max("position"))["end"]
    return 0 if last is None else last + 1


def take_place_in_listing(record, group_field: str, update_fields) -> tuple | None:
    """Before ``record`` is saved: a new record (or one without a position) goes to the end
    of its listing, and so does one moved to another listing. Returns the (group id,
    position) it left, whose gap the caller closes once the record is saved."""
    if update_fields is not None and not {group_field, f"{group_field}_id", "position"} & set(
        update_fields
    ):
        return None
    model, group_id = type(record), getattr(record, f"{group_field}_id")
    # Read from the database, not remembered from loading: another request may have moved
    # it since this instance was read.
    was = None
    if not record._state.adding:
        was = (
            model.objects.filter(pk=record.pk).values_list(f"{group_field}_id", "position").first()
        )
    if was is not None and was[0] != group_id:
        record.position = listing_end(model, group_field, group_id, record.pk)
        return was
    if record.position is None:
        record.position = listing_end(model, group_field, group_id, record.pk)
    return None


def close_gap_in_listing(model, group_field: str, left: tuple) -> None:
    group_id, position = left
    model.objects.filter(**{f"{group_field}_id": group_id}, position__gt=position).update(
        position=F("position") - 1
    )


def paths_along(path: str) -> list[str]:
    """The category paths from the top down to ``path``: "a/b/c" gives a, a/b and a/b/c."""
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def count_of(rows: models.QuerySet, **lookups) -> Subquery:
    """How many of ``rows`` match ``lookups`` (OuterRef()s welcome), as a subquery: COUNT(*)
    (0 for none), which the published listing indexes answer without the rows."""
    counted = (
        rows.filter(**lookups)
        .order_by()
        .annotate(count=Func(template="COUNT(*)", output_field=models.IntegerField()))
        .values("count")
    )
    return Subquery(counted, output_field=models.IntegerField())


def _in_outer_category_tree() -> "CategoryQuerySet":
    """The categories at or under the category a count is for (two query levels out)."""
    return Category.objects.filter(
        Q(pk=OuterRef(OuterRef("pk")))
        | Q(path__startswith=Concat(OuterRef(OuterRef("path")), Value("/")))
    ).values("pk")


def latest_change(explainers: "ExplainerQuerySet", **lookups) -> Subquery:
    """When the latest of ``explainers`` matching ``lookups`` last changed for readers
    (SHOWN_CHANGE), as a subquery; None for none."""
    latest = explainers.filter(**lookups).order_by().annotate(change=_latest_of(SHOWN_CHANGE))
    return Subquery(latest.values("change"), output_field=models.DateTimeField())


def _latest_of(expression) -> Func:
    # MAX() as a plain function, not an aggregate: Django would group by every column of
    # the rows, and the subquery would give a row each instead of one (as COUNT(*) above).
    return Func(expression, function="MAX", output_field=models.DateTimeField())


def due_since(in_row: Q) -> Subquery:
    """The latest publication time among published explainers ``in_row`` (a condition on
    the row's OuterRef()s) that came out since the row's ``last_change``: those scheduled
    before it, whose time came with no write to count them."""
    since = Coalesce(OuterRef("last_change"), Value(EPOCH))
    due = (
        Explainer.objects.published()
        .filter(in_row, published_at__gt=since)
        .order_by()
        .annotate(latest=_latest_of("published_at"))
    )
    return Subquery(due.values("latest"), output_field=models.DateTimeField())


def first_publication(explainers: "ExplainerQuerySet", **lookups) -> Subquery:
    """When the first of ``explainers`` matching ``lookups`` comes out, as a subquery; None
    for none."""
    upcoming = (
        explainers.filter(**lookups)
        .order_by()
        .annotate(first=Func("published_at", function="MIN", output_field=models.DateTimeField()))
    )
    return Subquery(upcoming.values("first"), output_field=models.DateTimeField())


def _recount(rows: models.QuerySet, **count) -> None:
    """Set ``count`` (``field=subquery``) on ``rows``, locked first, in the transaction of
    the change that calls for it. Locked in one order, two changes wait for each other
    instead of deadlocking; and the count, a statement after the lock, sees the change
    that held it (PostgreSQL's read committed takes each statement's snapshot anew)."""
    with transaction.atomic(using=rows.db):
        locked = list(rows.order_by("pk").select_for_update().values_list("pk", flat=True))
        if locked:
            rows.model.objects.using(rows.db).filter(pk__in=locked).update(**count)


class CategoryQuerySet(models.QuerySet):
    def get_by_natural_key(self, path):
        return self.get(path=path)

    def with_listing_numbers(self):
        """Annotate ``row_number``: 1, 2, … among its siblings, in their order.

        A window over the rows selected: it counts every sibling only when the queryset is
        filtered by parent alone (the admin's ordering view)."""
        return self.annotate(
            row_number=Window(
                RowNumber(),
                partition_by=[F("parent_id")],
                order_by=[F("position").asc(), F("name").asc(), F("pk").asc()],
            )
        )

    def with_published_counts(self):
        """Annotate ``published_count``: the explainers readers can see in each category and
        in all its subcategories (a section with categories of its own holds theirs too).

        Read from ``live_count`` (recount_live() keeps it when content changes), less the
        scheduled ones among them, whose time may have come since: the scheduled end of the
        latest-published index, a few rows whatever the site's size."""
        scheduled = count_of(Explainer.objects.scheduled(), category__in=_in_outer_category_tree())
        return self.annotate(published_count=F("live_count") - scheduled)

    def recount_live(self) -> None:
        """Count again ``live_count`` of these categories (their ancestors' is theirs too:
        recount_live_along() takes those in)."""
        _recount(
            self,
            live_count=count_of(Explainer.objects.live(), category__in=_in_outer_category_tree()),
            last_change=latest_change(
                Explainer.objects.published(), category__in=_in_outer_category_tree()
            ),
            next_publication=first_publication(
                Explainer.objects.scheduled(), category__in=_in_outer_category_tree()
            ),
            subcategory_count=count_of(Category.objects.all(), parent=OuterRef("pk")),
        )

    def recount_live_along(self, paths) -> None:
        """recount_live() for the categories at ``paths`` and every category above them."""
        along = {prefix for path in paths if path for prefix in paths_along(path)}
        self.filter(path__in=along).recount_live()

    def with_due_since(self):
        """Annotate ``due_since``: the latest publication in the category or under it since
        its kept ``last_change`` (None for none); the later of the two is when a published
        explainer there last changed for readers."""
        # The explainers come from the latest-published index (those since the kept
        # change: few) and are then matched to the category by their own category's path.
        in_tree = Q(category=OuterRef("pk")) | Q(
            category__path__startswith=Concat(OuterRef("path"), Value("/"))
        )
        return self.annotate(due_since=due_since(in_tree))

    def recount_subcategories(self) -> None:
        """Count again ``subcategory_count`` of these categories (recount_live() does too)."""
        _recount(self, subcategory_count=count_of(Category.objects.all(), parent=OuterRef("pk")))

    def chain_to(self, path: str) -> list["Category"]:
        """The categories along ``path`` from the top, in one query; shorter if it ends early."""
        prefixes = paths_along(path.strip("/"))
        found = {category.path: category for category in self.filter(path__in=prefixes)}
        chain = []
        for prefix in prefixes:
            if prefix not in found:
                break
            chain.append(found[prefix])
        return chain


class Category(Versioned, models.Model):
    """A node of the site's tree: a section ("AI Principles") or a category under it."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Leave empty for a top-level section.",
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, help_text="Unique among its siblings; forms the URL.")
    description = models.TextField(
        blank=True, validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)]
    )
    # Dense, from 0, among the siblings (services.ordering moves it); None = at the end.
    position = models.PositiveIntegerField(
        default=None, blank=True, editable=False, help_text="Order among its siblings."
    )
    # The slug path from the top ("ai-principles/llm-foundations"), kept in step with the
    # parents so that URLs resolve and breadcrumbs load in one query whatever the depth.
    path = models.CharField(max_length=1000, unique=True, editable=False)
    # Live explainers (published or scheduled) in it and under it, counted again in the
    # transaction of every change to them (services.counts): the home and section pages
    # read their totals from here, not from counting 100,000 rows.
    live_count = models.IntegerField(default=0, editable=False)
    # When a published explainer in it or under it last changed for readers, as of the last
    # change written (kept with live_count); with_due_since() adds those published since.
    last_change = models.DateTimeField(null=True, blank=True, editable=False)
    # When the first explainer scheduled in it or under it comes out, as of the last change
    # written (kept with live_count; None when none was). Its page is kept until then,
    # whatever is scheduled elsewhere.
    next_publication = models.DateTimeField(null=True, blank=True, editable=False)
    # Its subcategories, counted again whenever one is added, moved or deleted: a leaf
    # category's page knows from its own row that it has none to look up.
    subcategory_count = models.IntegerField(default=0, editable=False)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "slug"], name="category_slug_unique_among_siblings"
            ),
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(parent__isnull=True),
                name="category_slug_unique_at_top_level",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        old_path = self.path
        self.path = self.build_path()
        with transaction.atomic():
            # A new category, or one given another parent, goes last among its siblings.
            left = take_place_in_listing(self, "parent", kwargs.get("update_fields"))
            if left is not None and kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "position"}
            super().save(*args, **kwargs)
            if left is not None:
                close_gap_in_listing(Category, "parent", left)
            if old_path != self.path:
                # Added or moved: its parent's subcategories, and its old parent's.
                old_parent_path = old_path.rpartition("/")[0]
                parents = Category.objects.filter(Q(pk=self.parent_id) | Q(path=old_parent_path))
                parents.recount_subcategories()
            if old_path and old_path != self.path:
                self._move_descendants(old_path)
                # What it holds left the old ancestors' totals for the new ones'.
                Category.objects.recount_live_along([old_path.rpartition("/")[0], self.path])
                # Cards link to their explainers' addresses, which hold the paths.
                from .services.cards import cards_refresh  # services import the models

                cards_refresh(Explainer.objects.filter(category__in=self.descendants_and_self()))

    def get_absolute_url(self):
        return reverse("explainers:category", kwargs={"category_path": self.path})

    def natural_key(self):
        return (self.path,)

    def listing_size(self) -> int | None:
        """How many explainers readers find listed in it, when its row tells (None when it
        does not): with no subcategories and nothing scheduled, each live explainer under
        it is its own and published."""
        if self.subcategory_count == 0 and self.next_publication is None:
            return self.live_count
        return None

    def knows_next_publication(self) -> bool:
        """Whether ``next_publication`` still says when the page of this category next
        changes by itself: nothing was scheduled, or it is still to come. Once its time has
        passed, what comes out after it is not kept (no write counted it again)."""
        return self.next_publication is None or self.next_publication > timezone.now()

    def build_path(self) -> str:
        return f"{self.parent.path}/{self.slug}" if self.parent_id else self.slug

    def descendants_and_self(self):
        return Category.objects.filter(Q(pk=self.pk) | Q(path__startswith=f"{self.path}/"))

    def ancestors(self) -> list["Category"]:
        """Ancestors from the top down, in one query whatever the depth."""
        if not self.parent_id:
            return []
        return Category.objects.chain_to(self.path)[:-1]

    def breadcrumbs(self, ancestors: list["Category"] | None = None) -> list[tuple[str, str]]:
        """(label, url) pairs from Home down to this category (pass ``ancestors`` if known)."""
        if ancestors is None:
            ancestors = self.ancestors()
        trail = [("Home", reverse("explainers:home"))]
        trail += [(category.name, category.get_absolute_url()) for category in ancestors]
        trail.append((self.name, self.get_absolute_url()))
        return trail

    def clean(self):
        if not self.parent_id and self.slug in RESERVED_TOP_LEVEL_SLUGS:
            raise ValidationError({"slug": f"“{self.slug}” is taken by the site's own pages."})
        if self.parent_id and self.pk:
            if self.parent_id == self.pk or (
                self.path and self.parent.path.startswith(f"{self.path}/")
            ):
                raise ValidationError(
                    {"parent": "A category cannot be placed under itself or its own descendants."}
                )
        duplicate = Category.objects.filter(parent=self.parent, slug=self.slug).exclude(pk=self.pk)
        if self.slug and duplicate.exists():
            where = f"under “{self.parent.name}”" if self.parent_id else "at the top level"
            raise ValidationError({"slug": f"Another category {where} already uses this slug."})

    def _move_descendants(self, old_path: str):
        descendants = list(Category.objects.filter(path__startswith=f"{old_path}/"))
        for descendant in descendants:
            descendant.path = self.path + descendant.path[len(old_path) :]
        Category.objects.bulk_update(descendants, ["path"])

    def delete(self, *args, **kwargs):
        explainer_count = self.explainers.count()
        child_count = self.children.count()
        if explainer_count or child_count:
            held = []
            if explainer_count:
                held.append(f"{explainer_count} explainer{'s' if explainer_count != 1 else ''}")
            if child_count:
                held.append(f"{child_count} subcategor{'ies' if child_count != 1 else 'y'}")
            raise models.ProtectedError(
                f"Category “{self.name}” still holds {' and '.join(held)}; "
                "move or delete them first.",
                set(self.explainers.all()) | set(self.children.all()),
            )
        return super().delete(*args, **kwargs)


class HeroImageQuerySet(models.QuerySet):
    def get_by_natural_key(self, key):
        return self.get(key=key)

    def used_by_live(self):
        """Images an approved (published or scheduled) explainer shows, as its hero or in its
        body: editors' to change."""
        return self.shown_by(Explainer.objects.live())

    def shown_to_readers(self):
        """Images a published explainer shows, as its hero or in its body: the only ones
        readers may fetch. A pending version's body images are not among them until it is
        published (staff previews fetch any image)."""
        return self.shown_by(Explainer.objects.published())

    def shown_by(self, explainers):
        """Images any of ``explainers`` shows, as its hero or in its (saved) body."""
        return self.filter(
            Q(pk__in=explainers.values("hero")) | Q(pk__in=explainers.values("body_images"))
        )

    def insertable_in_bodies(self, search: str = ""):
        """Library images an editor may insert into a body, newest first, whose alt text
        contains ``search``. Not the importer's placeholders: they stand in for a missing
        hero, and are nothing to show in a body."""
        images = self.filter(is_placeholder=False).order_by("-created_at", "-pk")
        if search.strip():
            images = images.filter(alt_text__icontains=search.strip())
        # What the picker shows: the thumbnail needs the focal point and renditions_key too
        # (the rendition once made, the original until then).
        return images.only("pk", "image", "alt_text", "width", "height", "renditions_key",
                           *FOCAL_FIELDS)  # fmt: skip

    def shown_in(self, html: str):
        """Library images whose renditions the rendered body ``html`` shows (one query)."""
        return self.filter(image__in=set(body_images(html).renditions.values()))


class HeroImage(Versioned, HasRenditions, models.Model):
    image = models.ImageField(
        upload_to="heroes/%Y/%m/",
        width_field="width",
        height_field="height",
        max_length=255,
        # Renditions are looked up by their original's name.
        db_index=True,
    )
    # Stored files get random names; this is the one the editor's file had.
    original_filename = models.CharField(max_length=255, blank=True, editable=False)
    # Fixtures name heroes by this key: placeholders share their files, so the file name
    # cannot tell one hero from another.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    alt_text = models.CharField(
        max_length=500,
        help_text="What the image shows, for readers who cannot see it. Skip “image of”.",
    )
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    caption = models.CharField(max_length=500, blank=True)
    credit = models.CharField(max_length=200, blank=True)
    is_placeholder = models.BooleanField(
        default=False,
        help_text="Generated by the listing importer; replace it with a real image.",
    )
    # The subject, as fractions of the image (0 = left/top, 1 = right/bottom): its centre,
    # and the size of a box around it if the editor drew one. Every crop keeps it in the
    # frame (images.crop_box). Empty = the centre.
    focal_x = models.FloatField(null=True, blank=True, validators=FRACTION)
    focal_y = models.FloatField(null=True, blank=True, validators=FRACTION)
    focal_width = models.FloatField(null=True, blank=True, validators=FRACTION)
    focal_height = models.FloatField(null=True, blank=True, validators=FRACTION)
    # Which renditions are in storage: the key (file and focal point) they were drawn for,
    # written by the background task once all of them are. Pages offer renditions only
    # when it matches the image as it is now.
    renditions_key = models.CharField(max_length=64, blank=True, editable=False)
    # Why drawing them failed, and whether it is retried, for the admin; empty once made.
    renditions_problem = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HeroImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.alt_text

    def natural_key(self):
        return (str(self.key),)

    @property
    def original(self) -> str:
        return self.image.name

    def sharing_image(self) -> SharingImage:
        """What link previews show of it: the 1200 × 630 crop once made, until then the
        original."""
        shown = self.social_image()
        return SharingImage(shown.url, shown.width, shown.height, self.alt_text)


class SeriesQuerySet(models.QuerySet):
    def with_published_counts(self):
        """Annotate ``published_count``: the explainers readers can see in each series, from
        ``live_count`` as Category's with_published_counts() reads it."""
        scheduled = count_of(Explainer.objects.scheduled(), series=OuterRef("pk"))
        return self.annotate(published_count=F("live_count") - scheduled)

    def recount_live(self) -> None:
        """Count again ``live_count`` and ``last_change`` of these series."""
        _recount(
            self,
            live_count=count_of(Explainer.objects.live(), series=OuterRef("pk")),
            last_change=latest_change(Explainer.objects.published(), series=OuterRef("pk")),
        )

    def with_published_explainers(self):
        """Series readers have something to read in (the only ones with a page and feeds),
        with ``published_count``."""
        return self.filter(live_count__gt=0).with_published_counts().filter(published_count__gt=0)

    def with_due_since(self):
        """Annotate ``due_since``, as Category's with_due_since() does."""
        return self.annotate(due_since=due_since(Q(series=OuterRef("pk"))))


class Series(Versioned, TagBase):
    """A series an explainer belongs to ("MONA explainer", "MONA Bridge")."""

    # Live explainers in it and when one last changed, kept as Category's are
    # (services.counts).
    live_count = models.IntegerField(default=0, editable=False)
    last_change = models.DateTimeField(null=True, blank=True, editable=False)

    objects = NaturalKeyManager.from_queryset(SeriesQuerySet)()

    class Meta:
        verbose_name = "series"
        verbose_name_plural = "series"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("explainers:series", kwargs={"slug": self.slug})

    def breadcrumbs(self) -> list[tuple[str, str]]:
        return [("Home", reverse("explainers:home")), (self.name, self.get_absolute_url())]


class SeriesItemQuerySet(models.QuerySet):
    def get_by_natural_key(self, explainer_slug, series_name):
        return self.get(content_object__slug=explainer_slug, tag__name=series_name)


class SeriesItem(TaggedItemBase):
    """The through model between explainers and series (kept apart from any topic tags)."""

    content_object = models.ForeignKey("Explainer", on_delete=models.CASCADE)
    tag = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="items")

    objects = SeriesItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_object", "tag"], name="series_item_unique")
        ]
        # A series' members, read from the index alone: the series page and feed (newest
        # first, from explainer_latest_published), and the related explainers of one in it.
        indexes = [models.Index(fields=["tag", "content_object"], name="series_item_members")]

    def natural_key(self):
        return (self.content_object.slug, self.tag.name)

    natural_key.dependencies = ["explainers.explainer", "explainers.series"]


class State(models.TextChoices):
    """Every state an explainer can be in, for readers and in the review workflow.

    What readers get (draft, scheduled, published) is decided by the publication fields; the
    review states belong to the working copy (a draft, or the pending version of a live
    explainer). ``ExplainerQuerySet.in_state`` and ``Explainer.state`` are the only places
    that turn fields into these states.
    """

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    SCHEDULED = "scheduled", "Scheduled"
    PUBLISHED = "published", "Published"
    PENDING = "pending", "Live, with pending changes"


REVIEW_STATES = [
    ("", "Not in review"),
    (State.IN_REVIEW.value, State.IN_REVIEW.label),
    (State.CHANGES_REQUESTED.value, State.CHANGES_REQUESTED.label),
]


# Enough related explainers for the detail page: the 3 it shows (views.RELATED_COUNT) once
# its previous and next are left out.
RELATED_CANDIDATES = 5


class ExplainerQuerySet(models.QuerySet):
    def published(self):
        """What readers may see: published, with a publication time that has come."""
        return self.filter(status=Explainer.Status.PUBLISHED, published_at__lte=timezone.now())

    def scheduled(self):
        """Approved, with a publication time still to come."""
        return self.filter(status=Explainer.Status.PUBLISHED, published_at__gt=timezone.now())

    def live(self):
        """Approved for readers: published or scheduled. Edits to these wait as pending."""
        return self.filter(status=Explainer.Status.PUBLISHED, published_at__isnull=False)

    def drafts(self):
        """Never approved for readers, or taken back (whatever their review state)."""
        return self.exclude(status=Explainer.Status.PUBLISHED, published_at__isnull=False)

    def in_review(self):
        """Submitted and waiting for an editor: a draft, or a live one's pending version."""
        return self.filter(review=State.IN_REVIEW)

    def changes_requested(self):
        return self.filter(review=State.CHANGES_REQUESTED)

    def with_pending_changes(self):
        """Live explainers whose saved edits readers do not see yet."""
        return self.live().filter(pending__isnull=False)

    def in_state(self, state: str):
        """The explainers in ``state`` (a ``State`` value); ValueError for any other."""
        queries = {
            State.DRAFT: self.drafts,
            State.IN_REVIEW: self.in_review,
            State.CHANGES_REQUESTED: self.changes_requested,
            State.SCHEDULED: self.scheduled,
            State.PUBLISHED: self.published,
            State.PENDING: self.with_pending_changes,
        }
        return queries[State(state)]()

    def owned_by(self, user):
        return self.filter(owner=user)

    def showing_in_body(self, images):
        """Explainers whose body shows any of the library ``images``: the saved body
        (``body_images``) or a pending version's, which names the images' renditions."""
        pending = Q()
        for image in images:
            # "/images/<original>/": every rendition of the image starts so.
            prefix = image.rendition(400).url.rsplit("/", 1)[0] + "/"
            pending |= Q(pending__body__icontains=prefix)
        if not pending:
            return self.none()
        return self.filter(Q(body_images__in=images) | pending).distinct()

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def last_change(self):
        """When any of these last changed for readers (None if there are none).

        The latest of SHOWN_CHANGE over the rows is the later of the latest edit and the
        latest publication: each of those an index reads from its end, where the latest of
        the expression would read every row."""
        latest = self.aggregate(edited=Max("updated_at"), published=Max("published_at"))
        return max(filter(None, latest.values()), default=None)

    def next_publication_time(self):
        """When the next scheduled explainer becomes visible to readers (None if none is)."""
        return (
            self.scheduled().order_by("published_at").values_list("published_at", flat=True).first()
        )

    def with_listing_numbers(self):
        """Annotate where each explainer is in its category's listing: ``row_number`` (1, 2,
        … as the admin's ordering view shows them), ``shown_to_readers`` (it is published)
        and ``card_number`` (the card readers find it on; meaningful when shown).

        Windows over the rows selected: they count the whole listing only when the queryset
        is filtered by category alone (the admin's ordering view)."""
        listing = {
            "partition_by": [F("category_id")],
            "order_by": [F("position").asc(), F("pk").asc()],
        }
        shown = Exists(Explainer.objects.published().filter(pk=OuterRef("pk")))
        return self.annotate(
            row_number=Window(RowNumber(), **listing),
            shown_to_readers=shown,
            card_number=Window(Sum(Case(When(shown, then=1), default=0)), **listing),
        )

    def for_cards(self):
        """With what a card shows (``includes/card.html``) and nothing more, in one query:
        the card's columns, its category's path (for the URL), its hero and its lead
        series."""
        return self.select_related("category", "hero", "lead_series").only(*CARD_FIELDS)

    def for_listing(self):
        """What a listing page reads of each explainer: its stored cards (services.cards
        prints them, and loads those out of date ``for_cards()``), its title, and what is
        stored with the card for the page's head: the address it links to (the structured
        data's list) and its hero's sharing image (the page's, from its first card). No
        hero is loaded: thirty hero instances cost more than the rest of the page's rows."""
        return self.only(
            "title", "card_url", "card_sharing_image",
            "card_html_first_row", "card_html", "card_version",
        )  # fmt: skip

    def refresh_lead_series(self) -> int:
        """Set the ``lead_series`` of each of these from their series as they now are."""
        first = (
            SeriesItem.objects.filter(content_object=OuterRef("pk"))
            .order_by("tag__name", "tag_id")
            .values("tag_id")[:1]
        )
        return self.update(lead_series=Subquery(first))

    def with_series(self):
        """With every series of each explainer prefetched (``Explainer.series_list``)."""
        series_items = SeriesItem.objects.select_related("tag").order_by("tag__name")
        return self.prefetch_related(
            Prefetch("seriesitem_set", queryset=series_items, to_attr="series_items")
        )

    def related_to(self, explainer: "Explainer", series_ids, enough=RELATED_CANDIDATES):
        """Explainers sharing a series (first) or the category of ``explainer``, newest first
        in each part; good for the first ``enough`` of them (they may be filtered further).

        Not a scan of every row: the newest ``enough`` sharing a series and the newest
        ``enough`` of the category, each a small indexed LIMIT query, and then those (at
        most twice ``enough``) in order. That holds every one of the first ``enough``: when
        fewer than ``enough`` share a series, fewer than that of the category's newest do."""
        others = self.exclude(pk=explainer.pk).order_by("-published_at", "pk")
        in_category = others.filter(category_id=explainer.category_id)
        if not series_ids:
            # Nothing to share: the category alone (an EXISTS over no series would be a
            # constant, which PostgreSQL refuses to order by).
            return in_category
        members = SeriesItem.objects.filter(tag_id__in=series_ids)
        in_series = others.filter(pk__in=members.values("content_object"))
        # Each part as a query of its own (SQLite takes no LIMIT inside a UNION).
        series_part, category_part = (
            self.filter(pk__in=part.values("pk")[:enough]).order_by().values("pk")
            for part in (in_series, in_category)
        )
        candidates = series_part.union(category_part)
        shares_series = Exists(members.filter(content_object=OuterRef("pk")))
        return (
            self.filter(pk__in=candidates)
            .annotate(shares_series=shares_series)
            .order_by("-shares_series", "-published_at", "pk")
        )


class Explainer(Versioned, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    # What a pending version holds: the content, not the publication fields (status, time,
    # position), which editors change directly.
    CONTENT_FIELDS = ["title", "slug", "category", "excerpt", "body", "hero", "reading_time"]

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=255, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="explainers")
    excerpt = models.TextField(
        validators=[MaxLengthValidator(EXCERPT_MAX_LENGTH)],
        help_text="The standfirst shown on cards, as the listing has it.",
    )
    body = models.TextField(blank=True, help_text="Markdown.", validators=[validate_body_length])
    # The body as readers get it, rendered by save() (see there).
    body_html = models.TextField(blank=True, editable=False)
    hero = models.ForeignKey(
        HeroImage,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="explainers",
    )
    reading_time = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Minutes."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Readers see a published explainer from this time on."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Dense, from 0, in the category's listing (services.ordering moves it); None = at the end.
    position = models.PositiveIntegerField(
        default=None, blank=True, editable=False, help_text="Order in its category's listing."
    )
    owner = user_reference(
        related_name="owned_explainers", help_text="Who created it; imported explainers have none."
    )
    review = models.CharField(max_length=20, choices=REVIEW_STATES, blank=True, default="")
    review_comment = models.TextField(blank=True, editable=False)
    review_comment_by = user_reference()
    submitted_by = user_reference()
    review_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Saved edits of a live explainer that readers do not see until an editor publishes
    # them: CONTENT_FIELDS by attribute name (category_id, hero_id) plus "series".
    pending = models.JSONField(null=True, blank=True, editable=False)
    pending_by = user_reference()
    pending_at = models.DateTimeField(null=True, blank=True, editable=False)

    series = TaggableManager(through=SeriesItem, blank=True, verbose_name="series")
    # The first of its series by name, which its card shows: kept in step when its series
    # change (signals; the importer, which writes in bulk, refreshes what it wrote), so that
    # a listing joins it for the rows it shows instead of looking it up for every row.
    lead_series = models.ForeignKey(
        Series, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    # Its card as listings show it, rendered from includes/card.html when what the card
    # shows is saved (services.cards): in a list's first row (its image fetched at once) and
    # below it (fetched when scrolled to). A listing prints them as stored when
    # ``card_version`` is that of the card templates it runs with, and renders the card
    # afresh otherwise; "" is a card out of date, waiting to be stored again.
    card_html_first_row = models.TextField(blank=True, editable=False)
    card_html = models.TextField(blank=True, editable=False)
    card_version = models.CharField(max_length=16, blank=True, editable=False)
    # The address its card links to, as stored with it: what a listing's structured data
    # names for it (``listing_cards`` sets ``listing_url``) without reversing it again.
    card_url = models.TextField(blank=True, editable=False)
    # Its hero as link previews show it (SharingImage's fields; None without a hero),
    # stored with the card: a listing's sharing image is its first card's.
    card_sharing_image = models.JSONField(null=True, blank=True, editable=False)
    # Library images the body shows (Markdown images pointing at their renditions), kept
    # in step with the body when it is saved: readers may fetch those, and an image in use
    # is not deleted.
    body_images = models.ManyToManyField(
        HeroImage, blank=True, editable=False, related_name="shown_in_bodies"
    )

    objects = ExplainerQuerySet.as_manager()

    class Meta:
        ordering = ["category", "position", "pk"]
        indexes = [
            # The admin's list order: a deep page's skipped rows are read from it alone.
            models.Index(fields=["category", "position", "id"], name="explainer_admin_listing"),
            # Readers' listings, in their order, over the published rows only: a category's
            # page, previous/next and related explainers; with the publication time that
            # published() also asks for, so that counts are read from the index alone...
            models.Index(
                fields=["category", "position", "id", "published_at"],
                condition=Q(status="published"),
                name="explainer_listing_published",
            ),
            # ... and the latest: the home page, the feeds, a series' newest.
            models.Index(
                fields=["-published_at", "id"],
                condition=Q(status="published"),
                name="explainer_latest_published",
            ),
            # ... and the latest edit readers saw: the sitemap's and the feeds' last change.
            models.Index(
                fields=["-updated_at"],
                condition=Q(status="published"),
                name="explainer_latest_edit",
            ),
            # The admin's search ranks the newest matches of every explainer, drafts (no
            # publication time: first) among them, read from here rather than sorted.
            models.Index(fields=["-published_at", "id"], name="explainer_newest"),
        ]
        permissions = [("publish_explainer", "Can publish, unpublish and schedule explainers")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # The body's HTML is rendered here, when the body is written, and stored: a reader's
        # request never parses Markdown. Every write of ``body`` in this codebase goes
        # through save() (the admin form, publishing a pending version, recovering); imports
        # use bulk_create/bulk_update but never set a body (a new explainer's is "", whose
        # HTML is the field's default ""). Anything that writes ``body`` another way must
        # render ``body_html`` too, and keep ``body_images`` in step (the library images the
        # HTML shows, which readers may fetch once it is published). A pending version's
        # body is in ``pending``, not ``body``: its images join when it is published.
        update_fields = kwargs.get("update_fields")
        body_written = "body" not in self.get_deferred_fields() and (
            update_fields is None or "body" in update_fields
        )
        if body_written:
            self.body_html = render_markdown(self.body)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        loaded_slug = getattr(self, "_loaded_slug", None)
        adding = self._state.adding
        with transaction.atomic():
            # A new explainer, or one moved to another category, goes last in its listing.
            left = take_place_in_listing(self, "category", kwargs.get("update_fields"))
            if left is not None and kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "position"}
            super().save(*args, **kwargs)
            if left is not None:
                close_gap_in_listing(Explainer, "category", left)
            # (A new explainer whose body shows no image has none to set: no query.)
            if body_written and (not adding or "<img" in self.body_html):
                self.body_images.set(HeroImage.objects.shown_in(self.body_html))
            if loaded_slug != self.slug:
                PreviousSlug.objects.filter(slug=self.slug).delete()
                if loaded_slug:
                    # Old links keep working: the detail view answers 301 for a previous slug.
                    PreviousSlug.objects.update_or_create(
                        slug=loaded_slug, defaults={"explainer": self}
                    )
        self._loaded_slug = self.slug

    def get_absolute_url(self):
        # A listing asks for each card's URL twice (its link and the page's JSON-LD), and
        # reversing costs more than the rest of a card: kept for as long as what it is made
        # of stays the same.
        parts = {"category_path": self.category.path, "slug": self.slug}
        known = self.__dict__.get("_absolute_url")
        if known is None or known[0] != parts:
            known = self._absolute_url = (parts, reverse("explainers:detail", kwargs=parts))
        return known[1]

    def natural_key(self):
        return (self.slug,)

    natural_key.dependencies = ["explainers.category", "explainers.heroimage"]

    def sharing_image(self) -> SharingImage | None:
        """Its hero as link previews show it (None without a hero)."""
        return self.hero.sharing_image() if self.hero_id else None

    def clean(self):
        held = (
            PreviousSlug.objects.filter(slug=self.slug)
            .exclude(explainer_id=self.pk)
            .select_related("explainer")
            .first()
        )
        if held is not None:
            raise ValidationError(
                {
                    "slug": f"“{self.slug}” was the address of “{held.explainer}”, and old "
                    "links still lead there: choose another slug."
                }
            )

    @classmethod
    def from_db(cls, db, field_names, values):
        explainer = super().from_db(db, field_names, values)
        explainer._loaded_slug = explainer.__dict__.get("slug")
        return explainer

    @staticmethod
    def estimated_reading_time(body: str) -> int:
        """Minutes to read ``body`` at about 230 words a minute; at least 1."""
        return max(1, round(len(body.split()) / WORDS_PER_MINUTE))

    @property
    def state(self) -> State:
        """What readers get: State.DRAFT, SCHEDULED or PUBLISHED (as in_state() decides)."""
        if not self.is_live():
            return State.DRAFT
        return State.PUBLISHED if self.is_published() else State.SCHEDULED

    @property
    def workflow_label(self) -> str:
        """The state and, when there is one, the review state, as the admin shows them."""
        label = self.state.label
        if self.pending is not None:
            label += ", with pending changes"
        if self.review:
            label += f" · {State(self.review).label.lower()}"
        return label

    def content(self, series: list[str] | None = None) -> dict:
        """The fields a pending version holds, as stored (ids for relations)."""
        content = {
            field.attname: getattr(self, field.attname)
            for field in map(self._meta.get_field, self.CONTENT_FIELDS)
        }
        content["series"] = sorted(series if series is not None else self.working_series())
        return content

    def working_series(self) -> list[str]:
        """Series names of the working copy: the pending version's, or the row's."""
        if self.pending is not None:
            return list(self.pending["series"])
        if self.pk is None:
            return []
        return sorted(self.series.values_list("name", flat=True))

    def show_pending(self) -> "Explainer":
        """Put the pending version's content on this instance (in memory), for the form."""
        for name, value in (self.pending or {}).items():
            if name != "series":
                setattr(self, name, value)
        return self

    def get_admin_url(self):
        return reverse("admin:explainers_explainer_change", args=[self.pk])

    def is_live(self) -> bool:
        """Approved for readers (published or scheduled): edits wait as a pending version."""
        return self.status == self.Status.PUBLISHED and self.published_at is not None

    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def last_modified(self):
        """When readers last saw it change (as SHOWN_CHANGE): never before its publication."""
        if self.published_at is None:
            return self.updated_at
        return max(self.updated_at, self.published_at)

    @property
    def series_list(self) -> list["Series"]:
        """Its series by name, from ``with_series()``'s prefetch when there was one."""
        if hasattr(self, "series_items"):
            return [item.tag for item in self.series_items]
        return list(self.series.order_by("name"))

    @property
    def primary_series(self):
        """The series its card shows: the first by name."""
        return next(iter(self.series_list), None)

    def neighbours(self, queryset):
        """(previous, next) in the category's listing order, among ``queryset``."""
        before, after = self.neighbour_queries(queryset)
        return before.first(), after.first()

    def neighbour_queries(self, queryset):
        """The explainers before and after this one in its category's listing (nearest
        first), among ``queryset``: what neighbours() takes the first of."""
        siblings = (
            queryset.filter(category_id=self.category_id)
            .select_related("category")
            .defer("body", "body_html")  # a title and a link are all they show
        )
        # (position, pk) before or after this one's, as a bound on position the listing index
        # (explainer_listing_published) seeks to, and a filter that passes over ties at this
        # position: each is one short index read, not a walk from the listing's end to here.
        here, pk = self.position, self.pk
        before = Q(position__lte=here) & (Q(position__lt=here) | Q(pk__lt=pk))
        after = Q(position__gte=here) & (Q(position__gt=here) | Q(pk__gt=pk))
        return (
            siblings.filter(before).order_by("-position", "-pk"),
            siblings.filter(after).order_by("position", "pk"),
        )


class PreviousSlug(models.Model):
    """A slug an explainer had before, so that old links still find it."""

    slug = models.SlugField(max_length=255, unique=True)
    explainer = models.ForeignKey(
        Explainer, on_delete=models.CASCADE, related_name="previous_slugs"
    )

    def __str__(self):
        return self.slug


class ScratchCopy(models.Model):
    """A form's unsaved input, kept by autosave for the one user who typed it.

    Not a revision: readers never see it, History does not list it, and it is deleted when
    the form is saved or discarded, or after ``SCRATCH_COPY_DAYS``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    # Empty for an add form, which has no object yet.
    object_id = models.CharField(max_length=40, blank=True)
    data = models.JSONField(help_text="The form's fields as submitted, by name.")
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "content_type", "object_id"], name="one_scratch_copy_per_form"
            )
        ]
        indexes = [models.Index(fields=["saved_at"])]

    def __str__(self):
        return f"{self.user} on {self.content_type.model} {self.object_id or '(new)'}"


class SearchDocument(models.Model):
    """What site search indexed of an explainer (``services.search_index`` keeps it in step):
    its distinct words, and whether they are counted in the vocabulary (``SearchTerm``).

    On PostgreSQL ``vector`` is the full-text index (title A, excerpt B, body C; alt text,
    series and category D) that search matches and ranks from; SQLite leaves it empty and
    indexes the same text in an FTS5 table (migration 0010)."""

    explainer = models.OneToOneField(
        Explainer, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # Lowercased, space-separated: what to take out of the vocabulary when it changes.
    words = models.TextField(blank=True)
    # Its words are in the vocabulary only while readers could find it (it was published
    # when indexed): a draft's words are never offered as a correction.
    counted = models.BooleanField(default=False)
    vector = SearchVectorField(null=True)

    class Meta:
        indexes = [
            # Scheduled explainers become published without a write: the ones to count then.
            models.Index(
                fields=["explainer"], condition=Q(counted=False), name="search_document_uncounted"
            )
        ]

    def __str__(self):
        return f"Search document of explainer {self.explainer_id}"


class SearchTerm(models.Model):
    """A word of the published explainers, with how many contain it: the vocabulary that
    misspelled query words are corrected from."""

    word = models.CharField(max_length=40, unique=True)
    document_count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.word

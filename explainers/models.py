from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager
from taggit.models import TagBase, TaggedItemBase


class CategoryQuerySet(models.QuerySet):
    def get_by_natural_key(self, path):
        return self.get(path=path)


class Category(models.Model):
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
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order among its siblings.")
    # The slug path from the top ("ai-principles/llm-foundations"), kept in step with the
    # parents so that URLs resolve and breadcrumbs load in one query whatever the depth.
    path = models.CharField(max_length=1000, unique=True, editable=False)

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
            super().save(*args, **kwargs)
            if old_path and old_path != self.path:
                self._move_descendants(old_path)

    def get_absolute_url(self):
        return reverse("explainers:category", kwargs={"category_path": self.path})

    def natural_key(self):
        return (self.path,)

    def build_path(self) -> str:
        return f"{self.parent.path}/{self.slug}" if self.parent_id else self.slug

    def ancestor_paths(self) -> list[str]:
        """Paths of this category's ancestors, from the top, without querying."""
        parts = self.path.split("/")
        return ["/".join(parts[:depth]) for depth in range(1, len(parts))]

    def ancestors(self) -> list["Category"]:
        """Ancestors from the top down, in one query whatever the depth."""
        paths = self.ancestor_paths()
        if not paths:
            return []
        return list(Category.objects.filter(path__in=paths).order_by(Length("path")))

    def breadcrumbs(self) -> list[tuple[str, str]]:
        """(label, url) pairs from Home down to this category."""
        trail = [("Home", reverse("explainers:home"))]
        trail += [(c.name, c.get_absolute_url()) for c in self.ancestors()]
        trail.append((self.name, self.get_absolute_url()))
        return trail

    def clean(self):
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
    def get_by_natural_key(self, image):
        return self.get(image=image)


class HeroImage(models.Model):
    image = models.ImageField(
        upload_to="heroes/%Y/%m/",
        width_field="width",
        height_field="height",
        unique=True,
        max_length=255,
    )
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HeroImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.alt_text

    def natural_key(self):
        return (self.image.name,)


class Series(TagBase):
    """A series an explainer belongs to ("MONA explainer", "MONA Bridge")."""

    class Meta:
        verbose_name = "series"
        verbose_name_plural = "series"
        ordering = ["name"]


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

    def natural_key(self):
        return (self.content_object.slug, self.tag.name)

    natural_key.dependencies = ["explainers.explainer", "explainers.series"]


class ExplainerQuerySet(models.QuerySet):
    def published(self):
        """What readers may see: published, with a publication time that has come."""
        return self.filter(status=Explainer.Status.PUBLISHED, published_at__lte=timezone.now())

    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Explainer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=255, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="explainers")
    excerpt = models.TextField(help_text="The standfirst shown on cards, as the listing has it.")
    body = models.TextField(blank=True, help_text="Markdown.")
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
    position = models.PositiveIntegerField(default=0, help_text="Order in its category's listing.")

    series = TaggableManager(through=SeriesItem, blank=True, verbose_name="series")

    objects = ExplainerQuerySet.as_manager()

    class Meta:
        ordering = ["category", "position", "pk"]
        indexes = [models.Index(fields=["category", "position"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse(
            "explainers:detail",
            kwargs={"category_path": self.category.path, "slug": self.slug},
        )

    def natural_key(self):
        return (self.slug,)

    natural_key.dependencies = ["explainers.category", "explainers.heroimage"]

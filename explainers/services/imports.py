"""Loading the scraped listings: categories, explainers, series and placeholder heroes."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify

from ..cache import content_changed
from ..images import PLACEHOLDER_SIZE, draw_missing_placeholder, placeholder_name
from ..listings import Listing, ListingError, PlannedCategory, merge_listings
from ..models import Category, Explainer, HeroImage, Series, SeriesItem
from .editing import revisions_record_baseline
from .ordering import listings_renumber
from .renditions import hero_renditions_schedule

BATCH_SIZE = 500
# Placeholder heroes get keys derived from their explainer's slug, so that an import and the
# fixture made from it name the same heroes.
PLACEHOLDER_KEYS = uuid.UUID("5c0a7d1e-8f0b-4d7e-9a57-2a4b8f3c9e10")


@dataclass
class ImportReport:
    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    categories_created: list[str] = field(default_factory=list)
    categories_updated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {self.unchanged} unchanged"
        )


def hero_ensure_placeholder_file(*, hero: HeroImage) -> bool:
    """Draw a placeholder hero's file if it is missing; say whether it had to."""
    return hero.is_placeholder and draw_missing_placeholder(hero.image.name)


def listings_import(
    *, listings: list[Listing], parent: str | None = None, dry_run: bool = False
) -> ImportReport:
    """Create or update categories, explainers, series and placeholder heroes from listings.

    One transaction: on any error the database is as before and no new file is left behind.
    Scraped fields (title, excerpt, alt text of a placeholder, series, minutes, order) follow the
    listings; what editors own (body, a replaced image, status) is never touched.
    """
    plan = merge_listings(listings)
    report = ImportReport(dry_run=dry_run)
    written_files: list[str] = []
    try:
        with transaction.atomic():
            categories = _place_categories(plan.categories, parent, report)
            written = _write_explainers(plan.explainers, categories, report, written_files, dry_run)
            # The listings' order, dense again where explainers added in the admin share a
            # category with imported ones (ties keep the older one first).
            listings_renumber(model=Explainer, group_ids={c.pk for c in categories.values()})
            if dry_run:
                transaction.set_rollback(True)
            else:
                revisions_record_baseline(
                    records=Explainer.objects.filter(pk__in=[e.pk for e in written]),
                    comment="Imported from the listings.",
                )
                # Drawn by the worker after the commit, once per shared placeholder file.
                hero_renditions_schedule(heroes=[e.hero for e in written if e.hero is not None])
                content_changed()
    except DatabaseError as error:
        for name in written_files:
            default_storage.delete(name)
        sources = ", ".join(sorted({listing.source for listing in listings}))
        problem = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ListingError(sources, None, f"the database refused the import: {problem}") from error
    except BaseException:
        for name in written_files:
            default_storage.delete(name)
        raise
    return report


def _validated(record, source: str, line: int | None, subject: str):
    """``record`` if its fields pass the model's validation; else a ListingError there."""
    exclude = [f.name for f in record._meta.fields if f.is_relation or f.name == "image"]
    try:
        record.clean_fields(exclude=exclude)
        if isinstance(record, Category):
            record.clean()  # reserved top-level slugs, siblings' slugs
    except ValidationError as error:
        problems = "; ".join(
            f"{name.replace('_', ' ')}: {' '.join(messages)}"
            for name, messages in error.message_dict.items()
        )
        raise ListingError(source, line, f"{subject}: {problems}") from error
    return record


def _place_categories(planned_categories: list[PlannedCategory], parent: str | None, report):
    existing = list(Category.objects.all())
    by_name: dict[str, list[Category]] = defaultdict(list)
    for category in existing:
        by_name[category.name].append(category)

    def child(node: Category | None, name: str, source: str) -> Category:
        for category in by_name[name]:
            if category.parent_id == (node.pk if node else None):
                return category
        siblings = [c for c in existing if c.parent_id == (node.pk if node else None)]
        taken = {c.slug for c in siblings}
        category = Category(
            parent=node,
            name=name,
            slug=_unique_slug(name, taken, max_length=100, fallback="category"),
            position=max((c.position for c in siblings), default=-1) + 1,
        )
        _validated(category, source, None, f"category “{name}”").save()
        existing.append(category)
        by_name[name].append(category)
        report.categories_created.append(category.path)
        return category

    def only_named(name: str, source: str) -> Category | None:
        matches = by_name[name]
        if len(matches) > 1:
            paths = ", ".join(c.path for c in matches)
            raise ListingError(
                source, None, f"category “{name}” is ambiguous: it exists at {paths}"
            )
        return matches[0] if matches else None

    placed: dict[str, Category] = {}
    # Breadcrumbs place categories; card-only listings then find them, or go under --parent.
    for planned in sorted(planned_categories, key=lambda p: p.ancestors is None):
        if planned.ancestors is not None:
            node = None
            for name in planned.ancestors:
                node = child(node, name, planned.source)
            category = child(node, planned.name, planned.source)
        else:
            category = only_named(planned.name, planned.source)
            if category is None:
                node = None
                if parent:
                    node = only_named(parent, "--parent") or child(None, parent, "--parent")
                category = child(node, planned.name, planned.source)
        if category.description != planned.description:
            if category.path not in report.categories_created:
                report.categories_updated.append(category.path)
            category.description = planned.description
            _validated(category, planned.source, None, f"category “{category.name}”")
            category.save(update_fields=["description"])
        placed[planned.name] = category
    return placed


def _write_explainers(planned_explainers, categories, report, written_files, dry_run):
    existing = list(Explainer.objects.select_related("hero").defer("body", "body_html"))
    by_title = {explainer.title: explainer for explainer in existing}
    by_title_key = {_title_key(explainer.title): explainer for explainer in existing}
    slugs = {explainer.slug for explainer in existing}
    series_names: dict[int, set[str]] = defaultdict(set)
    for explainer_id, name in SeriesItem.objects.values_list("content_object_id", "tag__name"):
        series_names[explainer_id].add(name)
    series = _series_by_name({p.series for p in planned_explainers if p.series})

    now = timezone.now()
    claimed = {by_title[p.title].pk for p in planned_explainers if p.title in by_title}
    new_explainers, new_series_items, changed_explainers, changed_heroes = [], [], [], []
    reseries_ids, placeholder_files = [], set()
    for planned in planned_explainers:
        category = categories[planned.category]
        explainer = by_title.get(planned.title)
        if explainer is None:
            # A corrected title ("Ai" -> "AI", a curly quote) still finds its explainer.
            candidate = by_title_key.get(_title_key(planned.title))
            if candidate is not None and candidate.pk not in claimed:
                explainer = candidate
                claimed.add(candidate.pk)
        if explainer is None:
            if planned.minutes is None:
                raise ListingError(
                    planned.source,
                    planned.line,
                    f"“{planned.title}” is new, but no card listing gives its image, "
                    "series and reading time",
                )
            slug = _unique_slug(planned.title, slugs, max_length=200, fallback="explainer")
            hero = HeroImage(
                key=uuid.uuid5(PLACEHOLDER_KEYS, slug),
                image=placeholder_name(slug),
                alt_text=planned.alt_text,
                width=PLACEHOLDER_SIZE[0],
                height=PLACEHOLDER_SIZE[1],
                is_placeholder=True,
            )
            explainer = Explainer(
                title=planned.title,
                slug=slug,
                category=category,
                excerpt=planned.excerpt,
                hero=hero,
                reading_time=planned.minutes,
                status=Explainer.Status.PUBLISHED,
                published_at=now,
                position=planned.position,
            )
            subject = f"“{planned.title}”"
            _validated(hero, planned.source, planned.line, subject)
            new_explainers.append(_validated(explainer, planned.source, planned.line, subject))
            new_series_items.append((explainer, series[planned.series.casefold()]))
            placeholder_files.add(hero.image.name)
            report.created.append(planned.title)
            continue

        changes = []
        for attribute, value in [
            ("title", planned.title),
            ("excerpt", planned.excerpt),
            ("category_id", category.pk),
            ("position", planned.position),
            ("reading_time", planned.minutes),
        ]:
            if value is not None and getattr(explainer, attribute) != value:
                setattr(explainer, attribute, value)
                changes.append(attribute.removesuffix("_id"))
        hero = explainer.hero
        if hero is not None and hero.is_placeholder:
            if planned.alt_text is not None and hero.alt_text != planned.alt_text:
                hero.alt_text = planned.alt_text
                hero.updated_at = now
                changed_heroes.append(hero)
                changes.append("alt text")
            placeholder_files.add(hero.image.name)
        if planned.series and series_names[explainer.pk] != {
            series[planned.series.casefold()].name
        }:
            reseries_ids.append(explainer.pk)
            new_series_items.append((explainer, series[planned.series.casefold()]))
            changes.append("series")
        if changes:
            _validated(explainer, planned.source, planned.line, f"“{planned.title}”")
            if hero is not None and "alt text" in changes:
                _validated(hero, planned.source, planned.line, f"“{planned.title}”")
            explainer.updated_at = now
            changed_explainers.append(explainer)
            report.updated.append((planned.title, changes))
        else:
            report.unchanged += 1

    HeroImage.objects.bulk_create([e.hero for e in new_explainers], batch_size=BATCH_SIZE)
    Explainer.objects.bulk_create(new_explainers, batch_size=BATCH_SIZE)
    Explainer.objects.bulk_update(
        changed_explainers,
        ["title", "excerpt", "category", "position", "reading_time", "updated_at"],
        batch_size=BATCH_SIZE,
    )
    HeroImage.objects.bulk_update(changed_heroes, ["alt_text", "updated_at"], batch_size=BATCH_SIZE)
    for ids in _batches(reseries_ids):
        SeriesItem.objects.filter(content_object_id__in=ids).delete()
    SeriesItem.objects.bulk_create(
        [SeriesItem(content_object=explainer, tag=tag) for explainer, tag in new_series_items],
        batch_size=BATCH_SIZE,
    )
    if not dry_run:
        for name in sorted(placeholder_files):
            if draw_missing_placeholder(name):
                written_files.append(name)
    return new_explainers + changed_explainers


def _series_by_name(names: set[str]) -> dict[str, Series]:
    """Existing series by case-folded name, creating those the listings introduce."""
    found = {s.name.casefold(): s for s in Series.objects.all()}
    for name in sorted(names):
        if name.casefold() not in found:
            series = Series(name=name)
            series.save()
            found[name.casefold()] = series
    return found


def _title_key(title: str) -> str:
    return slugify(title.replace("’", "'"))


def _unique_slug(text: str, taken: set[str], *, max_length: int, fallback: str) -> str:
    base = slugify(text)[:max_length].strip("-") or fallback
    slug, number = base, 2
    while slug in taken:
        suffix = f"-{number}"
        slug = base[: max_length - len(suffix)].rstrip("-") + suffix
        number += 1
    taken.add(slug)
    return slug


def _batches(items, size=BATCH_SIZE):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch

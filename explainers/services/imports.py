"""Loading the scraped listings: categories, explainers, series and placeholder heroes.

A big run (100,000 cards in thousands of files) is read twice rather than held: once, file by
file, to check every listing and place the categories (keeping only each card's title), then
category by category to write the cards, so that one category's records are in memory at a
time. A run that finds nothing to change writes nothing, and leaves the content version (and
with it every cached page) alone.
"""

import operator
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import reduce
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.text import slugify

from ..cache import content_changed
from ..drawing import draw_missing_placeholder
from ..images import PLACEHOLDER_SIZE, placeholder_name
from ..listings import (
    ImportPlan,
    Listing,
    ListingError,
    PlannedCategory,
    PlannedExplainer,
    merge_listings,
    parse_listing,
)
from ..models import Category, Explainer, HeroImage, Series, SeriesItem
from .cards import cards_refresh
from .counts import live_counts_refresh_all
from .editing import revisions_record_baseline
from .ordering import listings_renumber
from .renditions import hero_renditions_schedule
from .search_index import search_index_refresh

BATCH_SIZE = 500
SLUG_LENGTH = 200
# Placeholder heroes get keys derived from their explainer's slug, so that an import and the
# fixture made from it name the same heroes.
PLACEHOLDER_KEYS = uuid.UUID("5c0a7d1e-8f0b-4d7e-9a57-2a4b8f3c9e10")
BASELINE_COMMENT = "Imported from the listings."
SCRAPED_FIELDS = ["title", "excerpt", "category", "position", "reading_time", "updated_at"]


@dataclass
class ImportReport:
    dry_run: bool = False
    # Titles, when the import was asked to keep them (``titles=True``); the counts always.
    created: list[str] = field(default_factory=list)
    updated: list[tuple[str, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    created_count: int = 0
    updated_count: int = 0
    categories_created: list[str] = field(default_factory=list)
    categories_updated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.created_count} created, {self.updated_count} updated, "
            f"{self.unchanged} unchanged"
        )

    @property
    def changed_anything(self) -> bool:
        return bool(
            self.created_count
            or self.updated_count
            or self.categories_created
            or self.categories_updated
        )


class ImportProgress:
    """Told how an import is going; says nothing. The import_listings command prints it."""

    def parsed(self, done: int, total: int, source: str) -> None:
        """``done`` of ``total`` listings read and checked, the last one ``source``."""

    def written(self, done: int, total: int, category: str) -> None:
        """``done`` of ``total`` cards compared and written, the last ones in ``category``."""

    def recorded(self, done: int, total: int) -> None:
        """``done`` of ``total`` explainers written have their first revision."""

    def step(self, what: str) -> None:
        """A step after the cards (drawing the missing placeholder files)."""


class ListingFiles:
    """Listing files, read and parsed each time one is asked for rather than held in memory:
    ``listings_import`` reads each twice (to check them all, then a category at a time)."""

    def __init__(self, paths):
        self.paths = [Path(path) for path in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Listing:
        path = self.paths[index]
        return parse_listing(path.read_bytes(), str(path))


def hero_ensure_placeholder_file(*, hero: HeroImage) -> bool:
    """Draw a placeholder hero's file if it is missing; say whether it had to."""
    return hero.is_placeholder and draw_missing_placeholder(hero.image.name)


def listings_import(
    *,
    listings,
    parent: str | None = None,
    dry_run: bool = False,
    titles: bool = True,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Create or update categories, explainers, series and placeholder heroes from listings.

    ``listings``: a sequence of Listing records, or a ``ListingFiles`` that reads them when
    asked (each is read twice: see the module's docstring). ``progress`` is told how it goes. One
    transaction: on any error the database is as before and no new file is left behind.
    Scraped fields (title, excerpt, alt text of a placeholder, series, minutes, order) follow the
    listings; what editors own (body, a replaced image, status) is never touched. Nothing is
    written when nothing changed. With ``titles``, the report names the explainers created and
    updated (else it counts them).
    """
    progress = progress or ImportProgress()
    report = ImportReport(dry_run=dry_run)
    written_files: list[str] = []
    # Every listing read and checked, its categories merged; nothing written yet.
    scan = _scan(listings, progress)
    try:
        with transaction.atomic():
            categories = _place_categories(scan.plan.categories, parent, report)
            run = _Run(
                report=report,
                keep_titles=titles,
                series=_series_by_name(scan.series),
                listed=scan.titles,
                unlisted=_existing_explainers(scan.titles),
            )
            total = len(scan.titles)
            for planned_category in scan.plan.categories:
                category = categories[planned_category.name]
                plan = merge_listings(
                    [listings[index] for index in scan.files[planned_category.name]]
                )
                _write_explainers(plan.explainers, category, run)
                # The listings' order, dense again where explainers added in the admin share
                # the category with imported ones (ties keep the older one first).
                listings_renumber(model=Explainer, group_ids={category.pk})
                done = report.created_count + report.updated_count + report.unchanged
                progress.written(done, total, category.name)
            if run.moved_from:
                # Categories explainers left for another: dense again too.
                listings_renumber(model=Explainer, group_ids=run.moved_from)
            if dry_run:
                transaction.set_rollback(True)
            else:
                _record_baselines(run, progress)
                # Bulk writes send no signal: site search indexes the rows written here.
                progress.step("Indexing for search")
                search_index_refresh(explainer_ids=[pk for ids in run.written for pk in ids])
                # ... and their cards (a hero's alt text changed counts as its explainer's),
                # a category at a time, as they were written.
                for ids in run.written:
                    cards_refresh(Explainer.objects.filter(pk__in=ids))
                # Drawn by the worker after the commit, once per shared placeholder file.
                hero_renditions_schedule(heroes=run.heroes_to_render())
                progress.step("Drawing missing placeholder files")
                for name in sorted(run.placeholder_files):
                    if draw_missing_placeholder(name):
                        written_files.append(name)
                if report.created_count or report.updated_count:
                    # Bulk writes send no signal (a category or a series saved did).
                    progress.step("Counting explainers in categories and series")
                    live_counts_refresh_all()
                    content_changed()
    except DatabaseError as error:
        for name in written_files:
            default_storage.delete(name)
        sources = ", ".join(sorted({listing.source for listing in scan.headers}))
        problem = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ListingError(sources, None, f"the database refused the import: {problem}") from error
    except BaseException:
        for name in written_files:
            default_storage.delete(name)
        raise
    return report


@dataclass
class _Scan:
    """What reading every listing once leaves: no card but its title."""

    headers: list[Listing]  # each listing without its entries
    plan: ImportPlan  # the categories alone, merged from every listing
    # Every title listed, once (its card is read again with its category); the value is
    # the index of the first listing naming it until _existing_explainers makes it the id
    # of the explainer with that title (None: none yet).
    titles: dict[str, int | None]
    files: dict[str, list[int]]  # category name -> indexes of its listings, in order
    series: set[str]


def _scan(listings, progress: ImportProgress) -> _Scan:
    """Read every listing once: parse errors, files that disagree about a category, a title
    listed in two categories. Keeps the headers, the titles and the series names."""
    headers: list[Listing] = []
    titles: dict[str, int | None] = {}
    files: dict[str, list[int]] = defaultdict(list)
    series: set[str] = set()
    total = len(listings)
    for index in range(total):
        listing = listings[index]
        headers.append(replace(listing, entries=()))
        files[listing.category].append(index)
        for entry in listing.entries:
            first = titles.setdefault(entry.title, index)
            if first != index and headers[first].category != listing.category:
                raise _category_conflict(listings[first], listing, entry)
            if entry.series:
                series.add(entry.series)
        progress.parsed(index + 1, total, listing.source)
    # The categories' descriptions and breadcrumbs, checked across all their listings.
    plan = merge_listings(headers)
    return _Scan(headers, plan, titles, dict(files), series)


def _category_conflict(first: Listing, listing: Listing, entry) -> ListingError:
    # As merge_listings says it, had it read both at once.
    line = next((e.line for e in first.entries if e.title == entry.title), None)
    where = f"{first.source}:{line}" if line else first.source
    return ListingError(
        listing.source,
        entry.line,
        f"“{entry.title}”: category “{listing.category}” disagrees with “{first.category}” "
        f"in {where}",
    )


def _existing_explainers(listed: dict[str, int | None]) -> dict[str, int]:
    """Give each listed title the id of the explainer that has it (None: none has it), and
    return the explainers no listing names by title, by title key (a corrected title finds
    its explainer there). One pass over the table, two columns at a time."""
    for title in listed:
        listed[title] = None
    unlisted: dict[str, int] = {}
    rows = Explainer.objects.values_list("pk", "title").iterator(chunk_size=5000)
    for pk, title in rows:  # the last one wins where titles repeat, as in the admin's order
        if title in listed:
            listed[title] = pk
        else:
            unlisted[_title_key(title)] = pk
    return unlisted


@dataclass
class _Run:
    """What the categories of one import share as they are written one after the other."""

    report: ImportReport
    keep_titles: bool
    series: dict[str, Series]
    listed: dict[str, int | None]  # title -> id of the explainer with that title
    unlisted: dict[str, int]  # title key -> id of an explainer no listing names by title
    claimed: set[int] = field(default_factory=set)  # unlisted ones given a corrected title
    now: datetime = field(default_factory=timezone.now)
    written: list[list[int]] = field(default_factory=list)  # ids, a list per category
    moved_from: set[int] = field(default_factory=set)  # categories explainers left
    placeholder_files: set[str] = field(default_factory=set)
    renditions: dict[tuple[str, str], HeroImage] = field(default_factory=dict)
    retried: list[HeroImage] = field(default_factory=list)

    def render(self, hero: HeroImage | None) -> None:
        """Have the hero's renditions drawn after the commit if it lacks them: once per file
        and focal point, however many heroes share them."""
        if hero is None or not hero.original or hero.renditions_ready:
            return
        if hero.pk and hero.renditions_problem:
            self.retried.append(hero)
        else:
            self.renditions.setdefault((hero.original, hero.wanted_renditions_key), hero)

    def heroes_to_render(self) -> list[HeroImage]:
        return [*self.renditions.values(), *self.retried]


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


def _write_explainers(planned_explainers: list[PlannedExplainer], category: Category, run):
    """Create and update the explainers of one category's listings, in a few bulk queries."""
    report = run.report
    matches: list[int | None] = []
    for planned in planned_explainers:
        pk = run.listed.get(planned.title)
        if pk is None:
            # A corrected title ("Ai" -> "AI", a curly quote) still finds its explainer.
            candidate = run.unlisted.get(_title_key(planned.title))
            if candidate is not None and candidate not in run.claimed:
                pk = candidate
                run.claimed.add(candidate)
        matches.append(pk)
    found = _explainers_by_pk([pk for pk in matches if pk is not None])
    series_names: dict[int, set[str]] = defaultdict(set)
    for ids in _batches(list(found)):
        rows = SeriesItem.objects.filter(content_object_id__in=ids)
        for explainer_id, name in rows.values_list("content_object_id", "tag__name"):
            series_names[explainer_id].add(name)
    slugs = _taken_slugs(
        [_base_slug(p.title) for p, pk in zip(planned_explainers, matches, strict=True) if not pk]
    )

    series = run.series
    new_explainers, new_series_items, changed_explainers, changed_heroes = [], [], [], []
    reseries_ids = []
    for planned, pk in zip(planned_explainers, matches, strict=True):
        if pk is None:
            if planned.minutes is None:
                raise ListingError(
                    planned.source,
                    planned.line,
                    f"“{planned.title}” is new, but no card listing gives its image, "
                    "series and reading time",
                )
            slug = _unique_slug(planned.title, slugs, max_length=SLUG_LENGTH, fallback="explainer")
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
                published_at=run.now,
                position=planned.position,
            )
            subject = f"“{planned.title}”"
            _validated(hero, planned.source, planned.line, subject)
            new_explainers.append(_validated(explainer, planned.source, planned.line, subject))
            new_series_items.append((explainer, series[planned.series.casefold()]))
            run.placeholder_files.add(hero.image.name)
            report.created_count += 1
            if run.keep_titles:
                report.created.append(planned.title)
            continue

        explainer = found[pk]
        if explainer.category_id != category.pk:
            run.moved_from.add(explainer.category_id)
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
                hero.updated_at = run.now
                changed_heroes.append(hero)
                changes.append("alt text")
            run.placeholder_files.add(hero.image.name)
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
            explainer.updated_at = run.now
            changed_explainers.append(explainer)
            report.updated_count += 1
            if run.keep_titles:
                report.updated.append((planned.title, changes))
        else:
            report.unchanged += 1

    HeroImage.objects.bulk_create([e.hero for e in new_explainers], batch_size=BATCH_SIZE)
    Explainer.objects.bulk_create(new_explainers, batch_size=BATCH_SIZE)
    Explainer.objects.bulk_update(changed_explainers, SCRAPED_FIELDS, batch_size=BATCH_SIZE)
    HeroImage.objects.bulk_update(changed_heroes, ["alt_text", "updated_at"], batch_size=BATCH_SIZE)
    for ids in _batches(reseries_ids):
        SeriesItem.objects.filter(content_object_id__in=ids).delete()
    SeriesItem.objects.bulk_create(
        [SeriesItem(content_object=explainer, tag=tag) for explainer, tag in new_series_items],
        batch_size=BATCH_SIZE,
    )
    # Bulk writes send no signals: the lead series of what was given series here.
    reseried = list(dict.fromkeys(explainer.pk for explainer, _ in new_series_items))
    for ids in _batches(reseries_ids + reseried):
        Explainer.objects.filter(pk__in=ids).refresh_lead_series()
    written = new_explainers + changed_explainers
    if written:
        run.written.append([explainer.pk for explainer in written])
    for explainer in written:
        run.render(explainer.hero)


def _explainers_by_pk(ids: list[int]) -> dict[int, Explainer]:
    """The explainers ``ids`` with their heroes, without the bodies the import never reads."""
    found = {}
    for batch in _batches(ids):
        rows = Explainer.objects.filter(pk__in=batch).select_related("hero")
        found.update((row.pk, row) for row in rows.defer("body", "body_html"))
    return found


def _record_baselines(run: _Run, progress: ImportProgress) -> None:
    """A first revision of each explainer written, a revision per category (one revision
    holds its versions in memory until it is saved)."""
    total, done = sum(len(ids) for ids in run.written), 0
    # The versions follow each explainer's series items, which name their series: both
    # prefetched, or each would cost a query.
    series_items = Prefetch("seriesitem_set", SeriesItem.objects.select_related("tag"))
    for ids in run.written:
        for batch in _batches(ids, 2000):
            done += revisions_record_baseline(
                records=Explainer.objects.filter(pk__in=batch).prefetch_related(series_items),
                comment=BASELINE_COMMENT,
            )
            progress.recorded(done, total)


def _base_slug(title: str) -> str:
    return slugify(title)[:SLUG_LENGTH].strip("-") or "explainer"


def _taken_slugs(bases: list[str]) -> set[str]:
    """The slugs already in use that new explainers with slugs made from ``bases`` could
    clash with: the bases themselves, and where one is taken (or wanted twice), every slug
    a numbered variant of it could be (``_unique_slug``)."""
    taken: set[str] = set()
    for batch in _batches(sorted(set(bases))):
        taken.update(Explainer.objects.filter(slug__in=batch).values_list("slug", flat=True))
    wanted = Counter(bases)
    clashing = sorted({base for base, count in wanted.items() if count > 1 or base in taken})
    # "base-2", or for a base near the length limit, its start and "-2": all begin so.
    prefixes = sorted({base[: SLUG_LENGTH - 12].rstrip("-") for base in clashing})
    for batch in _batches(prefixes, 100):
        starts = reduce(operator.or_, (Q(slug__startswith=prefix) for prefix in batch))
        taken.update(Explainer.objects.filter(starts).values_list("slug", flat=True))
    return taken


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

"""What categories and series keep of their explainers: how many are live (``live_count``)
and when a published one last changed for readers (``last_change``); categories also when
the first scheduled one comes out (``next_publication``) and how many subcategories they
have (``subcategory_count``). The home, section and series pages, the sitemap and the API
read these from the rows instead of counting or sorting 100,000 explainers on every
request; a category's page reads from its own row how long it may be kept and whether it
has subcategories to list.

A category's explainer figures take in its subcategories'. The count is of live explainers
(published or scheduled) and the last change of published ones; readers' figures
(``with_published_counts()``, ``with_due_since()``) take in the scheduled ones whose time has
come when read, as that time comes without a write.

Kept in the transaction of each change: an explainer's save or deletion and a series item's
(explainers/signals.py), a category's addition or move (Category.save) and deletion
(signals), and the bulk writers (bulk publishing, the importer, load_fixture) through the
functions here.
"""

from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, Count, F, Max, Min, Q, When
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Category, Explainer, Series, SeriesItem, paths_along

# What each row keeps, as _refresh_all() counts it.
CATEGORY_FIGURES = ["live_count", "last_change", "next_publication", "subcategory_count"]
SERIES_FIGURES = ["live_count", "last_change"]


def live_counts_refresh(
    *, category_ids: Iterable[int] = (), series_ids: Iterable[int] = ()
) -> None:
    """Count again these categories (and every category above them) and these series."""
    category_ids, series_ids = set(category_ids), set(series_ids)
    if category_ids:
        paths = Category.objects.filter(pk__in=category_ids).values_list("path", flat=True)
        Category.objects.recount_live_along(list(paths))
    if series_ids:
        Series.objects.filter(pk__in=series_ids).recount_live()


def live_counts_refresh_for(*, explainer_ids: Iterable[int]) -> None:
    """Count again what these explainers are counted in: after a bulk write to them."""
    explainer_ids = list(explainer_ids)
    live_counts_refresh(
        category_ids=Explainer.objects.filter(pk__in=explainer_ids).values_list(
            "category_id", flat=True
        ),
        series_ids=SeriesItem.objects.filter(content_object_id__in=explainer_ids).values_list(
            "tag_id", flat=True
        ),
    )


def live_counts_refresh_all() -> None:
    """Count again every category and series: after an import or a load, which write in bulk.

    One grouped query of each category's own explainers, added up the tree here, and one of
    each series' members (a count per category over its subtree took 28 s at 100,000
    explainers); then only the rows whose figures changed are written, locked first."""
    with transaction.atomic():
        _refresh_all()


def _refresh_all() -> None:
    now = timezone.now()
    own = {
        category: (count, change, upcoming)
        for category, count, change, upcoming in Explainer.objects.live()
        .order_by()
        .values_list("category")
        .annotate(
            count=Count("pk"),
            change=Max(
                Case(When(published_at__lte=now, then=Greatest("updated_at", "published_at")))
            ),
            upcoming=Min(Case(When(published_at__gt=now, then="published_at"))),
        )
    }
    categories = list(
        Category.objects.select_for_update()
        .order_by("pk")
        .only("path", "parent", *CATEGORY_FIGURES)
    )
    totals = {category.path: (0, None, None) for category in categories}
    subcategories = Counter(category.parent_id for category in categories)
    for category in categories:
        count, change, upcoming = own.get(category.pk, (0, None, None))
        for path in paths_along(category.path):
            if path in totals:
                total, latest, first = totals[path]
                totals[path] = (total + count, _later(latest, change), _earlier(first, upcoming))
    _write_figures(
        Category,
        categories,
        CATEGORY_FIGURES,
        lambda category: (*totals[category.path], subcategories[category.pk]),
    )

    member = "content_object__"
    members = (
        SeriesItem.objects.filter(content_object__in=Explainer.objects.live())
        .order_by()
        .values_list("tag")
        .annotate(
            count=Count("pk"),
            change=Max(
                Case(
                    When(
                        **{f"{member}published_at__lte": now},
                        then=Greatest(f"{member}updated_at", f"{member}published_at"),
                    )
                )
            ),
        )
    )
    by_series = {tag: (count, change) for tag, count, change in members}
    series = list(Series.objects.select_for_update().order_by("pk").only(*SERIES_FIGURES))
    _write_figures(Series, series, SERIES_FIGURES, lambda one: by_series.get(one.pk, (0, None)))


def _later(one, other):
    return max(filter(None, [one, other]), default=None)


def _earlier(one, other):
    return min(filter(None, [one, other]), default=None)


def _write_figures(model, rows, names, figures) -> None:
    changed = []
    for row in rows:
        if tuple(getattr(row, name) for name in names) != figures(row):
            for name, figure in zip(names, figures(row), strict=True):
                setattr(row, name, figure)
            changed.append(row)
    # Small statements: bulk_update's CASE costs the square of its rows.
    model.objects.bulk_update(changed, names, batch_size=100)


def counted_state(explainer_id: int | None) -> tuple[bool, int] | None:
    """What an explainer stored counts towards, (live, category id); None if not stored."""
    if explainer_id is None:
        return None
    row = Explainer.objects.filter(pk=explainer_id).values("status", "published_at", "category")
    row = row.first()
    if row is None:
        return None
    live = row["status"] == Explainer.Status.PUBLISHED and row["published_at"] is not None
    return live, row["category"]


def live_counts_after_save(*, explainer: Explainer, before: tuple[bool, int] | None) -> None:
    """Count again what a saved explainer left or joined (``before``: its counted_state() as
    it was). A save that leaves it published in the same category (most saves) only moves
    the last change of its categories and series; a scheduled one is counted again (its
    time may have moved); one out of readers' sight before and after changes nothing."""
    was_live, old_category = before or (False, None)
    is_live = explainer.is_live()
    if not (was_live or is_live):
        return
    series = SeriesItem.objects.filter(content_object=explainer).values_list("tag_id", flat=True)
    stays = (was_live, old_category) == (is_live, explainer.category_id)
    if stays and explainer.is_published():
        chain = paths_along(Category.objects.get(pk=explainer.category_id).path)
        _note_change(Category.objects.filter(path__in=chain), explainer.last_modified)
        _note_change(Series.objects.filter(pk__in=series), explainer.last_modified)
        return
    live_counts_refresh(
        category_ids={explainer.category_id, old_category} - {None},
        series_ids=series if was_live != is_live else (),
    )


def series_count_step(*, item: SeriesItem, step: int) -> None:
    """A live explainer joined (``step`` 1) or left (-1) a series. (One leaving leaves the
    series' last change as it is: the next count again sets it.)"""
    explainer = Explainer.objects.live().filter(pk=item.content_object_id).first()
    if explainer is None:
        return
    series = Series.objects.filter(pk=item.tag_id)
    series.update(live_count=F("live_count") + step)
    if step > 0 and explainer.is_published():
        _note_change(series, explainer.last_modified)


def _note_change(rows, change) -> None:
    """``change`` (a published explainer's) is the latest of these rows', if it is later."""
    rows.filter(Q(last_change__lt=change) | Q(last_change=None)).update(last_change=change)

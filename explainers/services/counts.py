"""The live counts kept on categories and series (``live_count``): the home, section and
series pages, the sitemap and the API read their totals from these rows instead of counting
100,000 explainers on every request.

A category's count takes in its subcategories'. Both count live explainers (published or
scheduled); readers' totals (``with_published_counts()``) take out the scheduled ones when
read, as their time comes without a write.

Kept in the transaction of each change: an explainer's save or deletion and a series item's
(explainers/signals.py), a category's move (Category.save), and the bulk writers (bulk
publishing, the importer) through the functions here.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, F

from ..models import Category, Explainer, Series, SeriesItem, paths_along


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

    One grouped count of each category's own live explainers, added up the tree here, and
    one of each series' members (a count per category over its subtree took 28 s at
    100,000 explainers); then only the rows whose count changed are written, locked first."""
    with transaction.atomic():
        _refresh_all()


def _refresh_all() -> None:
    own = dict(Explainer.objects.live().order_by().values_list("category").annotate(n=Count("pk")))
    categories = list(
        Category.objects.select_for_update().order_by("pk").only("path", "live_count")
    )
    totals = dict.fromkeys((category.path for category in categories), 0)
    for category in categories:
        for path in paths_along(category.path):
            if path in totals:
                totals[path] += own.get(category.pk, 0)
    _write_counts(Category, categories, lambda category: totals[category.path])

    members = (
        SeriesItem.objects.filter(content_object__in=Explainer.objects.live())
        .order_by()
        .values_list("tag")
        .annotate(n=Count("pk"))
    )
    by_series = dict(members)
    series = list(Series.objects.select_for_update().order_by("pk").only("live_count"))
    _write_counts(Series, series, lambda one: by_series.get(one.pk, 0))


def _write_counts(model, rows, counted) -> None:
    changed = []
    for row in rows:
        if row.live_count != counted(row):
            row.live_count = counted(row)
            changed.append(row)
    # Small statements: bulk_update's CASE costs the square of its rows.
    model.objects.bulk_update(changed, ["live_count"], batch_size=100)


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
    it was); nothing when it stays out of readers' sight, or live in the same category, as
    most saves do."""
    was_live, old_category = before or (False, None)
    is_live = explainer.is_live()
    if not (was_live or is_live) or (was_live, old_category) == (is_live, explainer.category_id):
        return
    series = SeriesItem.objects.filter(content_object=explainer).values_list("tag_id", flat=True)
    live_counts_refresh(
        category_ids={explainer.category_id, old_category} - {None},
        series_ids=series if was_live != is_live else (),
    )


def series_count_step(*, item: SeriesItem, step: int) -> None:
    """A live explainer joined (``step`` 1) or left (-1) a series."""
    if Explainer.objects.live().filter(pk=item.content_object_id).exists():
        Series.objects.filter(pk=item.tag_id).update(live_count=F("live_count") + step)

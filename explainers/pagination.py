"""Pages of readers' listings that cost the same at page 600 as at page 2."""

from django.core.paginator import Paginator
from django.db.models import QuerySet


class ListingPaginator(Paginator):
    """A listing's pages, each picked by its rows' ids before anything is joined to them.

    Sliced as it is, a deep page (``?page=600`` of a category of 20,000) has the database
    join every row before the ones it shows to its hero, category and series, and sort them
    all, only to skip them. Here the rows an OFFSET skips are read from the listing's own
    columns (an index serves them) and only the page's rows are joined: still one query.

    ``count``, when the listing's size is known (kept on a row), spares counting it."""

    def __init__(self, object_list, per_page, *args, count=None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        if count is not None:
            self.count = count  # Paginator.count is a cached_property: this is its value

    def _get_page(self, object_list, number, paginator):
        # The hook Paginator.page() hands the page's slice to.
        if isinstance(object_list, QuerySet) and object_list.query.low_mark:
            page_ids = object_list.values("pk")
            object_list = self.object_list.filter(pk__in=page_ids)
        return super()._get_page(object_list, number, paginator)

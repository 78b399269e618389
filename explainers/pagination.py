"""Pages of listings that cost about the same at page 600 as at page 2."""

from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet

from .models import count_of


class ListingPaginator(Paginator):
    """A listing's pages, each picked by its rows' ids before anything is joined to them, and
    from whichever end of the listing is nearer.

    Sliced as it is, a deep page (``?page=600`` of a category of 20,000) has the database
    join every row before the ones it shows to its hero, category and series, and sort them
    all, only to skip them. Here the rows an OFFSET skips are read from the listing's own
    columns (an index serves them) and only the page's rows are joined: still one query.
    A page past the middle is read in the reverse order (the same index, backwards), so the
    last page skips nothing and no page skips more than half the listing.

    ``count``, when the listing's size is known (kept on a row), spares counting it; else
    the first page, the one most read, brings the listing's size along with its rows (a
    COUNT(*) subquery the database runs once): one round trip instead of two."""

    # Whether ``count`` is the listing's exact size, which reading from the end relies on.
    count_is_exact = True

    def __init__(self, object_list, per_page, *args, count=None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        if count is not None:
            self.count = count  # Paginator.count is a cached_property: this is its value

    def page(self, number):
        counted = "count" in vars(self)  # Paginator.count is a cached_property
        if number == 1 and not counted and isinstance(self.object_list, QuerySet):
            return self.first_page()
        # As Paginator.page(), with the rows picked by page_rows().
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.page_rows(bottom, top), number, self)

    def first_page(self):
        """Page 1 and the listing's size from one query (as Paginator.page(1) otherwise)."""
        rows = list(self.first_page_rows())
        self.count = rows[0].listing_size if rows else 0
        if not rows and not self.allow_empty_first_page:
            raise EmptyPage(self.error_messages["no_results"])
        if self.count > self.per_page + self.orphans:
            rows = rows[: self.per_page]
        return self._get_page(rows, 1, self)

    def first_page_rows(self) -> QuerySet:
        """Page 1's rows and its orphans, each with the listing's size (``listing_size``)."""
        listing = self.object_list
        # Not correlated to the outer rows: run once, as the COUNT query it replaces.
        sized = listing.annotate(listing_size=count_of(listing))
        return sized[: self.per_page + self.orphans]

    def page_rows(self, bottom: int, top: int):
        """The rows from ``bottom`` up to ``top`` (0-based, ``top`` excluded)."""
        listing = self.object_list
        if not isinstance(listing, QuerySet) or bottom == 0:
            return listing[bottom:top]
        if self.count_is_exact and self.count - top < bottom:
            ids = listing.reverse().values("pk")[self.count - top : self.count - bottom]
        else:
            ids = listing.values("pk")[bottom:top]
        return listing.filter(pk__in=ids)

"""What keeps the admin's lists as quick on 100,000 explainers as on 85 (issue 15).

- ``EstimatedCountPaginator``: an unfiltered list of a big table on PostgreSQL is counted from
  the planner's estimate instead of a ``COUNT(*)`` of every row on every page; the list says
  "about N" then (templates/admin/explainers/explainer/pagination.html).
- ``AutocompleteFilter``: a list filter whose choice is a select fed by the admin's
  autocomplete view (as the change form's autocomplete fields are), instead of a link per
  category or series in the sidebar; static/explainers/admin/autocomplete-filter.js applies
  the choice (no inline script: the admin's CSP has none).
- ``count_of``: a count column computed for the rows shown, not a ``Count()`` join that
  groups the whole table on every page; ``is_autocomplete`` tells the requests that show no
  columns at all.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import CharField, F, Func, IntegerField, QuerySet, Subquery, Value
from django.utils.functional import cached_property

from .pagination import ListingPaginator

# Below this many rows an exact count costs next to nothing, and the list says the number.
ESTIMATE_FROM = 1000


class EstimatedCountPaginator(ListingPaginator):
    """Pages of a change list, counted exactly when the list is filtered (or searched) or the
    table is small; for a whole big table on PostgreSQL, the number of rows is the planner's
    estimate (``pg_class.reltuples``, which ANALYZE and autovacuum keep close). ``is_estimate``
    says which. A deep page picks its rows' ids before anything is joined to them (as
    readers' listings do): page 2,000 skips index entries, not joined rows with bodies.

    The whole table costs one query either way: a count that stops at ESTIMATE_FROM rows and
    the estimate, together; the estimate is taken when the count reached its limit."""

    is_estimate = False

    @cached_property
    def count(self):
        counted = self._whole_table_count()
        return super().count if counted is None else counted

    def _whole_table_count(self) -> int | None:
        """The rows of a whole table on PostgreSQL: exact below ESTIMATE_FROM, else estimated;
        None for anything else, or when the table was never analysed."""
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return None
        query = queryset.query
        if query.where or query.is_sliced or query.distinct or query.combinator:
            return None
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        bounded, params = queryset.order_by().values("pk")[:ESTIMATE_FROM].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT COUNT(*) FROM ({bounded}) AS bounded), "
                "(SELECT reltuples FROM pg_class WHERE oid = %s::regclass)",
                [*params, queryset.model._meta.db_table],
            )
            counted, estimate = cursor.fetchone()
        if counted < ESTIMATE_FROM:
            return counted
        # -1: never analysed (a big table is counted then, until autovacuum has been).
        if estimate is None or estimate < ESTIMATE_FROM:
            return None
        self.is_estimate = True
        return int(estimate)

    def page(self, number):
        number = self.validate_number(number)
        if not self.is_estimate:
            return super().page(number)
        # A whole page even at the estimated end: the rows past an estimate that fell short
        # stay within reach of the last page.
        bottom = (number - 1) * self.per_page
        return self._get_page(self.page_rows(bottom, bottom + self.per_page), number, self)

    @property
    def count_is_exact(self):
        return not self.is_estimate


class UncountedPaginator(Paginator):
    """Pages for a select's search (the autocomplete view, which asks only whether there is a
    next page): each page reads one row more than it shows instead of counting every match,
    so a common term stops at the first page's rows."""

    def validate_number(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        # All a page needs of the count: whether there is a row past it.
        self.count = bottom + len(rows)
        return self._get_page(rows[: self.per_page], number, self)


def is_autocomplete(request) -> bool:
    """Whether ``request`` is for the admin's autocomplete view (a select's search), which
    shows names only: no count column is worth computing for it."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.url_name == "autocomplete"


def count_of(queryset: QuerySet, **lookups) -> Subquery:
    """The number of rows of ``queryset`` matching ``lookups`` (an ``OuterRef`` among them), as
    a correlated subquery for a count column: PostgreSQL computes it after the page's LIMIT,
    for the rows shown, and each is an index lookup."""
    counted = (
        queryset.filter(**lookups)
        .order_by()
        .annotate(count=Func(template="COUNT(*)", output_field=IntegerField()))
        .values("count")
    )
    return Subquery(counted, output_field=IntegerField())


class TreePath(Func):
    """A category's path as the tree is ordered: parents before their children, siblings by
    slug. "/" is made the lowest character (a space, which no slug has) and paths compare
    byte by byte: otherwise "ai-safety" ("-" < "/") would come between "ai" and "ai/agents",
    and a linguistic collation, which ignores punctuation, would interleave whole branches."""

    function = "REPLACE"
    output_field = CharField()

    def __init__(self, path="path"):
        super().__init__(F(path), Value("/"), Value(" "))

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = self.as_sql(compiler, connection, **extra)
        return f'{sql} COLLATE "C"', params


class AutocompleteFilter(admin.SimpleListFilter):
    """Filter by one related record, picked in a select that searches as one types (the
    related admin's autocomplete view and search fields), for lists whose sidebar would
    otherwise hold a link per category or series.

    ``field_name`` is the model's relation; the parameter is the one Django's related filter
    uses (``category__id__exact``), so that links to a filtered list keep working. Only the
    chosen record is read (its name, for the select and ``lookup_choices``)."""

    template = "admin/explainers/autocomplete_filter.html"
    field_name = ""

    def __init__(self, request, params, model, model_admin):
        self.field = model._meta.get_field(self.field_name)
        self.field_path = self.field_name
        self.parameter_name = f"{self.field_name}__id__exact"
        self.title = self.field.verbose_name
        self.admin_site = model_admin.admin_site
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        value = self.value()
        if value is None:
            return []
        if not value.isdigit():
            raise IncorrectLookupParameters(
                f"{self.parameter_name} must be the id of a {self.field.verbose_name}"
            )
        related = self.field.remote_field.model._default_manager.filter(pk=value)
        return [(str(record.pk), str(record)) for record in related]

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.parameter_name: self.value()})

    def choices(self, changelist):
        widget = AutocompleteSelect(self.field, self.admin_site)
        yield {
            "name": self.parameter_name,
            "attrs": widget.build_attrs(
                {"id": f"filter-{self.field_name}", "aria-label": f"By {self.title}"}
            ),
            "selected": self.lookup_choices[0] if self.lookup_choices else None,
            # The list with this filter cleared (and back to the first page), which the
            # script adds the chosen record to.
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }

    @classmethod
    def media(cls):
        """The select's scripts and styles (Django's own select2 set) and ours."""
        return AutocompleteSelect(None, None).media + forms.Media(
            js=["explainers/admin/autocomplete-filter.js"]
        )

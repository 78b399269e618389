"""Cursor pagination: keyset over a list's sort keys and its primary key.

A cursor holds the sort keys of the last row a page showed, signed (a caller cannot forge a
position, nor make the database compare against values of its choosing) and bound to the
ordering it was made for. The next page is the rows after it, ``WHERE (k1, k2, pk) > (…)``,
so it neither repeats nor skips a row when others are added or removed in between, and costs
an index seek where the ordering has an index, however deep the page.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models import F, Q

CURSOR_SALT = "api.cursor"


class BadCursor(ValueError):
    """A cursor this API did not give for this ordering; the message says so."""


@dataclass(frozen=True)
class SortKey:
    field: str  # a field, a lookup across relations or an annotation of the queryset
    descending: bool = False
    # What the value is, to read it back from a cursor: "int", "str" or "datetime".
    kind: str = "int"


@dataclass(frozen=True)
class Ordering:
    """A list's order: keys that end with the primary key, so that no two rows tie."""

    name: str
    keys: tuple[SortKey, ...]

    def aliases(self) -> list[str]:
        return [f"cursor_key_{index}" for index in range(len(self.keys))]


def page_of(queryset, ordering: Ordering, cursor: str | None, limit: int):
    """Up to ``limit`` rows of ``queryset`` in ``ordering``, after ``cursor`` (from the
    start without one), and the cursor of the page after them (None on the last page).
    One query: the row after the page is fetched to tell whether there is one."""
    aliases = ordering.aliases()
    keyed = queryset.annotate(
        **{alias: F(key.field) for alias, key in zip(aliases, ordering.keys, strict=True)}
    ).order_by(
        *(
            f"-{alias}" if key.descending else alias
            for alias, key in zip(aliases, ordering.keys, strict=True)
        )
    )
    if cursor:
        keyed = keyed.filter(_after(ordering, decode_cursor(cursor, ordering)))
    rows = list(keyed[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = [getattr(rows[-1], alias) for alias in aliases]
    return rows, encode_cursor(ordering, last)


# Search results come ranked (explainers.search ranks its best matches, and the ranking
# moves with the content): a cursor names the last one shown and where it was.
RANKING = Ordering("relevance", (SortKey("place"), SortKey("pk")))


def place_in_ranking(ids: list[int], cursor: str | None, limit: int) -> tuple[int, str | None]:
    """Where the page after ``cursor`` starts among the ranked ``ids`` (right after the last
    one shown, wherever it is ranked now; at its old place if it is no longer found), and the
    cursor of the page after this one (None on the last page)."""
    start = 0
    if cursor:
        place, last = decode_cursor(cursor, RANKING)
        start = ids.index(last) + 1 if last in ids else place
    end = start + limit
    if end >= len(ids):
        return start, None
    return start, encode_cursor(RANKING, [end, ids[end - 1]])


def _after(ordering: Ordering, values: list) -> Q:
    """Rows after ``values`` in ``ordering``: the row comparison spelled out for keys that
    may run in different directions, led by a bound on the first key alone (the range an
    index scan starts from)."""
    aliases = ordering.aliases()
    condition = None
    for alias, key, value in reversed(list(zip(aliases, ordering.keys, values, strict=True))):
        beyond = Q(**{f"{alias}__{'lt' if key.descending else 'gt'}": value})
        condition = beyond if condition is None else beyond | (Q(**{alias: value}) & condition)
    first, value = ordering.keys[0], values[0]
    return Q(**{f"{aliases[0]}__{'lte' if first.descending else 'gte'}": value}) & condition


def encode_cursor(ordering: Ordering, values: list) -> str:
    spelled = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    return signing.dumps([ordering.name, spelled], salt=CURSOR_SALT, compress=True)


def decode_cursor(cursor: str, ordering: Ordering) -> list:
    try:
        name, spelled = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise BadCursor("cursor: not one this API gave; pass `next` on as it is") from None
    if name != ordering.name or not isinstance(spelled, list):
        raise BadCursor(f"cursor: made for another order than “{ordering.name}”")
    if len(spelled) != len(ordering.keys):
        raise BadCursor("cursor: not one this API gave; pass `next` on as it is")
    return [_read(key, value) for key, value in zip(ordering.keys, spelled, strict=True)]


def _read(key: SortKey, value):
    readers = {
        "int": lambda v: v if isinstance(v, int) else None,
        "str": lambda v: v if isinstance(v, str) else None,
        "datetime": lambda v: datetime.fromisoformat(v) if isinstance(v, str) else None,
    }
    read = readers[key.kind](value)
    if read is None:
        raise BadCursor("cursor: not one this API gave; pass `next` on as it is")
    return read

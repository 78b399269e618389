"""Site search: what a query may be, how it matches and ranks on each database, how a
misspelled word is corrected, and how hits are shown. The search page and the API call
``search()``.

Both databases search a stored index (services.search_index keeps it): PostgreSQL the
``SearchDocument.vector`` column (GIN), ranked by ``ts_rank`` on it; SQLite an FTS5 table,
ranked by bm25 with column weights. Every query word is needed (AND); a query that finds
nothing has its words that are not in the vocabulary of published explainers corrected to
the nearest indexed word (trigram similarity, as pg_trgm measures it), and when even that
finds nothing, explainers with any of the words are shown.

A search costs about the same at 100,000 explainers as at 100: it reads at most the newest
``RANKED_POOL`` matches (an index gives them in that order), ranks those and keeps the best
``CANDIDATES`` to page through. A word in a few hundred explainers has every match ranked; a
word in tens of thousands has its newest 1,000 ranked and the page says "more than 1,000
results" (the count comes from the same query: nothing counts every match). As with web
search engines, a few hundred results are offered; a more precise query finds the rest.
Body text is matched from the index and never sorted on; snippets are made for the page's
rows only.
"""

import re
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connections
from django.db.models import Case, Count, F, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Concat

from .models import Explainer, SearchTerm, SeriesItem
from .services.search_index import FTS_TABLE, SEARCH_CONFIG, search_terms_catch_up

MAX_QUERY_LENGTH = 200
# Words a query is searched for (the rest are dropped): each is a term of the index query.
MAX_WORDS = 8
# How many of the newest matches are read and ranked; counting stops there too ("more than
# 1,000 results").
RANKED_POOL = 1000
# How many of those, the best, one can page through.
CANDIDATES = 300
# SQLite's bm25 weights, in FTS_COLUMNS' order: title, excerpt, body, alt text, series,
# category (PostgreSQL's are the A-D of services.search_index.POSTGRES_WEIGHTS).
BM25_WEIGHTS = (10.0, 4.0, 1.0, 2.0, 2.0, 2.0)
# A word shorter than this is not corrected (too many words are near it), nor one longer
# than the vocabulary's words.
CORRECTABLE_LENGTHS = range(4, SearchTerm._meta.get_field("word").max_length + 1)
# How near a correction must be (pg_trgm's default threshold), and how far its length may be.
SIMILARITY_THRESHOLD = 0.3
LENGTH_SLACK = 3
CORRECTION_CANDIDATES = 30
SUGGESTIONS = 8
# Categories and series a search's results are counted by, the commonest first.
FACETS = 10
MAX_SUGGEST_LENGTH = 60

# What a snippet shows a passage of.
PASSAGE = Concat("excerpt", Value(" "), "body", output_field=TextField())
WORD = re.compile(r"\w+")
# Headlines come back from the database with these around each hit (the rest is editors'
# text, which the template escapes like any other).
HIT_START, HIT_END = "\x02", "\x03"
HIT = re.compile(f"{HIT_START}(.*?){HIT_END}", re.DOTALL)
SNIPPET_WORDS = 30


class UnsearchableQuery(ValueError):
    """A query the page answers with advice instead of results."""


def checked_query(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise UnsearchableQuery("Type a word or two to search the explainers.")
    if len(text) > MAX_QUERY_LENGTH:
        raise UnsearchableQuery(
            f"That search is {len(text)} characters long; keep it under {MAX_QUERY_LENGTH}."
        )
    if not WORD.search(text):
        raise UnsearchableQuery("Search for words: punctuation alone matches nothing.")
    return text


def words_of(text: str) -> list[str]:
    """The query's words, lowercased, each once, at most MAX_WORDS of them."""
    return list(dict.fromkeys(word.lower() for word in WORD.findall(text)))[:MAX_WORDS]


@dataclass
class Facet:
    """A category (``key``: its path) or series (its slug) among the results."""

    key: str
    name: str
    count: int


@dataclass
class SearchResults:
    """What ``search()`` found: a sequence of the ranked explainers (for a Paginator: a slice
    loads those rows, with their snippets), and what the page says about them."""

    explainers: object  # the queryset searched; pages are loaded from it
    asked: str  # the query as given (checked)
    words: list[str]  # the words searched for, corrected: what snippets mark
    corrected: str | None  # the query searched instead of ``asked``, if words were corrected
    any_word: bool  # no explainer has every word: these have some of them
    ids: list[int]  # the ranked results (at most CANDIDATES), best first
    match_count: int  # how many match, counted up to RANKED_POOL (+1 past it)
    categories: list[Facet] = field(default_factory=list)
    series: list[Facet] = field(default_factory=list)

    @property
    def is_approximate(self) -> bool:
        """More match than were ranked: the page says "about"."""
        return self.match_count > len(self.ids)

    @property
    def is_count_capped(self) -> bool:
        return self.match_count > RANKED_POOL

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        ids = self.ids[index]
        if not ids:
            return []
        by_pk = {row.pk: row for row in self.with_snippet_text(self.explainers.filter(pk__in=ids))}
        found = [by_pk[pk] for pk in ids if pk in by_pk]
        for explainer in found:
            explainer.snippet = snippet(explainer, self.words)
        return found

    def ranked(self):
        """The results as a queryset, best first (``order_by("rank", "pk")``, ``rank`` being
        the place, 1, 2, …), each with the text ``snippet()`` marks: for callers that page
        with cursors (the API)."""
        if not self.ids:
            return self.explainers.none()
        places = [When(pk=pk, then=Value(place)) for place, pk in enumerate(self.ids, 1)]
        rows = self.explainers.filter(pk__in=self.ids)
        rows = rows.annotate(rank=Case(*places, output_field=IntegerField()))
        return self.with_snippet_text(rows).order_by("rank", "pk")

    def with_snippet_text(self, rows):
        """``rows`` with what snippet() cuts from: a ``headline`` on PostgreSQL, else the
        ``passage`` it is cut from in Python. Only for a page's rows: it reads bodies."""
        if connections[rows.db].vendor != "postgresql":
            return rows.annotate(passage=PASSAGE)
        return rows.annotate(
            headline=SearchHeadline(
                PASSAGE,
                _tsquery(self.words, self.any_word),
                config=SEARCH_CONFIG,
                start_sel=HIT_START,
                stop_sel=HIT_END,
                max_words=SNIPPET_WORDS,
                min_words=SNIPPET_WORDS // 2,
            )
        )


def search(
    explainers,
    text: str,
    *,
    correct: bool = True,
    category: str | None = None,
    series: str | None = None,
) -> SearchResults:
    """Search ``explainers`` (a queryset: what may be found, e.g. ``published().for_cards()``)
    for ``text``; within a category path (and its subcategories) or a series slug if given.

    UnsearchableQuery if the text is empty, too long or has no word. With ``correct``, a query
    that finds nothing is searched again with its unknown words corrected.
    """
    asked = checked_query(text)
    if category:
        explainers = explainers.filter(
            Q(category__path=category) | Q(category__path__startswith=f"{category}/")
        )
    if series:
        explainers = explainers.filter(series__slug=series)
    words = words_of(asked)
    pool, any_word, corrected = _ranked_pool(explainers, words, any_word=False), False, None
    if not pool and correct:
        fixed = corrections(words, using=explainers.db)
        if fixed != words:
            pool = _ranked_pool(explainers, fixed, any_word=False)
            if not pool and len(fixed) > 1:
                pool, any_word = _ranked_pool(explainers, fixed, any_word=True), True
            if pool:
                words, corrected = fixed, " ".join(fixed)
    if not pool and len(words) > 1:
        pool, any_word = _ranked_pool(explainers, words, any_word=True), True
    any_word = any_word and bool(pool)
    # A full pool: more match than were read.
    match_count = len(pool) if len(pool) < RANKED_POOL else RANKED_POOL + 1
    ids = pool[:CANDIDATES]
    results = SearchResults(explainers, asked, words, corrected, any_word, ids, match_count)
    if ids:
        results.categories, results.series = _facets(ids, using=explainers.db)
    return results


def corrections(words: list[str], *, using: str) -> list[str]:
    """``words`` with each one that is not in the vocabulary replaced by its nearest
    vocabulary word (when one is near enough)."""
    correctable = [w for w in words if len(w) in CORRECTABLE_LENGTHS and w.isalpha()]
    if not correctable:
        return words
    search_terms_catch_up(using=using)
    known = set(
        SearchTerm.objects.using(using).filter(word__in=correctable).values_list("word", flat=True)
    )
    fixed = {}
    for word in correctable:
        if word not in known:
            nearest = _nearest_term(word, using)
            if nearest is not None:
                fixed[word] = nearest
    return [fixed.get(word, word) for word in words]


def similarity(a: str, b: str) -> float:
    """Shared trigrams over all trigrams, as pg_trgm's similarity() counts them."""
    first, second = _trigrams(a), _trigrams(b)
    return len(first & second) / len(first | second) if first | second else 0.0


def suggestions(text: str, *, using: str = "default") -> list[str]:
    """Queries completing ``text`` as typed: its last word completed from the vocabulary of
    published explainers, the commonest words first (nothing for a last word under 2 letters)."""
    text = " ".join(text.split())[:MAX_SUGGEST_LENGTH]
    head, _, last = text.lower().rpartition(" ")
    if len(last) < 2 or not last.isalnum() or len(last) > CORRECTABLE_LENGTHS.stop:
        return []
    search_terms_catch_up(using=using)
    terms = SearchTerm.objects.using(using)
    if connections[using].vendor == "postgresql":
        # LIKE 'prefix%', served by the varchar_pattern_ops index Django gives unique words.
        terms = terms.filter(word__startswith=last)
    else:
        # SQLite's LIKE ignores case and so the index: a range of the (binary) word index.
        terms = terms.filter(word__gte=last, word__lt=last + "\U0010ffff")
    completions = terms.order_by("-document_count", "word").values_list("word", flat=True)
    prefix = f"{head} " if head else ""
    return [prefix + word for word in completions[:SUGGESTIONS]]


def snippet(explainer, words: list[str]) -> list[tuple[str, bool]]:
    """A short passage of a found explainer (its ``headline`` or ``passage``) as pieces of
    text, each with whether it is a searched word (which the card template marks)."""
    headline = getattr(explainer, "headline", None)
    if not headline:
        headline = _passage(explainer.passage, words)
        for word in sorted(words, key=len, reverse=True):
            headline = re.sub(
                rf"(?i)(?<!\w)({re.escape(word)})", f"{HIT_START}\\1{HIT_END}", headline
            )
    # With its group, split() puts the hits at the odd places and the text between at even.
    pieces = HIT.split(headline)
    return [(piece, place % 2 == 1) for place, piece in enumerate(pieces) if piece]


def _passage(text: str, words: list[str]) -> str:
    tokens = text.split()
    first = next((i for i, token in enumerate(tokens) if any(w in token.lower() for w in words)), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    passage = " ".join(tokens[start : start + SNIPPET_WORDS])
    return ("… " if start else "") + passage + (" …" if start + SNIPPET_WORDS < len(tokens) else "")


def _tsquery(words: list[str], any_word: bool) -> SearchQuery:
    # One plain query per word: whatever the reader typed is a word, never tsquery syntax.
    queries = [SearchQuery(word, search_type="plain", config=SEARCH_CONFIG) for word in words]
    return reduce(or_ if any_word else and_, queries)


def _fts5_query(words: list[str], any_word: bool) -> str:
    # Each word quoted (a quote in it doubled): FTS5 reads none of it as its syntax (NEAR,
    # -, :, *, column names).
    quoted = ['"{}"'.format(word.replace('"', '""')) for word in words]
    return (" OR " if any_word else " ").join(quoted)


def _sqlite_matches(explainers, words, any_word, *, score: str = "") -> tuple[str, list]:
    """A SQLite query's ``hits`` (FTS5 matches, with ``score`` if asked) among ``explainers``:
    a WITH clause and a FROM … WHERE, and their parameters.

    Materialized: matched once, then joined. Left to itself the planner runs the MATCH and
    its bm25() inside the join, which takes seconds at 20,000 explainers."""
    among, params = explainers.order_by().values("pk").query.sql_with_params()
    scored = f", {score} AS score" if score else ""
    return (
        f"WITH hits AS MATERIALIZED (SELECT rowid AS id{scored} FROM {FTS_TABLE} "
        f"WHERE {FTS_TABLE} MATCH %s) ",
        f"FROM hits JOIN explainers_explainer AS found ON found.id = hits.id "
        f"WHERE hits.id IN ({among})",
        [_fts5_query(words, any_word), *params],
    )


def _ranked_pool(explainers, words: list[str], *, any_word: bool) -> list[int]:
    """The ids of the newest RANKED_POOL matches (all of them, when fewer match), best first.

    The newest matches come from the published-time index: for a common word the database
    walks it and stops at RANKED_POOL, for a rare one it finds the matches in the full-text
    index and sorts those few; only the pool is ranked."""
    if connections[explainers.db].vendor == "postgresql":
        query = _tsquery(words, any_word)
        pool = (
            explainers.filter(search_document__vector=query)
            .annotate(rank=SearchRank(F("search_document__vector"), query))
            .order_by("-published_at", "pk")
            .values_list("pk", "rank")[:RANKED_POOL]
        )
        # Ranked here (a second query would join the pool to the whole table again); the
        # sort is stable, so equal ranks stay newest first.
        return [pk for pk, _ in sorted(pool, key=lambda row: -row[1])]
    bm25 = f"bm25({FTS_TABLE}, {', '.join(map(str, BM25_WEIGHTS))})"
    hits, matches, params = _sqlite_matches(explainers, words, any_word, score=bm25)
    with connections[explainers.db].cursor() as cursor:
        cursor.execute(
            f"{hits} SELECT id FROM (SELECT hits.id, hits.score, found.published_at {matches} "
            "ORDER BY found.published_at DESC, found.id LIMIT %s) "
            "ORDER BY score, published_at DESC, id",
            [*params, RANKED_POOL],
        )
        return [row[0] for row in cursor.fetchall()]


def _facets(ids: list[int], *, using: str) -> tuple[list[Facet], list[Facet]]:
    """Counts by category and by series of the ranked results: the FACETS commonest of each
    (a narrowed search's own category or series holds every result: it is among them)."""
    categories = (
        Explainer.objects.using(using)
        .filter(pk__in=ids)
        .values("category__path", "category__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "category__name")[:FACETS]
    )
    series = (
        SeriesItem.objects.using(using)
        .filter(content_object_id__in=ids)
        .values("tag__slug", "tag__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "tag__name")[:FACETS]
    )
    return (
        [Facet(row["category__path"], row["category__name"], row["count"]) for row in categories],
        [Facet(row["tag__slug"], row["tag__name"], row["count"]) for row in series],
    )


def _nearest_term(word: str, using: str) -> str | None:
    """The vocabulary word most like ``word`` (most common among equals), if near enough."""
    shortest, longest = len(word) - LENGTH_SLACK, len(word) + LENGTH_SLACK
    with connections[using].cursor() as cursor:
        if connections[using].vendor == "postgresql":
            # The trigram index finds the words sharing enough trigrams (pg_trgm's %).
            cursor.execute(
                "SELECT word, document_count FROM explainers_searchterm "
                "WHERE word %% %s AND length(word) BETWEEN %s AND %s "
                "ORDER BY similarity(word, %s) DESC, document_count DESC LIMIT %s",
                [word, shortest, longest, word, CORRECTION_CANDIDATES],
            )
        else:
            # Words sharing a trigram, those sharing the rarest and most of them first.
            trigrams = sorted({word[i : i + 3] for i in range(len(word) - 2)})
            cursor.execute(
                "SELECT term.word, term.document_count FROM explainers_searchterm_trigrams "
                "JOIN explainers_searchterm AS term "
                "ON term.id = explainers_searchterm_trigrams.rowid "
                "WHERE explainers_searchterm_trigrams MATCH %s "
                "AND length(term.word) BETWEEN %s AND %s "
                "ORDER BY bm25(explainers_searchterm_trigrams) LIMIT %s",
                [
                    " OR ".join(f'"{trigram}"' for trigram in trigrams),
                    shortest,
                    longest,
                    CORRECTION_CANDIDATES,
                ],
            )
        candidates = cursor.fetchall()
    scored = [(similarity(word, term), count, term) for term, count in candidates]
    best = max(scored, default=None)
    if best is None or best[0] < SIMILARITY_THRESHOLD:
        return None
    return best[2]


def _trigrams(text: str) -> set[str]:
    trigrams = set()
    for word in WORD.findall(text.lower()):
        padded = f"  {word} "
        trigrams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return trigrams

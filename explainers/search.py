"""Site search: what a query may be, how it ranks on each database, and how hits are shown.

On PostgreSQL it is full-text search (websearch syntax, weighted title > excerpt > body,
ranked, with highlighted headlines) over a GIN expression index. SQLite, the embedded
default, gets the same page from a plain word match ranked by where the words occur.
"""

import re

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db import connections
from django.db.models import Case, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Concat

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"
# The same expression is indexed (migration 0002) and queried, so PostgreSQL uses the index.
SEARCH_VECTOR = (
    SearchVector("title", weight="A", config=SEARCH_CONFIG)
    + SearchVector("excerpt", weight="B", config=SEARCH_CONFIG)
    + SearchVector("body", weight="C", config=SEARCH_CONFIG)
)
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


def search_explainers(explainers, text: str):
    """``explainers`` matching ``text``, best first, each with ``rank``, and ``headline``
    (PostgreSQL) or ``passage`` (SQLite) for its snippet."""
    if connections[explainers.db].vendor == "postgresql":
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return (
            explainers.alias(document=SEARCH_VECTOR)
            .annotate(
                rank=SearchRank(SEARCH_VECTOR, query),
                headline=SearchHeadline(
                    PASSAGE,
                    query,
                    config=SEARCH_CONFIG,
                    start_sel=HIT_START,
                    stop_sel=HIT_END,
                    max_words=SNIPPET_WORDS,
                    min_words=SNIPPET_WORDS // 2,
                ),
            )
            .filter(document=query)
            .order_by("-rank", "-published_at", "pk")
        )
    words = words_of(text)
    matches, rank = Q(), Value(0)
    for word in words:
        matches &= Q(title__icontains=word) | Q(excerpt__icontains=word) | Q(body__icontains=word)
        for field, weight in (("title", 10), ("excerpt", 3), ("body", 1)):
            rank += Case(
                When(**{f"{field}__icontains": word}, then=Value(weight)),
                default=Value(0),
                output_field=IntegerField(),
            )
    return (
        explainers.filter(matches)
        # The snippet is cut from this text in Python (PostgreSQL makes its own headline).
        .annotate(rank=rank, passage=PASSAGE)
        .order_by("-rank", "-published_at", "pk")
    )


def words_of(text: str) -> list[str]:
    return list(dict.fromkeys(word.lower() for word in WORD.findall(text)))


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

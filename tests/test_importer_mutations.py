"""Mutated listings: the import either succeeds whole or leaves the database as it was.

Only listings that still parse are imported: a parse error happens before the database is
touched (tests/test_listings.py covers those), so the "changes nothing" branch here is the
importer refusing what parsed (an excerpt over its limit, a slug taken twice, ...).
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from explainers.listings import ListingError, parse_listing
from explainers.models import HeroImage
from explainers.services.imports import listings_import

from .helpers import LISTINGS, content_snapshot

pytestmark = pytest.mark.django_db

SOURCES = {
    name: (LISTINGS / name).read_bytes().split(b"\n")
    for name in ["llm-foundations.page-2.cards.txt", "llm-foundations.page-2.breadcrumbs.txt"]
}

line_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "MONA explainer 0 min", "MONA Bridge 12 min", "- Home /", "x min"]),
    # Parses as an excerpt or a title, and is over the field's limit: the importer refuses it.
    st.just("An excerpt that goes on " * 60),
).map(lambda text: text.encode("utf-8"))
raw_bytes = st.binary(min_size=1, max_size=8)
mutation = st.tuples(
    st.sampled_from(["delete", "duplicate", "replace", "insert", "bytes", "swap"]),
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=400),
    st.one_of(line_text, raw_bytes),
)


def mutate(lines: list[bytes], mutations) -> bytes:
    lines = list(lines)
    for kind, at, other, payload in mutations:
        i, j = at % len(lines), other % len(lines)
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "replace":
            lines[i] = payload
        elif kind == "insert":
            lines.insert(i, payload)
        elif kind == "bytes":
            lines[i] = lines[i][: j % (len(lines[i]) + 1)] + payload
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(
    target=st.sampled_from(sorted(SOURCES)),
    mutations=st.lists(mutation, min_size=1, max_size=3),
)
def test_a_mutated_listing_imports_whole_or_changes_nothing(media_root, target, mutations):
    files = {name: b"\n".join(lines) for name, lines in SOURCES.items()}
    files[target] = mutate(SOURCES[target], mutations)
    before = content_snapshot()
    stored = sorted(Path(media_root).rglob("*"))

    try:
        listings = [parse_listing(data, name) for name, data in sorted(files.items())]
    except ListingError:
        assume(False)
    try:
        listings_import(listings=listings, parent="AI Principles")
    except ListingError as error:
        event("refused by the importer")  # see --hypothesis-show-statistics
        assert error.source in files
        assert content_snapshot() == before
        assert sorted(Path(media_root).rglob("*")) == stored
    else:
        event("imported")
        assert all((Path(media_root) / h.image.name).is_file() for h in HeroImage.objects.all())

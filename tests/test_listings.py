"""The listing parser and merge: text in, records out, errors naming file and line."""

import pytest

from explainers.listings import BREADCRUMBS, CARDS, ListingError, merge_listings, parse_listing

from .helpers import LISTINGS, read_listings

CARDS_TEXT = """LLM Foundations

Core mechanics of large language models.

A diagram of tokens
MONA explainer 13 min

Tokens, explained

Tokens are the unit of text a model reads …

a lower-case alt text, cut mid
MONA Bridge 7 min

Attention, explained

Attention weighs every token against every other …"""

BREADCRUMBS_TEXT = """LLM Foundations
Core mechanics of large language models.
- Home /
- AI Principles /
- LLM Foundations

Tokens, explained
Tokens are the unit of text a model reads …
Attention, explained
Attention weighs every token against every other …
"""


def parse(text, source="listing.txt"):
    return parse_listing(text.encode("utf-8") if isinstance(text, str) else text, source)


def test_card_listing_gives_category_and_each_card_in_order():
    listing = parse(CARDS_TEXT)

    assert listing.format == CARDS
    assert (listing.category, listing.description) == (
        "LLM Foundations",
        "Core mechanics of large language models.",
    )
    assert listing.ancestors is None
    first, second = listing.entries
    assert (first.alt_text, first.series, first.minutes, first.title, first.excerpt) == (
        "A diagram of tokens",
        "MONA explainer",
        13,
        "Tokens, explained",
        "Tokens are the unit of text a model reads …",
    )
    assert (second.alt_text, second.series, second.minutes, second.line) == (
        "a lower-case alt text, cut mid",
        "MONA Bridge",
        7,
        15,
    )


def test_breadcrumb_listing_gives_ancestors_and_items_despite_a_missing_blank_line():
    listing = parse(BREADCRUMBS_TEXT)

    assert listing.format == BREADCRUMBS
    assert listing.ancestors == ("AI Principles",)
    assert [(e.title, e.excerpt, e.alt_text) for e in listing.entries] == [
        ("Tokens, explained", "Tokens are the unit of text a model reads …", None),
        ("Attention, explained", "Attention weighs every token against every other …", None),
    ]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: ("\ufeff" + t).encode("utf-8"), id="bom"),
        pytest.param(lambda t: t.replace("\n", "\r\n").encode("utf-8"), id="crlf"),
        pytest.param(lambda t: t.replace("\n", "  \n").encode("utf-8"), id="trailing-spaces"),
    ],
)
def test_capture_quirks_read_the_same_as_the_clean_file(encode):
    assert parse(encode(CARDS_TEXT)).entries == parse(CARDS_TEXT).entries
    assert parse(encode(BREADCRUMBS_TEXT)).entries == parse(BREADCRUMBS_TEXT).entries


def test_the_five_scraped_listings_parse_to_85_cards_and_85_breadcrumb_items():
    listings = read_listings()

    by_format = {CARDS: 0, BREADCRUMBS: 0}
    for listing in listings:
        by_format[listing.format] += len(listing.entries)
    assert by_format == {CARDS: 85, BREADCRUMBS: 55}
    assert {e.series for listing in listings for e in listing.entries if e.series} == {
        "MONA explainer",
        "MONA Bridge",
    }


@pytest.mark.parametrize(
    "data, line, problem",
    [
        (b"", None, "the file is empty"),
        (b"\n \n\n", None, "the file is empty"),
        (b"LLM\n\nabout\x00\x01", 3, "binary data"),
        ("LLM Foundations\n\nCaf\xe9\n".encode("latin-1"), 3, "not UTF-8 text (byte 0xe9)"),
        (b"Just a title\n\nSome prose.\n", None, "neither a card listing"),
    ],
    ids=["empty", "blank-lines-only", "binary", "latin-1", "neither-format"],
)
def test_unreadable_files_are_refused_with_file_line_and_problem(data, line, problem):
    with pytest.raises(ListingError) as raised:
        parse(data, "page-3.txt")

    assert raised.value.line == line
    assert problem in raised.value.problem
    assert str(raised.value).startswith(f"page-3.txt:{line}: " if line else "page-3.txt: ")


def test_a_card_missing_its_series_and_minutes_line_is_refused_at_that_line():
    text = CARDS_TEXT.replace("MONA Bridge 7 min\n", "")

    with pytest.raises(ListingError) as raised:
        parse(text, "page.txt")

    assert raised.value.line == 14
    assert "missing its series and reading time" in raised.value.problem
    assert "Attention, explained" in raised.value.problem


@pytest.mark.parametrize("minutes", ["0", "-3", "1.5", "ten", "1000", "99999999999999999999"])
def test_a_reading_time_that_is_not_a_positive_whole_number_is_refused(minutes):
    text = CARDS_TEXT.replace("MONA Bridge 7 min", f"MONA Bridge {minutes} min")

    with pytest.raises(ListingError, match=r"listing.txt:13: reading time “.*” is not a positive"):
        parse(text)


def test_a_card_cut_off_before_its_excerpt_is_refused():
    text = CARDS_TEXT.rsplit("\n\n", 1)[0]

    with pytest.raises(ListingError, match="ends without a title and an excerpt"):
        parse(text)


def test_a_title_longer_than_the_site_allows_is_refused():
    text = CARDS_TEXT.replace("Tokens, explained", "T" * 301)

    with pytest.raises(ListingError, match=r"listing.txt:8: title is 301 characters long"):
        parse(text)


def test_breadcrumbs_that_do_not_end_at_the_category_are_refused():
    text = BREADCRUMBS_TEXT.replace("- LLM Foundations", "- Something Else")

    with pytest.raises(ListingError, match="listing.txt:3: breadcrumbs must run from 'Home'"):
        parse(text)


def test_a_breadcrumb_item_without_excerpt_is_refused():
    text = BREADCRUMBS_TEXT.replace("Attention weighs every token against every other …\n", "")

    with pytest.raises(ListingError, match="listing.txt:9: item “Attention, explained” has no"):
        parse(text)


def test_merge_joins_pages_in_order_and_formats_by_title():
    plan = merge_listings(read_listings())

    categories = {c.name: c.ancestors for c in plan.categories}
    assert categories == {"LLM Foundations": ("AI Principles",), "Model Architectures": None}
    foundations = [e for e in plan.explainers if e.category == "LLM Foundations"]
    assert len(foundations) == 55
    assert [e.position for e in foundations] == list(range(55))
    page_two = parse_listing(
        (LISTINGS / "llm-foundations.page-2.cards.txt").read_bytes(), "page-2"
    ).entries
    assert [e.title for e in foundations[30:]] == [e.title for e in page_two]
    assert all(e.minutes and e.alt_text and e.series for e in plan.explainers)


def test_merge_refuses_two_listings_that_disagree_about_an_excerpt():
    cards = parse(CARDS_TEXT, "cards.txt")
    breadcrumbs = parse(
        BREADCRUMBS_TEXT.replace("Attention weighs", "Attention ranks"), "breadcrumbs.txt"
    )

    with pytest.raises(ListingError) as raised:
        merge_listings([cards, breadcrumbs])

    message = str(raised.value)
    assert message.startswith("breadcrumbs.txt:9: “Attention, explained”: excerpt")
    assert "cards.txt:15" in message


def test_merge_refuses_two_card_listings_that_disagree_about_reading_time():
    first = parse(CARDS_TEXT, "first.txt")
    second = parse(CARDS_TEXT.replace("MONA explainer 13 min", "MONA explainer 14 min"), "second")

    with pytest.raises(ListingError, match="reading time “14” disagrees with “13” in first.txt:8"):
        merge_listings([first, second])


def test_merge_refuses_an_explainer_listed_in_two_categories():
    first = parse(CARDS_TEXT, "first.txt")
    second = parse(CARDS_TEXT.replace("LLM Foundations", "Model Architectures"), "second.txt")

    with pytest.raises(ListingError, match="category “Model Architectures” disagrees"):
        merge_listings([first, second])


def test_merge_refuses_a_title_listed_twice_in_one_file():
    listing = parse(CARDS_TEXT.replace("Attention, explained", "Tokens, explained"), "dup.txt")

    with pytest.raises(ListingError, match="dup.txt:15: “Tokens, explained” is listed twice"):
        merge_listings([listing])


def test_merge_accepts_a_card_repeated_identically_on_the_next_page_and_keeps_its_place():
    page_one = parse(CARDS_TEXT, "page-1.txt")
    page_two = parse(CARDS_TEXT, "page-2.txt")

    plan = merge_listings([page_one, page_two])

    assert [(e.title, e.position) for e in plan.explainers] == [
        ("Tokens, explained", 0),
        ("Attention, explained", 1),
    ]

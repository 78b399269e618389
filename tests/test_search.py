"""Search: ranking, highlighting, drafts, bad queries, on whichever database runs the suite."""

import pytest
from django.utils import timezone

from explainers.models import Explainer

from .helpers import cards, make_category, make_explainer, page_soup

pytestmark = pytest.mark.django_db


@pytest.fixture
def category():
    return make_category()


def results(soup):
    return [card["title"] for card in cards(soup)]


def test_a_title_match_outranks_a_body_match(client, category):
    make_explainer(category, "Tokens in passing", body="This is mostly about attention.")
    make_explainer(category, "Attention, explained", body="Weights between tokens.")
    make_explainer(category, "Unrelated", body="Nothing to see.")

    soup = page_soup(client.get("/search/", {"q": "attention"}))

    assert results(soup) == ["Attention, explained", "Tokens in passing"]
    assert "2 results for “attention”" in soup.select_one(".search-count").get_text()


def test_an_excerpt_match_outranks_a_body_match(client, category):
    make_explainer(category, "Body", excerpt="Plain.", body="Sampling with temperature.")
    make_explainer(category, "Excerpt", excerpt="On temperature and sampling.", body="Plain.")

    assert results(page_soup(client.get("/search/", {"q": "temperature"}))) == ["Excerpt", "Body"]


def test_matched_words_are_highlighted_in_a_snippet(client, category):
    make_explainer(
        category, "Diffusion", excerpt="Models that reverse noise into images …", body="More."
    )

    soup = page_soup(client.get("/search/", {"q": "noise"}))

    snippet = soup.select_one(".card-snippet")
    assert [mark.get_text().lower() for mark in snippet.select("mark")] == ["noise"]
    assert "reverse" in snippet.get_text()


def test_drafts_and_scheduled_explainers_are_not_found(client, category):
    make_explainer(category, "Published attention")
    make_explainer(category, "Draft attention", status=Explainer.Status.DRAFT)
    make_explainer(
        category,
        "Scheduled attention",
        published_at=timezone.now() + timezone.timedelta(days=1),
    )

    assert results(page_soup(client.get("/search/", {"q": "attention"}))) == ["Published attention"]


@pytest.mark.parametrize(
    "query, advice",
    [
        ("", "Type a word or two"),
        ("   ", "Type a word or two"),
        ("x" * 201, "keep it under 200"),
        ("?!…— ((", "punctuation alone"),
        ('"unbalanced -', None),
        ("OR AND NOT", None),
    ],
    ids=["empty", "blank", "too-long", "punctuation", "websearch-syntax", "operators"],
)
def test_awkward_queries_get_a_friendly_page_not_an_error(client, category, query, advice):
    make_explainer(category, "Attention")

    response = client.get("/search/", {"q": query})

    assert response.status_code == 200
    soup = page_soup(response)
    if advice:
        assert advice in soup.select_one(".search-problem").get_text()
        assert results(soup) == []


def test_the_query_is_escaped_in_the_page(client, category):
    hostile = '<script>alert("q")</script>'

    response = client.get("/search/", {"q": hostile})

    html = response.content.decode()
    assert "<script>alert" not in html
    assert page_soup(response).select_one("#site-search-q")["value"] == hostile


def test_hostile_text_in_snippets_is_escaped_but_marks_stay(client, category):
    make_explainer(category, "Safe", excerpt="<b>bold</b> attention <script>x()</script>")

    response = client.get("/search/", {"q": "attention"})

    snippet = page_soup(response).select_one(".card-snippet")
    assert not snippet.select("b, script")
    assert snippet.select_one("mark").get_text().lower() == "attention"
    assert "<script>x()" not in response.content.decode()


def test_results_are_paginated_and_pages_keep_the_query(client, category):
    for number in range(31):
        make_explainer(category, f"Attention {number}", position=number)

    first = page_soup(client.get("/search/", {"q": "attention"}))
    next_href = first.select_one('.pagination a[rel="next"]')["href"]
    second = page_soup(client.get(next_href))

    assert len(results(first)) == 30 and len(results(second)) == 1
    assert "q=attention" in next_href
    assert client.get("/search/", {"q": "attention", "page": 9}).status_code == 404


def test_the_search_box_is_in_every_page_header(client, category):
    soup = page_soup(client.get("/"))

    form = soup.select_one('header form[role="search"]')
    assert form["action"] == "/search/"
    assert form.select_one('input[name="q"]')


@pytest.mark.parametrize("count", [1, 30])
def test_search_makes_a_fixed_number_of_queries(client, category, django_assert_num_queries, count):
    for number in range(count):
        make_explainer(category, f"Attention {number}").series.add("MONA explainer")

    # The ranked matches (fewer than search.CANDIDATES: no count), the counts by category
    # and by series, and the page of results with category path, hero and first series.
    with django_assert_num_queries(4):
        response = client.get("/search/", {"q": "attention"})

    assert len(results(page_soup(response))) == count

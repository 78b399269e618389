"""Search that forgives, on the 85 seed explainers: misspelled and British-spelled words are
corrected, a two-word query with one wrong word still finds both, facets count the results,
drafts and scheduled explainers stay out of everything, and no input is a server error.

Run on whichever database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from explainers.models import Category, Explainer, SearchTerm

from .helpers import cards, make_explainer, page_soup

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed():
    """The seed explainers, loaded as `make run` loads them (a fixture, saved raw)."""
    call_command("loaddata", "explainers", verbosity=0)


def search_page(client, q, **parameters):
    response = client.get("/search/", {"q": q, **parameters})
    assert response.status_code == 200
    return page_soup(response)


def titles(soup):
    return [card["title"] for card in cards(soup)]


def text_of(soup, selector):
    found = soup.select_one(selector)
    return " ".join(found.get_text().split()) if found else None


# What each query means, as the seed titles spell it.
MISSPELLED = [
    ("difusion", "diffusion"),
    ("halucination", "hallucination"),
    ("transfromer", "transformer"),
    ("backpropogation", "backpropagation"),
    ("quantisation", "quantization"),
    ("tokeniser", "tokenizer"),
]


@pytest.mark.parametrize("asked, meant", MISSPELLED, ids=[asked for asked, _ in MISSPELLED])
def test_a_misspelled_or_british_word_finds_the_explainers_it_means(client, seed, asked, meant):
    soup = search_page(client, asked)

    first_three = titles(soup)[:3]
    assert any(meant in title.lower() for title in first_three), first_three
    assert meant in titles(soup)[0].lower() or meant[:5] in titles(soup)[0].lower()
    assert text_of(soup, ".search-correction") == (
        f"Showing results for {meant}. Search instead for {asked}"
    )


def test_the_original_query_is_one_click_away_and_not_corrected_there(client, seed):
    soup = search_page(client, "difusion")
    link = soup.select_one(".search-correction a")
    assert parse_qs(urlsplit(link["href"]).query) == {"q": ["difusion"], "exact": ["1"]}

    exact = page_soup(client.get(link["href"]))

    assert exact.select_one(".search-correction") is None
    assert titles(exact) == []
    assert "0 results for “difusion”" in text_of(exact, ".search-count")


def test_a_two_word_query_with_one_misspelled_word_finds_the_explainers_with_both(client, seed):
    soup = search_page(client, "softmax temprature")

    found = titles(soup)
    both = [
        explainer.title
        for explainer in Explainer.objects.published()
        if all(
            w in f"{explainer.title} {explainer.excerpt}".lower() for w in ("softmax", "temperat")
        )
    ]
    assert both and set(both) <= set(found[: len(both)])
    assert text_of(soup, ".search-correction").startswith(
        "Showing results for softmax temperature."
    )
    assert soup.select_one(".search-any-word") is None


def test_a_word_nothing_is_near_does_not_make_a_two_word_query_fail(client, seed):
    soup = search_page(client, "softmax qqqxzzv")

    assert any("softmax" in title.lower() for title in titles(soup))
    assert "these have some of them" in text_of(soup, ".search-any-word")


def test_correctly_spelled_queries_are_not_corrected(client, seed):
    for query in ["diffusion", "transformers", "attention heads"]:
        soup = search_page(client, query)
        assert titles(soup), query
        assert soup.select_one(".search-correction") is None, query


def facet_links(soup, title):
    section = next(
        section
        for section in soup.select(".search-facet")
        if section.h2.get_text(strip=True) == title
    )
    return [
        (
            item.a.get_text(strip=True),
            int(item.select_one(".facet-count").get_text()),
            item.a["href"],
        )
        for item in section.select("li")
    ]


def all_titles(client, url):
    """Every result title of a search, following its pages."""
    found = []
    while url:
        soup = page_soup(client.get(url))
        found += titles(soup)
        following = soup.select_one('.pagination a[rel="next"]')
        url = following["href"] if following else None
    return found


def test_facet_counts_match_the_results_they_link_to(client, seed):
    soup = search_page(client, "model")
    results = all_titles(client, "/search/?q=model")
    categories, series = facet_links(soup, "Categories"), facet_links(soup, "Series")

    assert sum(count for _, count, _ in categories) == len(results)
    for name, count, href in categories + series:
        narrowed = all_titles(client, href)
        assert len(narrowed) == count, name
        assert set(narrowed) <= set(results)
    category = Category.objects.get(name=categories[0][0])
    narrowed = page_soup(client.get(categories[0][2]))
    assert all(card["href"].startswith(f"/{category.path}/") for card in cards(narrowed))
    # The chosen facet is marked and links back to every result.
    chosen = narrowed.select_one('.search-facet a[aria-current="true"]')
    assert chosen.get_text(strip=True).startswith(categories[0][0])
    assert len(all_titles(client, chosen["href"])) == len(results)


def test_drafts_and_scheduled_explainers_stay_out_of_results_facets_and_corrections(client, seed):
    category = Category.objects.get(path="ai-principles/llm-foundations")
    hidden = [
        make_explainer(
            category,
            "Draft: attention and the zorblaxian trick",
            status=Explainer.Status.DRAFT,
        ),
        make_explainer(
            category,
            "Scheduled: attention and the quixotrope",
            published_at=timezone.now() + timezone.timedelta(days=1),
        ),
    ]
    before = [
        (name, count)
        for name, count, _ in facet_links(search_page(client, "attention"), "Categories")
    ]

    soup = search_page(client, "attention")

    assert not {explainer.title for explainer in hidden} & set(
        all_titles(client, "/search/?q=attention")
    )
    assert [(name, count) for name, count, _ in facet_links(soup, "Categories")] == before
    for near_miss in ["zorblaxien", "quixotorpe"]:
        missed = search_page(client, near_miss)
        assert titles(missed) == [] and missed.select_one(".search-correction") is None
    assert not SearchTerm.objects.filter(word__in=["zorblaxian", "quixotrope"]).exists()
    assert client.get("/search/suggest/", {"q": "zorbl"}).json()["suggestions"] == []


def test_a_scheduled_explainer_is_found_and_its_words_corrected_to_once_it_is_out(client, seed):
    category = Category.objects.get(path="ai-principles/llm-foundations")
    scheduled = make_explainer(
        category,
        "The quixotrope of attention",
        published_at=timezone.now() + timezone.timedelta(hours=1),
    )
    assert titles(search_page(client, "quixotrope")) == []

    # The hour passes: nothing is saved, the explainer is simply published now.
    Explainer.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - timezone.timedelta(minutes=1)
    )

    assert titles(search_page(client, "quixotrope")) == [scheduled.title]
    corrected = search_page(client, "quixotorpe")
    assert titles(corrected) == [scheduled.title]
    assert text_of(corrected, ".search-correction").startswith("Showing results for quixotrope.")


HOSTILE = [
    "x" * 5000,
    "?!…— ((",
    '"',
    '"attention',
    "attention*",
    "*",
    "NEAR(attention tokens)",
    "NEAR(",
    "-attention",
    "- -",
    "title:attention",
    ":",
    "attention OR",
    "AND OR NOT",
    "^attention",
    "'); DROP TABLE explainers_explainer; --",
    "a" * 199,
    "attention " * 19,
    "注意 機構",
    "é",
    "x",
    "100%",
    "{}[]",
    "_",
    "__ attention",
]


def test_hostile_input_gets_a_message_or_results_never_an_error(client, seed):
    for query in HOSTILE:
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200, query
        soup = page_soup(response)
        assert soup.select_one(".search-problem") or soup.select_one(".search-count"), query
    assert "keep it under 200" in text_of(search_page(client, "x" * 5000), ".search-problem")
    assert titles(search_page(client, "NEAR(attention tokens)"))


def test_hostile_facet_parameters_find_nothing_rather_than_fail(client, seed):
    for parameters in [
        {"category": "../../etc"},
        {"category": "x" * 3000},
        {"series": '"; --'},
        {"category": "ai-principles", "series": "no-such-series"},
    ]:
        soup = search_page(client, "attention", **parameters)
        assert titles(soup) == [], parameters
        assert soup.select_one("a[href='/search/?q=attention']"), "a way back to every result"


def test_a_section_path_narrows_to_its_subcategories_too(client, seed):
    everywhere = all_titles(client, "/search/?q=attention")
    in_section = all_titles(client, "/search/?q=attention&category=ai-principles")

    assert in_section and set(in_section) <= set(everywhere)
    for title in in_section:
        assert Explainer.objects.get(title=title).category.path.startswith("ai-principles/")

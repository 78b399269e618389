"""The home page and series pages."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from explainers.models import Explainer

from .helpers import breadcrumb_labels, cards, make_category, make_explainer, page_soup

pytestmark = pytest.mark.django_db


def test_home_lists_sections_their_categories_with_counts_and_the_latest_explainers(client):
    section = make_category("AI Principles")
    foundations = make_category(
        "LLM Foundations", parent=section, description="Core mechanics.", position=0
    )
    make_category("Model Architectures", parent=section, position=1)
    now = timezone.now()
    make_explainer(foundations, "Older", published_at=now - timezone.timedelta(days=2))
    make_explainer(foundations, "Newer", published_at=now - timezone.timedelta(days=1))
    make_explainer(foundations, "Draft", status=Explainer.Status.DRAFT)

    soup = page_soup(client.get("/"))

    assert [h1.get_text() for h1 in soup.find_all("h1")] == ["AI Explainers"]
    assert soup.select_one(".section h2").get_text(strip=True) == "AI Principles"
    items = [
        [text.get_text(strip=True) for text in item.select("h3, p")]
        for item in soup.select(".category-item")
    ]
    assert items == [
        ["LLM Foundations", "Core mechanics.", "2 explainers"],
        ["Model Architectures", "0 explainers"],
    ]
    assert [c["title"] for c in cards(soup)] == ["Newer", "Older"]


def test_home_makes_three_queries_whatever_the_content(client, django_assert_num_queries):
    category = make_category()
    for number in range(8):
        make_explainer(category, f"Explainer {number}").series.add("MONA explainer")

    # 1 categories with counts, 2 latest stored cards with category path and hero,
    # 3 the next scheduled publication (how long the page may be cached).
    with django_assert_num_queries(3):
        client.get("/")


def test_a_series_page_lists_its_published_explainers(client):
    category = make_category()
    for title in ["Bridge one", "Bridge two"]:
        make_explainer(category, title).series.add("MONA Bridge")
    make_explainer(category, "Bridge draft", status=Explainer.Status.DRAFT).series.add(
        "MONA Bridge"
    )
    make_explainer(category, "Other").series.add("MONA explainer")

    soup = page_soup(client.get("/series/mona-bridge/"))

    assert soup.h1.get_text() == "MONA Bridge"
    assert breadcrumb_labels(soup) == ["Home", "MONA Bridge"]
    assert sorted(c["title"] for c in cards(soup)) == ["Bridge one", "Bridge two"]
    assert "2 explainers in this series" in soup.select_one(".lead").get_text()


def test_a_series_page_is_paginated_like_a_category(client):
    category = make_category()
    for number in range(31):
        make_explainer(category, f"Bridge {number}", position=number).series.add("MONA Bridge")

    first = page_soup(client.get("/series/mona-bridge/"))
    second = page_soup(client.get("/series/mona-bridge/?page=2"))

    assert len(cards(first)) == 30 and len(cards(second)) == 1
    assert first.select_one('.pagination a[rel="next"]')["href"] == "/series/mona-bridge/?page=2"
    assert client.get("/series/mona-bridge/?page=abc").status_code == 404


def test_an_unknown_series_is_a_404(client):
    assert client.get("/series/nothing/").status_code == 404


def test_a_failing_page_answers_500_in_the_site_layout(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("explainers.views.HomeView.get_context_data", explode)
    with override_settings(DEBUG=False):
        response = Client(raise_request_exception=False).get("/")

    assert response.status_code == 500
    soup = page_soup(response)
    assert soup.h1.get_text() == "Something went wrong"
    assert soup.select_one(".site-header")
    assert "the database went away" not in response.content.decode()


def test_a_series_page_lists_the_newest_first_across_categories(client):
    older, newer = make_category("Older"), make_category("Newer")
    now = timezone.now()
    for days, category, title in [(3, older, "Third"), (1, newer, "First"), (2, older, "Second")]:
        make_explainer(
            category, title, published_at=now - timezone.timedelta(days=days)
        ).series.add("MONA Bridge")

    titles = [card["title"] for card in cards(page_soup(client.get("/series/mona-bridge/")))]

    assert titles == ["First", "Second", "Third"]


def test_a_series_with_nothing_published_has_no_page(client):
    category = make_category()
    make_explainer(category, "Draft", status=Explainer.Status.DRAFT).series.add("MONA Bridge")
    later = timezone.now() + timezone.timedelta(days=1)
    make_explainer(category, "Scheduled", published_at=later).series.add("MONA Bridge")

    assert client.get("/series/mona-bridge/").status_code == 404
    assert client.get("/series/mona-bridge/?page=2").status_code == 404

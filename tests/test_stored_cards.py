"""Listings print each explainer's card as stored when what it shows was saved
(services.cards): the card a fresh render gives, never one older than its content."""

import io
import json
import threading
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction

from explainers.models import Explainer, HeroImage, Series
from explainers.services import cards as stored_cards
from explainers.services.cards import cards_version
from explainers.services.renditions import hero_renditions_schedule

from .helpers import cards, make_explainer, make_hero, page_soup

pytestmark = pytest.mark.django_db


def card_grid(client, url) -> str:
    cache.clear()  # the page as rendered now, not as the page cache kept it
    response = client.get(url)
    assert response.status_code == 200
    return str(page_soup(response).select_one(".card-grid"))


def stored_count() -> int:
    return Explainer.objects.filter(card_version=cards_version()).count()


@pytest.fixture
def listing(category):
    explainers = []
    for number in range(5):
        explainer = make_explainer(
            category,
            f"Explainer {number}",
            position=number,
            hero=make_hero(alt_text=f"Diagram {number}"),
        )
        explainer.series.add("MONA explainer")
        explainers.append(explainer)
    return explainers


def test_a_stored_card_is_the_card_a_fresh_render_gives(client, category, listing):
    make_explainer(category, "Without a hero or a series", position=9)
    url = category.get_absolute_url()
    assert stored_count() == len(listing) + 1
    stored = card_grid(client, url)

    # As after a deploy that changed the card templates: every card rendered afresh.
    Explainer.objects.update(card_version="")
    rendered = card_grid(client, url)

    assert stored == rendered
    assert [card["title"] for card in cards(page_soup(client.get(url)))] == [
        *(f"Explainer {n}" for n in range(5)),
        "Without a hero or a series",
    ]


def sharing_image(client, url) -> dict:
    cache.clear()
    soup = page_soup(client.get(url))
    return {
        name: soup.select_one(f'meta[property="og:image{name}"]')["content"]
        for name in ("", ":width", ":height", ":alt")
    }


def test_a_listing_shares_its_first_cards_hero_as_stored_and_as_edited(client, category, listing):
    url = category.get_absolute_url()
    hero = listing[0].hero
    stored = sharing_image(client, url)
    # As a fresh render of every card gives it (the hero loaded, not read from the card).
    Explainer.objects.update(card_version="")
    assert sharing_image(client, url) == stored
    assert stored[":alt"] == "Diagram 0"
    call_command("render_cards", stdout=io.StringIO())

    hero.alt_text = "Diagram 0, relabelled"
    hero.focal_x, hero.focal_y, hero.focal_width, hero.focal_height = 0.6, 0.1, 0.3, 0.3
    hero.save()

    edited = sharing_image(client, url)
    assert edited[":alt"] == "Diagram 0, relabelled"
    assert edited[""] != stored[""]  # the crop of the new focal point (or the original)
    assert edited[""] == f"http://testserver{HeroImage.objects.get(pk=hero.pk).social_image().url}"
    # Printed from the card the edit stored again, not rendered afresh.
    first = Explainer.objects.get(pk=listing[0].pk)
    assert first.card_version == cards_version()
    assert f"http://testserver{first.card_sharing_image['url']}" == edited[""]


def test_the_first_row_of_stored_cards_loads_at_once_and_the_rest_when_scrolled_to(
    client, category, listing
):
    soup = page_soup(client.get(category.get_absolute_url()))

    images = soup.select(".card-grid img")
    assert [img.get("fetchpriority") for img in images] == ["high"] * 3 + [None] * 2
    assert [img.get("loading") for img in images] == [None] * 3 + ["lazy"] * 2


def rename_hero_alt(explainer):
    explainer.hero.alt_text = "A new diagram of attention"
    explainer.hero.save()


def retitle(explainer):
    explainer.title = "Attention, retitled"
    explainer.save(update_fields=["title"])


def rename_series(explainer):
    series = Series.objects.get(name="MONA explainer")
    series.name = "MONA Primer"
    series.save()


def change_series(explainer):
    explainer.series.set(["MONA Bridge"])


def move_section(explainer):
    section = explainer.category.parent
    section.slug = "principles"
    section.save()


@pytest.mark.parametrize(
    "edit, shown",
    [
        (rename_hero_alt, lambda card: card["alt"] == "A new diagram of attention"),
        (retitle, lambda card: card["title"] == "Attention, retitled"),
        (rename_series, lambda card: card["series"] == "MONA Primer"),
        (change_series, lambda card: card["series"] == "MONA Bridge"),
        (move_section, lambda card: card["href"].startswith("/principles/llm-foundations/")),
    ],
)
def test_a_card_shows_an_edit_of_what_it_shows_at_once(client, category, listing, edit, shown):
    edit(listing[0])

    url = Explainer.objects.get(pk=listing[0].pk).category.get_absolute_url()
    first = cards(page_soup(client.get(url)))[0]
    assert shown(first)
    # Stored again, not rendered at every request.
    assert stored_count() == len(listing)


def test_cards_offer_the_renditions_once_they_are_made(
    client, category, django_capture_on_commit_callbacks
):
    hero = make_hero(renditions=False)
    make_explainer(category, hero=hero)
    url = category.get_absolute_url()
    assert "image/webp" not in card_grid(client, url)

    with django_capture_on_commit_callbacks(execute=True):
        hero_renditions_schedule(heroes=[hero])

    assert "image/webp" in card_grid(client, url)
    assert stored_count() == 1


def test_many_cards_at_once_are_left_to_the_worker_and_rendered_live_until_then(
    client, category, listing, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(stored_cards, "RENDER_NOW", 2)

    with django_capture_on_commit_callbacks() as callbacks:
        move_section(listing[0])

    # Marked out of date in the move's transaction: readers get them rendered afresh.
    assert stored_count() == 0
    hrefs = [card["href"] for card in cards(page_soup(client.get("/principles/llm-foundations/")))]
    assert hrefs == [f"/principles/llm-foundations/explainer-{n}/" for n in range(5)]

    for callback in callbacks:  # the commit: the worker stores them (tests run tasks at once)
        callback()

    assert stored_count() == len(listing)
    cache.clear()
    assert [
        card["href"] for card in cards(page_soup(client.get("/principles/llm-foundations/")))
    ] == hrefs


def test_render_cards_stores_the_cards_of_other_templates(client, category, listing):
    Explainer.objects.filter(pk__in=[e.pk for e in listing[:2]]).update(card_version="old")
    out = io.StringIO()

    call_command("render_cards", stdout=out)

    assert "Stored 2 cards." in out.getvalue()
    assert stored_count() == len(listing)


def test_a_page_of_out_of_date_cards_costs_one_query_more(
    client, category, listing, django_assert_num_queries
):
    Explainer.objects.update(card_version="")
    cache.clear()

    # As a category page's two (tests/test_category_page.py), and one for the cards to
    # render afresh (with their heroes), whatever their number.
    with django_assert_num_queries(3):
        response = client.get(category.get_absolute_url())

    assert len(cards(page_soup(response))) == len(listing)


@pytest.mark.django_db(transaction=True)
def test_two_editors_changing_one_card_at_once_both_show(client, category):
    """The second refresh waits for the first writer's commit, then renders from both writes
    (on PostgreSQL, where two transactions run at once: rendered before the first commits,
    the card would lose the first editor's title)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")
    explainer = make_explainer(category, "Old title", hero=make_hero(alt_text="Old alt"))
    title_saved, alt_saving = threading.Event(), threading.Event()

    def retitle():
        try:
            with transaction.atomic():
                explainer.title = "New title"
                explainer.save()
                title_saved.set()
                assert alt_saving.wait(10)
                time.sleep(0.5)  # the other editor's refresh is waiting on the lock meanwhile
        finally:
            connection.close()

    def rename_alt():
        try:
            assert title_saved.wait(10)
            with transaction.atomic():
                hero = HeroImage.objects.get(pk=explainer.hero_id)
                hero.alt_text = "New alt"
                alt_saving.set()
                hero.save()
        finally:
            connection.close()

    threads = [threading.Thread(target=retitle), threading.Thread(target=rename_alt)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (card,) = cards(page_soup(client.get(category.get_absolute_url())))
    assert (card["title"], card["alt"]) == ("New title", "New alt")
    assert stored_count() == 1


def test_a_listings_structured_data_names_the_addresses_its_cards_link_to(
    client, category, listing
):
    listing[1].slug = "renamed"
    listing[1].save()
    move_section(listing[0])

    soup = page_soup(client.get("/principles/llm-foundations/"))

    collection = next(
        data
        for data in map(
            json.loads, (s.string for s in soup.select("script[type='application/ld+json']"))
        )
        if data.get("@type") == "CollectionPage"
    )
    named = [item["url"] for item in collection["mainEntity"]["itemListElement"]]
    linked = [card["href"] for card in cards(soup)]
    assert named == [f"http://testserver{href}" for href in linked]
    assert linked[1] == "/principles/llm-foundations/renamed/"

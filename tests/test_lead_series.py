"""The series a card shows (the first of an explainer's series by name) stays right whichever
way the series change: it is stored on the explainer, so every path that changes series must
keep it in step."""

import pytest
from django.core.management import call_command

from explainers.listings import parse_listing
from explainers.models import Explainer, Series
from explainers.services.imports import listings_import

from .helpers import LISTINGS, cards, make_explainer, page_soup, read_listings

# Real commits: pages readers get are refreshed after the write commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def card_series(client, path="/ai-principles/llm-foundations/"):
    return {card["title"]: card["series"] for card in cards(page_soup(client.get(path)))}


def test_the_card_shows_the_first_series_by_name_as_series_are_added_and_removed(client, category):
    explainer = make_explainer(category, "What is attention?")
    assert card_series(client) == {"What is attention?": None}

    explainer.series.add("MONA explainer")
    assert card_series(client) == {"What is attention?": "MONA explainer"}

    explainer.series.add("MONA Bridge")  # earlier by name
    assert card_series(client) == {"What is attention?": "MONA Bridge"}

    explainer.series.remove("MONA Bridge")
    assert card_series(client) == {"What is attention?": "MONA explainer"}

    explainer.series.set(["Attention series"])
    assert card_series(client) == {"What is attention?": "Attention series"}

    explainer.series.clear()
    assert card_series(client) == {"What is attention?": None}


def test_renaming_or_deleting_a_series_moves_the_card_to_the_next_one(client, category):
    explainer = make_explainer(category, "What is attention?")
    explainer.series.add("Alpha", "Beta")
    assert card_series(client) == {"What is attention?": "Alpha"}

    alpha = Series.objects.get(name="Alpha")
    alpha.name = "Omega"
    alpha.save()
    assert card_series(client) == {"What is attention?": "Beta"}

    Series.objects.get(name="Beta").delete()
    assert card_series(client) == {"What is attention?": "Omega"}

    Series.objects.get(name="Omega").delete()
    assert card_series(client) == {"What is attention?": None}


def test_an_import_and_a_reimport_with_other_series_set_the_cards_series(client):
    page = "/ai-principles/llm-foundations/"
    listings_import(listings=read_listings())
    first_page = read_listings("llm-foundations.page-1.cards.txt")[0].entries
    expected = {entry.title: entry.series for entry in first_page}
    assert card_series(client, page) == expected

    # The first card moves to a series of its own; nothing else changes.
    changed = first_page[0]
    edited = [
        listing
        if listing.source != "llm-foundations.page-1.cards.txt"
        else parse_listing(
            (LISTINGS / listing.source)
            .read_text()
            .replace(
                f"{changed.series} {changed.minutes} min", f"MONA Zeta {changed.minutes} min", 1
            )
            .encode(),
            listing.source,
        )
        for listing in read_listings()
    ]
    listings_import(listings=edited)
    assert card_series(client, page) == {**expected, changed.title: "MONA Zeta"}


def test_the_fixture_loads_with_each_cards_series(client):
    call_command("loaddata", "explainers", verbosity=0)
    first_page = read_listings("llm-foundations.page-1.cards.txt")[0].entries
    shown = card_series(client, "/ai-principles/llm-foundations/")
    assert shown == {entry.title: entry.series for entry in first_page}
    assert Explainer.objects.filter(lead_series__isnull=False).count() == (
        Explainer.objects.filter(series__isnull=False).distinct().count()
    )

"""Site search's index and vocabulary follow the content: saves, series, categories, alt text,
publishing in bulk, deletions, imports, fixtures, and a rebuild for databases written around
the code. And the search box's suggestions come from that vocabulary, cheaply."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from explainers.listings import parse_listing
from explainers.models import Explainer, SearchDocument, SearchTerm, Series
from explainers.services.imports import listings_import
from explainers.services.publishing import explainers_publish, explainers_unpublish

from .helpers import cards, make_explainer, make_hero, page_soup

pytestmark = pytest.mark.django_db


def found(client, q):
    return [card["title"] for card in cards(page_soup(client.get("/search/", {"q": q})))]


def vocabulary(*words):
    return dict(SearchTerm.objects.filter(word__in=words).values_list("word", "document_count"))


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_user("edna", is_staff=True)


def test_an_edited_explainer_is_found_by_its_new_words_and_no_longer_by_its_old(client, category):
    explainer = make_explainer(category, "Zorblax basics", excerpt="On zorblax.")
    assert found(client, "zorblax") == ["Zorblax basics"]

    explainer.title, explainer.excerpt = "Quokka routing", "On quokkas."
    explainer.save()

    assert found(client, "quokka") == ["Quokka routing"]
    assert found(client, "zorblax") == []
    assert vocabulary("zorblax", "quokka", "routing") == {"quokka": 1, "routing": 1}


def test_series_category_names_and_alt_text_are_searched_and_follow_renames(client, category):
    hero = make_hero(alt_text="A wombat at a whiteboard", renditions=False)
    explainer = make_explainer(category, "Attention", hero=hero)
    explainer.series.add("Platypus papers")
    assert found(client, "platypus") == found(client, "wombat") == ["Attention"]
    assert found(client, "foundations") == ["Attention"]  # LLM Foundations

    series = Series.objects.get(name="Platypus papers")
    series.name = "Echidna notes"
    series.save()
    hero.alt_text = "A numbat on a chart"
    hero.save()
    category.name = "Kookaburra corner"
    category.save()

    for gone in ["platypus", "wombat", "foundations"]:
        assert found(client, gone) == [], gone
    for new in ["echidna", "numbat", "kookaburra"]:
        assert found(client, new) == ["Attention"], new
    explainer.series.remove("Echidna notes")
    assert found(client, "echidna") == []


def test_a_deleted_series_no_longer_finds_its_members(client, category):
    make_explainer(category, "Attention").series.add("Platypus papers")

    Series.objects.get(name="Platypus papers").delete()

    assert found(client, "platypus") == []
    assert vocabulary("platypus") == {}


def test_vocabulary_counts_the_published_explainers_having_each_word(client, category):
    first = make_explainer(category, "Zorblax one")
    make_explainer(category, "Zorblax two")
    make_explainer(category, "Zorblax draft", status=Explainer.Status.DRAFT)
    assert vocabulary("zorblax", "draft") == {"zorblax": 2}

    first.delete()

    assert vocabulary("zorblax", "one") == {"zorblax": 1}
    assert found(client, "zorblax") == ["Zorblax two"]
    assert not SearchDocument.objects.filter(explainer_id=first.pk).exists()


def test_unpublishing_takes_its_words_out_of_the_vocabulary_one_by_one_or_in_bulk(
    client, category, editor
):
    single = make_explainer(category, "Zorblax theory")
    # Healthy enough to publish in bulk: a hero, and a body as long as its reading time says.
    bulk = make_explainer(
        category, "Quokka practice", hero=make_hero(), body="Words in a body. " * 290
    )

    single.status = Explainer.Status.DRAFT
    single.save()
    explainers_unpublish(explainers=Explainer.objects.filter(pk=bulk.pk), user=editor)

    assert vocabulary("zorblax", "theory", "quokka", "practice") == {}
    assert found(client, "zorblax") == found(client, "quokka") == []
    assert client.get("/search/suggest/", {"q": "quok"}).json()["suggestions"] == []

    published = explainers_publish(explainers=Explainer.objects.filter(pk=bulk.pk), user=editor)

    assert published.changed == [bulk.pk]
    assert vocabulary("quokka") == {"quokka": 1}
    assert found(client, "quokka") == ["Quokka practice"]


def test_the_importer_indexes_the_explainers_it_writes(client):
    def listing(excerpt):
        return parse_listing(
            "Marsupials\n\nGenerated.\n\n"
            f"Diagram\nMONA explainer 3 min\n\nThe bilby transformer\n\n{excerpt} …".encode(),
            "marsupials.txt",
        )

    listings_import(listings=[listing("Burrows and tokens")])
    assert found(client, "bilby") == ["The bilby transformer"]
    assert found(client, "burrows") == ["The bilby transformer"]

    listings_import(listings=[listing("Pouches and tokens")])

    assert found(client, "burrows") == []
    assert found(client, "pouches") == ["The bilby transformer"]
    assert vocabulary("bilby", "burrows", "pouches") == {"bilby": 1, "pouches": 1}
    assert found(client, "bilbby") == ["The bilby transformer"]


def test_the_fixture_loaded_raw_is_searchable_and_its_words_corrected_to(client):
    call_command("loaddata", "explainers", verbosity=0)

    assert SearchDocument.objects.count() == Explainer.objects.count() == 85
    assert found(client, "diffusion")
    assert found(client, "difusion") == found(client, "diffusion")
    assert vocabulary("diffusion")["diffusion"] >= 10


def test_the_search_index_command_indexes_explainers_written_around_the_code(client, category):
    Explainer.objects.bulk_create(
        [
            Explainer(
                title=f"Wallaby {number}",
                slug=f"wallaby-{number}",
                category=category,
                excerpt="Hops.",
                reading_time=3,
                position=number,
                status=Explainer.Status.PUBLISHED,
                published_at=timezone.now(),
            )
            for number in range(3)
        ]
    )
    assert found(client, "wallaby") == []

    out = io.StringIO()
    call_command("search_index", stdout=out, stderr=io.StringIO())

    assert "Indexed 3 explainers" in out.getvalue()
    assert sorted(found(client, "wallaby")) == ["Wallaby 0", "Wallaby 1", "Wallaby 2"]
    assert vocabulary("wallaby", "hops") == {"wallaby": 3, "hops": 3}


def test_the_search_index_command_dry_run_writes_nothing(category):
    make_explainer(category, "Attention")
    SearchDocument.objects.all().delete()

    out = io.StringIO()
    call_command("search_index", "--dry-run", stdout=out)

    assert "Would index 1 explainers" in out.getvalue()
    assert not SearchDocument.objects.exists()


def many_matches(category, count, *, title_matches=()):
    """``count`` published explainers with "attention" in their excerpt, newest first by
    number; those numbered in ``title_matches`` have it in their title too."""
    from explainers.services.search_index import search_index_refresh

    written = Explainer.objects.bulk_create(
        [
            Explainer(
                title=f"Attention {number}" if number in title_matches else f"Note {number}",
                slug=f"note-{number}",
                category=category,
                excerpt="On attention.",
                reading_time=3,
                position=number,
                status=Explainer.Status.PUBLISHED,
                published_at=timezone.now() - timezone.timedelta(minutes=number + 1),
            )
            for number in range(count)
        ]
    )
    search_index_refresh(explainer_ids=[explainer.pk for explainer in written])


def search_count_text(soup) -> str:
    return " ".join(soup.select_one(".search-count").get_text().split())


def test_many_matches_show_about_how_many_and_list_the_best(client, category):
    from explainers.search import CANDIDATES
    from explainers.views import CARDS_PER_PAGE

    count = CANDIDATES + 5
    many_matches(category, count, title_matches=range(1, count, 2))

    soup = page_soup(client.get("/search/", {"q": "attention"}))

    assert search_count_text(soup) == (
        f"About {count:,} results for “attention”; the best {CANDIDATES:,} are listed"
    )
    # Title matches first, the newest first among equals.
    assert [card["title"] for card in cards(soup)][:2] == ["Attention 1", "Attention 3"]
    pages = -(-CANDIDATES // CARDS_PER_PAGE)
    assert f"Page 1 of {pages}" in soup.select_one(".pagination").get_text()


def test_a_word_in_more_explainers_than_are_read_ranks_the_newest(client, category, monkeypatch):
    from explainers import search

    monkeypatch.setattr(search, "RANKED_POOL", 20)
    monkeypatch.setattr(search, "CANDIDATES", 10)
    # 30 matches; of the title matches, number 15 is among the newest 20, 25 is not.
    many_matches(category, 30, title_matches={15, 25})

    soup = page_soup(client.get("/search/", {"q": "attention"}))

    assert search_count_text(soup) == (
        "More than 20 results for “attention”; the best 10 are listed"
    )
    titles = [card["title"] for card in cards(soup)]
    assert titles == ["Attention 15", *[f"Note {number}" for number in range(9)]]


# Suggestions


def test_suggestions_complete_the_last_word_from_published_words_commonest_first(client, category):
    make_explainer(category, "Attention heads", excerpt="Attention.")
    make_explainer(category, "Attention sinks", excerpt="Attention.")
    make_explainer(category, "Attentive readers", excerpt="Readers.")
    make_explainer(category, "Attenuated draft", status=Explainer.Status.DRAFT)

    response = client.get("/search/suggest/", {"q": "softmax  Atten"})

    assert response.status_code == 200
    assert response.json() == {
        "q": "softmax  Atten",
        "suggestions": ["softmax attention", "softmax attentive"],
    }
    assert "max-age=300" in response["Cache-Control"]
    assert client.get("/search/suggest/", {"q": "a"}).json()["suggestions"] == []


def test_suggestions_are_cached_until_the_content_changes(
    client, category, django_assert_num_queries, django_capture_on_commit_callbacks
):
    make_explainer(category, "Attention heads")
    client.get("/search/suggest/", {"q": "att"})

    with django_assert_num_queries(0):
        assert client.get("/search/suggest/", {"q": "att"}).json()["suggestions"] == ["attention"]

    with django_capture_on_commit_callbacks(execute=True):
        make_explainer(category, "Attributions")
    assert client.get("/search/suggest/", {"q": "att"}).json()["suggestions"] == [
        "attention",
        "attributions",
    ]


def test_suggestions_refuse_long_text_and_anything_but_get(client):
    response = client.get("/search/suggest/", {"q": "x" * 61})

    assert response.status_code == 400
    assert "q: at most 60 characters" in response.json()["error"]
    assert client.post("/search/suggest/", {"q": "att"}).status_code == 405
    for awkward in ['"', "NEAR(", "*", "-", ":", "%", "_"]:
        assert client.get("/search/suggest/", {"q": awkward}).json()["suggestions"] == []

"""Nobody's work is lost: stale forms merge or stop with both versions shown, stale lists and
moves change nothing they did not see, autosave keeps unsaved input, and the page says who
else has the form open. Two people are two clients, each with the form as they opened it."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from explainers.models import Category, Explainer, HeroImage, ScratchCopy, Series

from .helpers import (
    drag,
    dragged,
    make_explainer,
    make_hero,
    opened_form,
    page_soup,
    publish_in_bulk,
    sign_in_verified,
)
from .test_admin import make_user

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())
    Series.objects.create(name="MONA explainer")


def editor(username, first_name):
    client = Client()
    sign_in_verified(client, make_user(username, "Editors", first_name=first_name))
    return client


@pytest.fixture
def dana():
    return editor("dana", "Dana")


@pytest.fixture
def ben():
    return editor("ben", "Ben")


@pytest.fixture
def draft(category):
    return make_explainer(category, "Attention", slug="attention", status="draft")


def errors(response) -> str:
    shown = page_soup(response).select(".errornote, .errorlist.nonfield")
    return " ".join(e.get_text(" ", strip=True) for e in shown)


def test_a_stale_save_of_other_fields_is_merged_and_says_so(dana, ben, draft):
    url = f"{EXPLAINERS}{draft.pk}/change/"
    danas, bens = opened_form(dana, url), opened_form(ben, url)

    assert dana.post(url, {**danas, "title": "Attention, renamed"}).status_code == 302
    response = ben.post(url, {**bens, "excerpt": "Ben's standfirst."}, follow=True)

    draft.refresh_from_db()
    assert (draft.title, draft.excerpt) == ("Attention, renamed", "Ben's standfirst.")
    shown = [m.message for m in response.context["messages"]]
    assert any(m.startswith("Merged with Dana's save of") and "the title" in m for m in shown)
    newest = Version.objects.get_for_object(draft).first()
    assert newest.revision.comment.startswith("Changed Excerpt.")
    assert newest.revision.user.username == "ben"


def test_a_stale_save_of_the_same_field_is_refused_with_both_values_and_the_input_kept(
    dana, ben, draft
):
    url = f"{EXPLAINERS}{draft.pk}/change/"
    danas, bens = opened_form(dana, url), opened_form(ben, url)
    dana.post(url, {**danas, "title": "Dana's title"})

    refused = ben.post(url, {**bens, "title": "Ben's title", "excerpt": "Ben's standfirst."})

    draft.refresh_from_db()
    assert refused.status_code == 200
    assert (draft.title, draft.excerpt) != ("Ben's title", "Ben's standfirst.")
    assert draft.title == "Dana's title"
    assert "nothing was saved" in errors(refused)
    soup = page_soup(refused)
    row = soup.select_one("section.conflict tbody tr")
    assert [cell.get_text(" ", strip=True) for cell in row.select("td")[:2]] == [
        "Ben's title",
        "Dana's title",
    ]
    assert soup.select_one("#id_title")["value"] == "Ben's title"
    assert soup.select_one("#id_excerpt").get_text().strip() == "Ben's standfirst."

    # He takes Dana's title and keeps his excerpt: the form now knows the newer version.
    again = {**opened_form_from(refused), "conflict_choice_title": "theirs"}
    assert ben.post(url, again).status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.excerpt) == ("Dana's title", "Ben's standfirst.")


def opened_form_from(response) -> dict:
    """The fields of a form page the server answered with (a refused save)."""
    soup = page_soup(response)
    data = {}
    for field in soup.select("form[id$=_form] input[name], form[id$=_form] textarea[name]"):
        kind = field.get("type", "text")
        if field["name"] == "csrfmiddlewaretoken" or kind in ("submit", "file", "radio"):
            continue
        data[field["name"]] = (
            field.get_text().removeprefix("\n")
            if field.name == "textarea"
            else field.get("value", "")
        )
    for select in soup.select("form[id$=_form] select[name]"):
        chosen = select.select_one("option[selected]")
        data[select["name"]] = chosen["value"] if chosen else ""
    return data


@pytest.mark.parametrize(
    "admin_url, make, field, first, second",
    [
        ("category", lambda c: c, "description", "Dana's words", "Ben's words"),
        ("heroimage", lambda c: make_hero(), "alt_text", "Dana's alt", "Ben's alt"),
        ("series", lambda c: Series.objects.get(), "name", "Dana's series", "Ben's series"),
    ],
)
def test_every_change_form_refuses_a_stale_overlapping_save(
    dana, ben, category, admin_url, make, field, first, second
):
    record = make(category)
    url = f"/admin/explainers/{admin_url}/{record.pk}/change/"
    danas, bens = opened_form(dana, url), opened_form(ben, url)

    assert dana.post(url, {**danas, field: first}).status_code == 302
    refused = ben.post(url, {**bens, field: second})

    record.refresh_from_db()
    assert refused.status_code == 200 and getattr(record, field) == first
    assert page_soup(refused).select_one("section.conflict")


def test_a_form_without_its_version_stamp_saves_nothing(dana, draft):
    url = f"{EXPLAINERS}{draft.pk}/change/"
    form = {**opened_form(dana, url), "title": "Blind"}
    form["edit_token"] = form["edit_token"][:-3] + "xyz"

    response = dana.post(url, form)

    draft.refresh_from_db()
    assert response.status_code == 200 and draft.title == "Attention"
    assert "version stamp is missing or damaged" in errors(response)


def test_a_stale_form_cannot_undo_a_publication_or_a_move(dana, ben, category, draft):
    other = make_explainer(category, "Other", slug="other", position=1)
    url = f"{EXPLAINERS}{draft.pk}/change/"
    stale = opened_form(ben, url)

    publish_in_bulk(dana, [draft])
    drag(dana, [other, draft])  # in the ordering view: Other above the draft
    ben.post(url, {**stale, "excerpt": "Ben's standfirst."})

    draft.refresh_from_db()
    other.refresh_from_db()
    assert draft.is_published() and draft.position == 1 and other.position == 0
    assert draft.pending["excerpt"] == "Ben's standfirst."  # live now: his edit waits


def test_a_stale_list_publishes_nothing_that_changed_since_it_was_loaded(dana, ben, category):
    explainer = make_explainer(category, "Taken back", slug="taken-back")
    listing = page_soup(ben.get(EXPLAINERS))
    loaded = [i["value"] for i in listing.select("input[name=loaded_version]")]

    dana.post(EXPLAINERS, {"action": "unpublish_selected", "_selected_action": [explainer.pk]})
    explainer.refresh_from_db()
    assert not explainer.is_published()
    response = ben.post(
        EXPLAINERS,
        {
            "action": "publish_selected",
            "_selected_action": [explainer.pk],
            "loaded_version": loaded,
        },
        follow=True,
    )

    explainer.refresh_from_db()
    assert not explainer.is_published()
    shown = " ".join(m.message for m in response.context["messages"])
    assert "Left alone" in shown and "Taken back" in shown and "Dana" in shown


def test_a_drag_from_a_stale_list_over_rows_moved_since_is_refused(dana, ben, category):
    first, second, third = (make_explainer(category, title) for title in ("A", "B", "C"))
    stale_page = [first, second, third]

    drag(dana, dragged(stale_page, 3, 2))  # A C B
    response = drag(ben, dragged(stale_page, 3, 1))  # C to the top, on his A B C

    assert response.status_code == 409 and "nothing moved" in response.json()["message"]
    order = category.explainers.order_by("position").values_list("title", flat=True)
    assert list(order) == ["A", "C", "B"]
    comments = Version.objects.get_for_object(third).values_list("revision__comment", flat=True)
    assert list(comments) == ["Moved to position 2 in LLM Foundations."]


def test_autosave_keeps_unsaved_input_that_reopening_the_form_offers_back(dana, draft):
    url = f"{EXPLAINERS}{draft.pk}/change/"
    typed = {**opened_form(dana, url), "body": "Half a paragraph, not saved yet"}

    assert dana.post(f"{EXPLAINERS}{draft.pk}/autosave/", typed).status_code == 200

    draft.refresh_from_db()
    assert draft.body != typed["body"]  # a scratch copy, not a save
    assert not Version.objects.get_for_object(draft).exists()
    reopened = page_soup(dana.get(url))
    assert "You have unsaved changes" in reopened.select_one(".editing-notice.scratch").get_text()
    restored = opened_form(dana, f"{url}?restore=scratch")
    assert restored["body"] == "Half a paragraph, not saved yet"
    dana.post(url, restored)
    draft.refresh_from_db()
    assert draft.body == "Half a paragraph, not saved yet"
    assert not ScratchCopy.objects.exists()  # the save used it up


def test_scratch_copies_are_the_users_own_and_go_after_30_days(dana, ben, draft):
    dana.post(f"{EXPLAINERS}{draft.pk}/autosave/", {"body": "Dana's"})

    assert not page_soup(ben.get(f"{EXPLAINERS}{draft.pk}/change/")).select(".scratch")
    ScratchCopy.objects.update(saved_at=timezone.now() - timedelta(days=31))
    assert not page_soup(dana.get(f"{EXPLAINERS}{draft.pk}/change/")).select(".scratch")
    # Anyone's next autosave purges copies past the limit: Dana's goes, Ben's stays.
    ben.post(f"{EXPLAINERS}{draft.pk}/autosave/", {"body": "Ben's"})
    assert list(ScratchCopy.objects.values_list("user__username", "data")) == [
        ("ben", {"body": ["Ben's"]})
    ]


def test_discarding_a_scratch_copy_removes_it(dana, draft):
    dana.post(f"{EXPLAINERS}{draft.pk}/autosave/", {"body": "Dana's"})

    dana.post(f"{EXPLAINERS}{draft.pk}/autosave/", {"discard": "1"})

    assert not ScratchCopy.objects.exists()


def test_presence_tells_each_editor_who_else_has_the_form_open(dana, ben, draft, settings):
    presence = f"{EXPLAINERS}{draft.pk}/presence/"

    assert dana.post(presence).json() == {"others": []}
    others = ben.post(presence).json()["others"]
    assert [o["name"] for o in others] == ["Dana"]
    assert [o["name"] for o in dana.post(presence).json()["others"]] == ["Ben"]

    ben.post(presence, {"leave": "1"})
    assert dana.post(presence).json() == {"others": []}
    ben.post(presence)
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.PRESENCE_TIMEOUT_SECONDS + 1)
    ):
        assert dana.post(presence).json() == {"others": []}


def test_presence_and_autosave_need_a_signed_in_editor_and_post(client, dana, draft):
    presence = f"{EXPLAINERS}{draft.pk}/presence/"

    assert client.post(presence).status_code == 302  # to the login page
    assert client.post(f"{EXPLAINERS}{draft.pk}/autosave/", {"body": "x"}).status_code == 302
    assert dana.get(presence).status_code == 405
    assert not ScratchCopy.objects.exists()


def test_imported_content_has_a_baseline_revision(settings):
    call_command(
        "import_listings", "fixtures/listings", parent="AI Principles", stdout=io.StringIO()
    )

    explainers = Explainer.objects.count()
    baselines = Version.objects.get_for_model(Explainer).filter(
        revision__comment="Imported from the listings."
    )
    assert explainers == 85 and baselines.count() == 85


def test_the_fixture_loads_with_a_baseline_revision():
    call_command("load_initial_content", stdout=io.StringIO())

    assert Version.objects.get_for_model(Explainer).count() == Explainer.objects.count() == 85


def test_hero_changes_show_in_history(dana, category):
    hero = make_hero(alt_text="Before")
    url = f"/admin/explainers/heroimage/{hero.pk}/change/"

    dana.post(url, {**opened_form(dana, url), "alt_text": "After"})

    (version,) = Version.objects.get_for_object(hero)
    assert version.field_dict["alt_text"] == "After" and version.revision.user.username == "dana"


def test_a_series_with_nothing_published_has_no_page_or_feed(client, category):
    draft = make_explainer(category, "Only a draft", slug="only", status="draft")
    draft.series.add("Unreleased")
    slug = Series.objects.get(name="Unreleased").slug

    assert client.get(f"/series/{slug}/").status_code == 404
    assert client.get(f"/feeds/series/{slug}/rss.xml").status_code == 404


def test_a_contributor_cannot_create_a_series_by_typing_it(category):
    client = Client()
    sign_in_verified(client, make_user("cora", "Contributors"))

    response = client.post(
        f"{EXPLAINERS}add/",
        {**opened_form(client, f"{EXPLAINERS}add/"), "title": "New", "slug": "new",
         "category": category.pk, "excerpt": "x", "series": "Made up"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "No series is called “Made up”" in response.content.decode()
    assert not Explainer.objects.exists() and not Series.objects.filter(name="Made up").exists()


def test_the_explainer_list_runs_a_fixed_number_of_queries(
    dana, category, django_assert_num_queries
):
    for number in range(30):
        explainer = make_explainer(category, f"Explainer {number}", hero=make_hero())
        explainer.series.add("MONA Bridge")
    dana.get(EXPLAINERS)

    # Session, user, the session's two-factor device, permissions (2), the count, the page
    # of rows, their series, and the savepoint pair of the revision block django-reversion
    # opens around every list. (The category and series filters are autocompletes: nothing
    # to read until one is chosen.)
    with django_assert_num_queries(10):
        response = dana.get(EXPLAINERS)

    assert len(response.context["cl"].result_list) == 30
    assert HeroImage.objects.count() == 30 and Category.objects.count() == 2

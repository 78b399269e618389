"""Ordering: positions dense in each listing, new and moved explainers at the end, and the
admin's ordering view (drag and drop, the keyboard route's request, "Move to position")
moving rows by identity, one request and one revision per move, for editors only.

A drag is posted here as django-admin-sortable2's script posts it: ``updatedItems``, the run
of rows between where the row was and where it went, as the page shows them after the drop.
tests/test_ordering_browser.py drags and presses keys in a real browser.
"""

import importlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from explainers.models import Category, Explainer
from explainers.services.imports import listings_import

from .helpers import (
    cards,
    drag,
    dragged,
    make_category,
    make_explainer,
    opened_form,
    page_soup,
    publish_in_bulk,
    read_listings,
    sign_in_verified,
)
from .test_admin import explainer_form, make_user

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"
CATEGORIES = "/admin/explainers/category/"
CATEGORY_PAGE = "/ai-principles/llm-foundations/"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


def signed_in(username, group):
    client = Client()
    sign_in_verified(client, make_user(username, group, first_name=username.title()))
    return client


@pytest.fixture
def editor():
    return signed_in("eddie", "Editors")


@pytest.fixture
def contributor():
    return signed_in("cora", "Contributors")


def make_listing(category, count, name="Explainer", **fields):
    """``count`` published explainers, "Explainer 1" … in listing order."""
    return [make_explainer(category, f"{name} {n}", **fields) for n in range(1, count + 1)]


def titles(category) -> list[str]:
    return list(category.explainers.order_by("position", "pk").values_list("title", flat=True))


def positions(queryset) -> list[int]:
    return list(queryset.order_by("position", "pk").values_list("position", flat=True))


def reader_titles(client, path=CATEGORY_PAGE) -> list[str]:
    return [card["title"] for card in cards(page_soup(client.get(path)))]


def comments(record) -> list[str]:
    return list(Version.objects.get_for_object(record).values_list("revision__comment", flat=True))


# Positions


def test_a_new_explainer_goes_to_the_end_of_its_category(category):
    make_listing(category, 3)
    elsewhere = make_category("Model Architectures", parent=category.parent)
    make_explainer(elsewhere, "Elsewhere")

    newest = make_explainer(category, "Newest")

    assert newest.position == 3
    assert titles(category)[-1] == "Newest"
    assert positions(category.explainers) == [0, 1, 2, 3]


def test_an_explainer_added_in_the_admin_lands_last_in_the_listing_and_on_the_page(
    editor, category, client
):
    make_listing(category, 4)

    # A position sent along is not the form's to set: new explainers go last.
    response = editor.post(f"{EXPLAINERS}add/", explainer_form(category, position=0))

    assert response.status_code == 302
    added = Explainer.objects.get(title="Attention, explained")
    assert added.position == 4
    # Published (as an editor would, later): readers find it after the others.
    added.status, added.published_at = Explainer.Status.PUBLISHED, timezone.now()
    added.save()
    assert added.position == 4
    assert reader_titles(client)[-1] == "Attention, explained"


def test_changing_a_drafts_category_appends_it_there_and_closes_the_gap(editor, category):
    moving = make_listing(category, 3, status=Explainer.Status.DRAFT)[1]
    other = make_category("Model Architectures", parent=category.parent)
    make_listing(other, 2, name="Other")
    url = f"{EXPLAINERS}{moving.pk}/change/"

    response = editor.post(url, {**opened_form(editor, url), "category": other.pk})

    assert response.status_code == 302
    assert titles(category) == ["Explainer 1", "Explainer 3"]
    assert positions(category.explainers) == [0, 1]
    assert titles(other) == ["Other 1", "Other 2", "Explainer 2"]
    assert positions(other.explainers) == [0, 1, 2]


def test_an_explainer_saved_into_another_category_goes_last_there(category):
    # As publishing a live explainer's pending change of category does (_apply_pending).
    moving = make_listing(category, 3)[0]
    other = make_category("Model Architectures", parent=category.parent)
    make_listing(other, 1, name="Other")
    row = Explainer.objects.get(pk=moving.pk)

    row.category = other
    row.save()

    assert titles(category) == ["Explainer 2", "Explainer 3"]
    assert positions(category.explainers) == [0, 1]
    assert titles(other) == ["Other 1", "Explainer 1"]
    assert positions(other.explainers) == [0, 1]


def test_a_category_given_another_parent_goes_last_among_its_new_siblings(category):
    section = category.parent
    second = make_category("Model Architectures", parent=section)
    other_section = make_category("AI in Practice")
    make_category("Tools", parent=other_section)

    category.parent = other_section
    category.save()

    assert list(section.children.values_list("name", "position")) == [("Model Architectures", 0)]
    assert list(other_section.children.order_by("position").values_list("name", "position")) == [
        ("Tools", 0),
        ("LLM Foundations", 1),
    ]
    second.refresh_from_db()
    assert second.position == 0


def test_deleting_explainers_in_the_admin_closes_the_gaps(category):
    client = Client()
    sign_in_verified(client, make_user("root", is_superuser=True))
    listing = make_listing(category, 5)

    client.post(f"{EXPLAINERS}{listing[1].pk}/delete/", {"post": "yes"})
    client.post(
        EXPLAINERS,
        {"action": "delete_selected", "_selected_action": [listing[3].pk], "post": "yes"},
    )

    assert titles(category) == ["Explainer 1", "Explainer 3", "Explainer 5"]
    assert positions(category.explainers) == [0, 1, 2]


def test_the_migration_renumbers_every_listing_densely_in_the_order_it_showed(category):
    dense_positions = importlib.import_module(
        "explainers.migrations.0008_dense_positions"
    ).dense_positions
    a, b, c, d = make_listing(category, 4)
    other = make_category("Model Architectures", parent=category.parent)
    (e,) = make_listing(other, 1, name="Other")
    # As the old code left them: new ones at 0, ties, gaps.
    for explainer, position in [(a, 5), (b, 0), (c, 5), (d, 9), (e, 7)]:
        Explainer.objects.filter(pk=explainer.pk).update(position=position)
    Category.objects.filter(pk=other.pk).update(position=0)
    Category.objects.filter(pk=category.pk).update(position=0)

    dense_positions(apps, None)

    assert titles(category) == ["Explainer 2", "Explainer 1", "Explainer 3", "Explainer 4"]
    assert positions(category.explainers) == [0, 1, 2, 3]
    assert Explainer.objects.get(pk=e.pk).position == 0
    # Categories tied at 0 keep the order the site showed them in: by name.
    assert list(category.parent.children.order_by("position").values_list("name", "position")) == [
        ("LLM Foundations", 0),
        ("Model Architectures", 1),
    ]


def test_an_import_keeps_the_listing_order_and_dense_positions_beside_admin_made_ones():
    architectures = make_category("Model Architectures", parent=make_category("AI Principles"))
    make_explainer(architectures, "Written in the admin")
    listings = read_listings("model-architectures.page-1.cards.txt")

    listings_import(listings=listings, parent="AI Principles")

    in_the_listing = [entry.title for entry in listings[0].entries]
    assert titles(architectures) == ["Written in the admin", *in_the_listing]
    assert positions(architectures.explainers) == list(range(len(in_the_listing) + 1))


# The ordering view


def test_a_drag_from_row_40_to_row_3_is_one_request_and_readers_find_it_third(
    editor, category, client
):
    listing = make_listing(category, 42)

    response = drag(editor, dragged(listing, 40, 3))

    assert response.status_code == 200
    assert response.json()["message"] == ("Moved “Explainer 40” to position 3 in LLM Foundations.")
    assert reader_titles(client)[:4] == [
        "Explainer 1",
        "Explainer 2",
        "Explainer 40",
        "Explainer 3",
    ]
    assert positions(category.explainers) == list(range(42))


def test_a_drag_down_puts_the_row_after_its_new_neighbour(editor, category):
    listing = make_listing(category, 6)

    drag(editor, dragged(listing, 2, 5))

    assert titles(category) == [f"Explainer {n}" for n in (1, 3, 4, 5, 2, 6)]


def test_a_move_is_one_revision_of_the_moved_explainer_only(editor, category):
    listing = make_listing(category, 5)

    drag(editor, dragged(listing, 5, 1))

    assert comments(listing[4]) == ["Moved to position 1 in LLM Foundations."]
    assert Version.objects.get_for_object(listing[4]).get().revision.user.username == "eddie"
    assert all(comments(passed) == [] for passed in listing[:4])
    moved = Explainer.objects.get(pk=listing[4].pk)
    assert moved.version == listing[4].version + 1 and moved.changed_by.username == "eddie"


def test_a_drag_from_an_outdated_page_moves_by_identity_and_keeps_the_others_move(category, editor):
    a, b, c, d, e, f = make_listing(category, 6)
    stale_page = [a, b, c, d, e, f]
    ben = signed_in("ben", "Editors")
    drag(ben, dragged(stale_page, 6, 1))  # Ben moves F to the top: F A B C D E

    # Eddie's page still shows A … F; he drags D above B (rows 2 to 4 on his page).
    response = drag(editor, dragged(stale_page, 4, 2))

    assert response.status_code == 200
    assert titles(category) == [f"Explainer {n}" for n in (6, 1, 4, 2, 3, 5)]


def test_a_drag_over_rows_someone_reordered_since_is_refused_and_changes_nothing(category, editor):
    a, b, c, d = make_listing(category, 4)
    stale_page = [a, b, c, d]
    ben = signed_in("ben", "Editors")
    drag(ben, dragged(stale_page, 3, 2))  # Ben: A C B D

    response = drag(editor, dragged(stale_page, 4, 2))  # Eddie's D above B, on A B C D

    assert response.status_code == 409
    assert "nothing moved" in response.json()["message"]
    assert titles(category) == [f"Explainer {n}" for n in (1, 3, 2, 4)]
    assert comments(d) == []


def test_a_drag_naming_rows_of_two_categories_is_refused(category, editor):
    a, b = make_listing(category, 2)
    other = make_category("Model Architectures", parent=category.parent)
    (c,) = make_listing(other, 1, name="Other")

    response = drag(editor, [c, a, b])

    assert response.status_code == 409
    assert titles(category) == ["Explainer 1", "Explainer 2"]


@pytest.mark.parametrize("who", ["anonymous", "contributor"])
def test_only_editors_may_drag_and_a_refused_drag_changes_nothing(who, category):
    listing = make_listing(category, 3)
    client = Client() if who == "anonymous" else signed_in("cora", "Contributors")

    response = drag(client, dragged(listing, 3, 1))

    if who == "anonymous":
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    else:
        assert response.status_code == 403
        assert response.json()["message"] == "You may not reorder explainers; nothing moved."
    assert titles(category) == ["Explainer 1", "Explainer 2", "Explainer 3"]
    assert comments(listing[2]) == []


def test_sortable2s_own_update_endpoint_is_not_there_to_bypass_the_check(contributor, category):
    listing = make_listing(category, 3)
    payload = {"updatedItems": [[str(listing[2].pk), 1], [str(listing[0].pk), 2]]}

    contributor.post(
        f"{EXPLAINERS}adminsortable2_update/", json.dumps(payload), content_type="application/json"
    )

    assert titles(category) == ["Explainer 1", "Explainer 2", "Explainer 3"]


def test_a_move_needs_post(editor, category):
    assert editor.get(f"{EXPLAINERS}reorder/").status_code == 405


def test_move_to_position_moves_the_selected_rows_there_in_one_request(editor, category, client):
    listing = make_listing(category, 60)
    chosen = [listing[58], listing[5]]  # rows 59 and 6, on two pages of 50

    response = editor.post(
        f"{EXPLAINERS}?category__id__exact={category.pk}",
        {"action": "move_to_position", "_selected_action": [e.pk for e in chosen], "position": 2},
        follow=True,
    )

    shown = [m.message for m in response.context["messages"]]
    assert shown == ["Moved 2 explainers to positions 2–3 in LLM Foundations."]
    assert reader_titles(client)[:4] == [
        "Explainer 1",
        "Explainer 6",
        "Explainer 59",
        "Explainer 2",
    ]
    assert positions(category.explainers) == list(range(60))
    assert comments(listing[58]) == ["Moved to positions 2–3 in LLM Foundations."]


def test_move_to_a_position_past_the_end_moves_to_the_end(editor, category):
    listing = make_listing(category, 3)

    editor.post(
        f"{EXPLAINERS}?category__id__exact={category.pk}",
        {"action": "move_to_position", "_selected_action": [listing[0].pk], "position": 99},
    )

    assert titles(category) == ["Explainer 2", "Explainer 3", "Explainer 1"]
    assert comments(listing[0]) == ["Moved to position 3 in LLM Foundations."]


@pytest.mark.parametrize("position", ["", "0", "-2", "third"])
def test_move_to_position_without_a_position_moves_nothing_and_says_why(editor, category, position):
    listing = make_listing(category, 3)

    response = editor.post(
        f"{EXPLAINERS}?category__id__exact={category.pk}",
        {"action": "move_to_position", "_selected_action": [listing[2].pk], "position": position},
        follow=True,
    )

    assert [m.message for m in response.context["messages"]] == [
        "Say which position to move them to, in “To position” (1 is the top)."
    ]
    assert titles(category) == ["Explainer 1", "Explainer 2", "Explainer 3"]


def test_move_to_position_is_offered_only_in_the_ordering_view_and_only_to_editors(
    editor, contributor, category
):
    make_listing(category, 2)

    def offered(client, query):
        page = page_soup(client.get(f"{EXPLAINERS}{query}"))
        return bool(page.select("select[name=action] option[value=move_to_position]"))

    assert offered(editor, f"?category__id__exact={category.pk}")
    assert not offered(editor, "")
    assert not offered(editor, f"?category__id__exact={category.pk}&state=published")
    assert not offered(contributor, f"?category__id__exact={category.pk}&owner=everyone")

    listing = list(category.explainers.order_by("position"))
    contributor.post(
        f"{EXPLAINERS}?category__id__exact={category.pk}",
        {"action": "move_to_position", "_selected_action": [listing[1].pk], "position": 1},
    )
    assert titles(category) == ["Explainer 1", "Explainer 2"]


def test_the_lists_other_actions_still_work_in_the_ordering_view(editor, category):
    # The ordering view's numbers are window functions, which PostgreSQL refuses to lock
    # rows with: a list action's POST must act on plain rows.
    draft = make_explainer(category, "A draft", status=Explainer.Status.DRAFT)

    publish_in_bulk(editor, [draft], url=f"{EXPLAINERS}?category__id__exact={category.pk}")

    assert Explainer.objects.published().filter(pk=draft.pk).exists()


def test_the_ordering_view_has_a_handle_per_row_and_marks_what_readers_do_not_see(editor, category):
    make_explainer(category, "Shown")
    make_explainer(category, "A draft", status=Explainer.Status.DRAFT)
    soon = timezone.now() + timezone.timedelta(days=2)
    make_explainer(category, "Scheduled", published_at=soon)
    pending = make_explainer(category, "Shown, with pending changes")
    Explainer.objects.filter(pk=pending.pk).update(pending=pending.content())
    make_explainer(category, "Also shown")

    page = page_soup(editor.get(f"{EXPLAINERS}?category__id__exact={category.pk}"))

    rows = page.select("#result_list tbody tr")
    handles = [row.select_one("button.handle") for row in rows]
    assert [h.get_text(" ", strip=True) for h in handles] == [
        f"Position {n} : move “{title}”"
        for n, title in enumerate(
            ["Shown", "A draft", "Scheduled", "Shown, with pending changes", "Also shown"], 1
        )
    ]
    assert [row.select_one(".field-readers_see").get_text(" ", strip=True) for row in rows] == [
        "Card 1",
        "Not shown: draft",
        f"Not yet: scheduled for {timezone.localtime(soon):%-d %b %Y, %H:%M}",
        "Card 2 with changes not shown yet",
        "Card 3",
    ]
    assert page.select_one("#admin_sortable2_config")
    assert page.select_one("#ordering-status[role=status]")
    assert page.select_one("h2#ordering-heading").get_text() == (
        "Order of the explainers in LLM Foundations"
    )


def test_outside_the_ordering_view_there_are_no_handles_but_a_way_there(editor, category):
    make_listing(category, 2)
    categories = page_soup(editor.get(CATEGORIES))

    everything = page_soup(editor.get(EXPLAINERS))
    filtered = page_soup(editor.get(f"{EXPLAINERS}?category__id__exact={category.pk}&q=2"))

    for page in (everything, filtered):
        assert not page.select("#result_list button.handle")
        assert not page.select_one("#admin_sortable2_config")
    hint = " ".join(everything.select_one(".ordering-help").get_text().split())
    assert "choose one category under “By category”" in hint
    hint = " ".join(categories.select_one(".ordering-help").get_text().split())
    assert "choose one parent under “By parent” (“-” for the top level)" in hint
    link = filtered.select_one(".ordering-help a")
    assert link["href"] == f"?category__id__exact={category.pk}"
    assert "LLM Foundations" in filtered.select_one(".ordering-help").get_text()


def test_contributors_get_no_handles_in_the_ordering_view(contributor, category):
    make_listing(category, 2, owner=None)

    page = page_soup(contributor.get(f"{EXPLAINERS}?category__id__exact={category.pk}"))

    assert not page.select("button.handle") and not page.select_one("#admin_sortable2_config")
    assert not page.select_one(".ordering-help")


@pytest.mark.parametrize("count", [3, 45])
def test_the_ordering_view_runs_a_fixed_number_of_queries(
    editor, category, count, django_assert_num_queries
):
    for explainer in make_listing(category, count):
        explainer.series.add("MONA explainer")
    url = f"{EXPLAINERS}?category__id__exact={category.pk}"
    editor.get(url)

    # Session, user, two-factor device, permissions (2), the chosen category's name (the
    # autocomplete filter's), the count, the page of rows with their numbers, their series
    # and the savepoint pair of django-reversion's block around every list.
    with django_assert_num_queries(11):
        response = editor.get(url)

    assert len(response.context["cl"].result_list) == count


# Categories among their siblings


def test_categories_are_dragged_among_their_siblings(editor, category):
    section = category.parent
    siblings = [category, *(make_category(name, parent=section) for name in ("Two", "Three"))]

    page = page_soup(editor.get(f"{CATEGORIES}?parent__id__exact={section.pk}"))
    response = drag(editor, dragged(siblings, 3, 1), CATEGORIES)

    assert len(page.select("button.handle")) == 3
    assert response.json()["message"] == "Moved “Three” to position 1 under AI Principles."
    assert list(section.children.order_by("position").values_list("name", flat=True)) == [
        "Three",
        "LLM Foundations",
        "Two",
    ]
    assert comments(siblings[2]) == ["Moved to position 1 under AI Principles."]


def test_top_level_categories_have_their_own_ordering_view(editor, category):
    second = make_category("AI in Practice")

    page = page_soup(editor.get(f"{CATEGORIES}?parent__isnull=True"))
    drag(editor, [second, category.parent], CATEGORIES)

    assert page.select_one("h2#ordering-heading").get_text() == "Order of the top-level categories"
    assert list(
        Category.objects.filter(parent=None).order_by("position").values_list("name", flat=True)
    ) == ["AI in Practice", "AI Principles"]


def test_a_category_is_moved_to_a_position_among_its_siblings(editor, category):
    section = category.parent
    make_category("Two", parent=section)
    three = make_category("Three", parent=section)

    editor.post(
        f"{CATEGORIES}?parent__id__exact={section.pk}",
        {"action": "move_to_position", "_selected_action": [three.pk], "position": 2},
    )

    assert list(section.children.order_by("position").values_list("name", flat=True)) == [
        "LLM Foundations",
        "Three",
        "Two",
    ]


def test_contributors_may_not_reorder_categories(contributor, category):
    section = category.parent
    second = make_category("Two", parent=section)

    response = drag(contributor, [second, category], CATEGORIES)

    assert response.status_code == 403
    assert list(section.children.order_by("position").values_list("name", flat=True)) == [
        "LLM Foundations",
        "Two",
    ]

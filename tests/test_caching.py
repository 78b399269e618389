"""The shared page cache: readers get stored pages, editors never do, and every change shows.

Tests run inside a transaction that is never committed, so `transaction.on_commit` callbacks
(which bump the content version) only run inside `django_capture_on_commit_callbacks`.
"""

import io
import shutil

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from explainers.models import Explainer

from .helpers import (
    LISTINGS,
    cards,
    drag,
    make_category,
    make_explainer,
    opened_form,
    page_soup,
    publish_in_bulk,
    sign_in_verified,
)

pytestmark = pytest.mark.django_db

HOME = "/"
CATEGORY = "/ai-principles/llm-foundations/"
EXPLAINER = "/ai-principles/llm-foundations/what-is-attention/"
SERIES = "/series/mona-explainer/"
EXPLAINERS_ADMIN = "/admin/explainers/explainer/"
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@pytest.fixture
def explainer(category):
    explainer = make_explainer(category, "What is attention?", position=0)
    explainer.series.add("MONA explainer")
    return explainer


@pytest.fixture
def superuser():
    client = Client()
    sign_in_verified(client, User.objects.create_superuser("root", "root@example.org", "x" * 20))
    return client


@pytest.fixture
def editor():
    call_command("setup_roles", stdout=io.StringIO())
    user = User.objects.create_user("eddie", password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    sign_in_verified(client, user)
    return client


def cache_control(response) -> dict[str, str | bool]:
    directives = {}
    for part in response.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value or True
    return directives


def vary(response) -> set[str]:
    return {name.strip().lower() for name in response.get("Vary", "").split(",")}


def card_titles(response) -> list[str]:
    return [card["title"] for card in cards(page_soup(response))]


def cached(client, url):
    """Ask for ``url`` twice as a reader; the second answer must come from the cache."""
    first = client.get(url)
    assert first.status_code == 200 and first["X-Cache"] == "miss"
    second = client.get(url)
    assert second["X-Cache"] == "hit"
    return second


# Readers get stored pages


@pytest.mark.parametrize("url", [HOME, CATEGORY, EXPLAINER, SERIES])
def test_a_second_reader_visit_is_a_cache_hit_that_asks_the_database_nothing(
    client, explainer, url, django_assert_num_queries
):
    first = client.get(url)

    with django_assert_num_queries(0):
        second = client.get(url)

    assert first.status_code == second.status_code == 200
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert "What is attention?" in second.content.decode()


@pytest.mark.parametrize("x_cache", ["miss", "hit"])
def test_a_public_page_may_be_kept_by_a_cdn_and_is_revalidated_by_browsers(
    client, explainer, x_cache, settings
):
    if x_cache == "hit":
        client.get(CATEGORY)

    response = client.get(CATEGORY)
    repeat = client.get(CATEGORY, headers={"If-None-Match": response["ETag"]})

    assert response["X-Cache"] == x_cache
    directives = cache_control(response)
    assert directives["public"] is True and directives["must-revalidate"] is True
    assert directives["max-age"] == "0"
    assert 1 <= int(directives["s-maxage"]) <= settings.PAGE_CACHE_SECONDS
    assert "private" not in directives and "no-cache" not in directives
    assert "cookie" in vary(response)
    assert repeat.status_code == 304 and repeat.content == b""
    assert repeat["ETag"] == response["ETag"]


# Editors bypass the cache both ways


def test_a_signed_in_editor_never_gets_the_cached_page(client, editor, explainer):
    cached(client, CATEGORY)

    response = editor.get(CATEGORY)

    assert response.status_code == 200
    assert "X-Cache" not in response
    directives = cache_control(response)
    assert directives.get("private") is True and directives.get("no-cache") is True
    assert "public" not in directives and "s-maxage" not in directives


def test_an_editor_visit_does_not_fill_the_cache_for_readers(client, editor, explainer):
    for url in (HOME, CATEGORY, EXPLAINER, SERIES):
        assert editor.get(url).status_code == 200

        assert client.get(url)["X-Cache"] == "miss", url


def test_an_editor_previewing_a_draft_gets_an_uncacheable_page_readers_never_see(
    client, editor, category
):
    make_explainer(category, "Draft in progress", status=Explainer.Status.DRAFT)
    url = f"{CATEGORY}draft-in-progress/"

    preview = editor.get(url)

    assert preview.status_code == 200
    assert page_soup(preview).select_one(".preview-banner")
    directives = cache_control(preview)
    assert directives.get("no-cache") is True and directives.get("private") is True
    assert "public" not in directives
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 404


# Every kind of change reaches readers once it is committed


def change_form(client, explainer, *, title):
    """The admin's change form for ``explainer`` as opened, with a new title, published
    (the content checks' warnings it lists acknowledged: see tests/test_health.py)."""
    form = opened_form(client, f"{EXPLAINERS_ADMIN}{explainer.pk}/change/")
    return {
        **form,
        "title": title,
        "_publish_changes": "Publish changes",
        "acknowledge_warnings": "yes",
    }


def test_an_explainer_saved_in_the_admin_shows_on_the_next_reader_visit(
    client, superuser, explainer, category, django_capture_on_commit_callbacks
):
    cached(client, CATEGORY)
    cached(client, EXPLAINER)
    form = change_form(superuser, explainer, title="Attention, renamed")

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser.post(f"{EXPLAINERS_ADMIN}{explainer.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    category_page = client.get(CATEGORY)
    assert category_page["X-Cache"] == "miss"
    assert card_titles(category_page) == ["Attention, renamed"]
    explainer_page = client.get(EXPLAINER)
    assert explainer_page["X-Cache"] == "miss"
    assert page_soup(explainer_page).h1.get_text(strip=True) == "Attention, renamed"


def test_publishing_in_bulk_shows_on_the_next_reader_visit(
    client, superuser, explainer, category, django_capture_on_commit_callbacks
):
    drafts = [
        make_explainer(category, f"Draft {n}", status=Explainer.Status.DRAFT, position=n)
        for n in (1, 2)
    ]
    assert card_titles(cached(client, CATEGORY)) == ["What is attention?"]

    with django_capture_on_commit_callbacks(execute=True):
        publish_in_bulk(superuser, drafts)

    response = client.get(CATEGORY)
    assert response["X-Cache"] == "miss"
    assert card_titles(response) == ["What is attention?", "Draft 1", "Draft 2"]


def test_unpublishing_in_bulk_shows_on_the_next_reader_visit(
    client, superuser, explainer, django_capture_on_commit_callbacks
):
    cached(client, EXPLAINER)
    assert card_titles(cached(client, CATEGORY)) == ["What is attention?"]

    with django_capture_on_commit_callbacks(execute=True):
        superuser.post(
            EXPLAINERS_ADMIN, {"action": "unpublish_selected", "_selected_action": [explainer.pk]}
        )

    response = client.get(CATEGORY)
    assert response["X-Cache"] == "miss"
    assert card_titles(response) == []
    assert client.get(EXPLAINER).status_code == 404


def test_a_reorder_shows_on_the_next_reader_visit(
    client, superuser, explainer, category, django_capture_on_commit_callbacks
):
    make_explainer(category, "Second", position=1)
    assert card_titles(cached(client, CATEGORY)) == ["What is attention?", "Second"]

    with django_capture_on_commit_callbacks(execute=True):
        response = drag(superuser, [Explainer.objects.get(title="Second"), explainer])

    assert response.status_code == 200
    reordered = client.get(CATEGORY)
    assert reordered["X-Cache"] == "miss"
    assert card_titles(reordered) == ["Second", "What is attention?"]


def test_a_delete_shows_on_the_next_reader_visit(
    client, superuser, explainer, category, django_capture_on_commit_callbacks
):
    make_explainer(category, "Survivor", position=1)
    assert card_titles(cached(client, CATEGORY)) == ["What is attention?", "Survivor"]
    cached(client, SERIES)

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser.post(f"{EXPLAINERS_ADMIN}{explainer.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Explainer.objects.filter(pk=explainer.pk).exists()
    assert card_titles(client.get(CATEGORY)) == ["Survivor"]
    assert card_titles(client.get(SERIES)) == []


def test_an_import_shows_on_the_next_reader_visit(
    client, tmp_path, django_capture_on_commit_callbacks
):
    listing = LISTINGS / "model-architectures.page-1.cards.txt"
    call_command("import_listings", str(listing), parent="AI Principles", stdout=io.StringIO())
    url = "/ai-principles/model-architectures/"
    first_card = cards(page_soup(cached(client, url)))[0]
    # Only an excerpt changes: the import writes it with bulk_update, which sends no signal.
    changed = tmp_path / listing.name
    shutil.copy(listing, changed)
    text = changed.read_text()
    assert text.count(first_card["excerpt"]) == 1
    changed.write_text(text.replace(first_card["excerpt"], "A rewritten standfirst …"))

    with django_capture_on_commit_callbacks(execute=True):
        out = io.StringIO()
        call_command("import_listings", str(changed), parent="AI Principles", stdout=out)

    assert "0 created, 1 updated" in out.getvalue()
    response = client.get(url)
    assert response["X-Cache"] == "miss"
    assert cards(page_soup(response))[0]["excerpt"] == "A rewritten standfirst …"


def test_invalidation_waits_for_the_commit(client, explainer, django_capture_on_commit_callbacks):
    cached(client, CATEGORY)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            explainer.title = "Never committed"
            explainer.save()
            while_uncommitted = client.get(CATEGORY)
            transaction.set_rollback(True)

    after_rollback = client.get(CATEGORY)
    assert callbacks == []
    for response in (while_uncommitted, after_rollback):
        assert response["X-Cache"] == "hit"
        assert card_titles(response) == ["What is attention?"]


# Scheduled publication, without any write


def test_a_page_is_not_kept_past_the_next_scheduled_publication(
    client, explainer, category, settings
):
    # An hour, so that only the scheduled publication can make the lifetime shorter.
    settings.PAGE_CACHE_SECONDS = 3600
    now = timezone.now()
    make_explainer(
        category, "Scheduled", position=1, published_at=now + timezone.timedelta(minutes=10)
    )

    before = client.get(CATEGORY)
    again = client.get(CATEGORY)

    assert 590 <= int(cache_control(before)["s-maxage"]) <= 601
    assert 1 <= int(cache_control(again)["s-maxage"]) <= 601
    assert again["X-Cache"] == "hit"
    assert card_titles(again) == ["What is attention?"]
    with time_machine.travel(now + timezone.timedelta(minutes=10, seconds=5)):
        after = client.get(CATEGORY)
    assert after["X-Cache"] == "miss"
    assert card_titles(after) == ["What is attention?", "Scheduled"]
    # With nothing scheduled any more, the page may be kept the full time.
    assert int(cache_control(after)["s-maxage"]) >= 3600 - 5


def test_a_category_page_is_kept_until_what_is_scheduled_in_it_or_under_it_comes_out(
    client, explainer, category, settings
):
    settings.PAGE_CACHE_SECONDS = 3600
    now = timezone.now()
    elsewhere = make_category("Applied")
    make_explainer(elsewhere, "Elsewhere", published_at=now + timezone.timedelta(minutes=5))
    make_explainer(category, "Sooner", published_at=now + timezone.timedelta(minutes=20))
    make_explainer(category, "Later", published_at=now + timezone.timedelta(minutes=40))

    with CaptureQueriesContext(connection) as rendered:
        page, section = client.get(CATEGORY), client.get("/ai-principles/")
    home = client.get(HOME)

    # The category and its section wait for "Sooner", not for what is scheduled elsewhere,
    # and know it from their own rows; the home page shows both, so it waits for the first.
    assert not any(scheduled_lookup(query["sql"]) for query in rendered.captured_queries)
    assert 1190 <= int(cache_control(page)["s-maxage"]) <= 1201
    assert 1190 <= int(cache_control(section)["s-maxage"]) <= 1201
    assert 290 <= int(cache_control(home)["s-maxage"]) <= 301
    # Once "Sooner" is out, what comes after it is looked up: "Later", twenty minutes on.
    with time_machine.travel(now + timezone.timedelta(minutes=20, seconds=5)):
        after = client.get(CATEGORY)
    assert card_titles(after) == ["What is attention?", "Sooner"]
    assert 1180 <= int(cache_control(after)["s-maxage"]) <= 1201


def test_an_explainer_rescheduled_sooner_shortens_its_category_pages_lifetime(
    client, explainer, category, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 3600
    now = timezone.now()
    in_two_hours = now + timezone.timedelta(hours=2)
    scheduled = make_explainer(category, "Scheduled", published_at=in_two_hours)
    assert int(cache_control(client.get(CATEGORY))["s-maxage"]) >= 3600 - 5

    with django_capture_on_commit_callbacks(execute=True):
        scheduled.published_at = now + timezone.timedelta(minutes=10)
        scheduled.save()
    again = client.get(CATEGORY)

    assert again["X-Cache"] == "miss"
    assert 590 <= int(cache_control(again)["s-maxage"]) <= 601


def test_the_next_publication_is_read_once_per_content_version_and_again_after_a_change(
    client, explainer, category, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 3600
    with CaptureQueriesContext(connection) as first:
        client.get(HOME)
    with CaptureQueriesContext(connection) as second:
        client.get(SERIES)
    assert any(scheduled_lookup(query["sql"]) for query in first.captured_queries)
    assert not any(scheduled_lookup(query["sql"]) for query in second.captured_queries)

    with django_capture_on_commit_callbacks(execute=True):
        make_explainer(
            category,
            "Scheduled",
            position=1,
            published_at=timezone.now() + timezone.timedelta(minutes=10),
        )
    after = client.get(SERIES)

    # The change is seen: the new page is not kept past the newly scheduled publication.
    assert after["X-Cache"] == "miss"
    assert 590 <= int(cache_control(after)["s-maxage"]) <= 601


def scheduled_lookup(sql: str) -> bool:
    """The query for the next scheduled publication: the first published_at after now (not
    the counts, which take out the scheduled explainers in a subquery)."""
    return sql.startswith('SELECT "explainers_explainer"."published_at"') and (
        '"published_at" >' in sql
    )


# A cache outage


def test_a_cache_outage_does_not_take_the_pages_down(client, explainer):
    with override_settings(CACHES=UNREACHABLE_REDIS):
        responses = [client.get(url) for url in (HOME, CATEGORY, EXPLAINER, SERIES, CATEGORY)]

    for response in responses:
        assert response.status_code == 200
        assert "X-Cache" not in response
        assert "What is attention?" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_editor_can_still_save_during_a_cache_outage(explainer, category):
    client = Client(raise_request_exception=False)
    sign_in_verified(client, User.objects.create_superuser("root", "root@example.org", "x" * 20))
    with override_settings(CACHES=UNREACHABLE_REDIS):
        form = change_form(client, explainer, title="Saved while Redis is down")
        response = client.post(f"{EXPLAINERS_ADMIN}{explainer.pk}/change/", form)

    explainer.refresh_from_db()
    assert explainer.title == "Saved while Redis is down"  # committed either way
    assert response.status_code == 302


def test_each_host_name_has_its_own_cached_pages(client):
    # Pages print absolute URLs (canonical, og:image): one host's must not reach another.
    make_category("LLM Foundations")

    apex = client.get("/llm-foundations/", HTTP_HOST="localhost")
    other = client.get("/llm-foundations/", HTTP_HOST="127.0.0.1")

    assert (apex["X-Cache"], other["X-Cache"]) == ("miss", "miss")
    assert 'href="http://127.0.0.1/llm-foundations/"' in other.content.decode()

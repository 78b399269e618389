"""The counts kept on categories and series (``live_count``, services.counts): every way
content changes leaves the totals readers see as a count from scratch would give them."""

import io
import threading
import time

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from explainers.models import SHOWN_CHANGE, Category, Explainer, Series
from explainers.services.publishing import explainers_publish, explainers_unpublish
from explainers.sitemaps import shown_changes

from .helpers import LISTINGS, cards, make_category, make_explainer, make_hero, page_soup

pytestmark = pytest.mark.django_db

DAY = timezone.timedelta(days=1)


def shown_counts() -> dict[str, int]:
    """What readers are told, per category path and series name."""
    categories = Category.objects.with_published_counts().values_list("path", "published_count")
    series = Series.objects.with_published_counts().values_list("name", "published_count")
    return {**dict(categories), **{f"series {name}": n for name, n in series}}


def counted_from_scratch() -> dict[str, int]:
    published = Explainer.objects.published()
    categories = {
        category.path: category.descendants_and_self().filter(explainers__in=published).count()
        for category in Category.objects.all()
    }
    series = {
        f"series {series.name}": published.filter(series=series).count()
        for series in Series.objects.all()
    }
    return {**categories, **series}


@pytest.fixture
def tree():
    section = make_category("AI Principles")
    middle = make_category("Foundations", parent=section)
    leaf = make_category("Tokens", parent=middle)
    other = make_category("Applied")
    return section, middle, leaf, other


def test_saving_publishing_moving_and_deleting_keep_every_level_counted(tree):
    section, middle, leaf, other = tree
    first = make_explainer(leaf, "First")
    first.series.add("MONA explainer")
    make_explainer(middle, "Second").series.add("MONA explainer")
    draft = make_explainer(leaf, "Draft", status=Explainer.Status.DRAFT)
    draft.series.add("MONA explainer")
    assert shown_counts() == counted_from_scratch()
    assert shown_counts()["ai-principles"] == 2
    assert shown_counts()["series MONA explainer"] == 2

    draft.status = Explainer.Status.PUBLISHED
    draft.save()
    first.category = other
    first.save()
    assert shown_counts()["ai-principles/foundations/tokens"] == 1
    assert shown_counts()["applied"] == 1
    assert shown_counts()["series MONA explainer"] == 3

    first.series.remove("MONA explainer")
    Explainer.objects.get(title="Second").delete()
    assert shown_counts() == counted_from_scratch()
    assert shown_counts()["ai-principles"] == 1
    assert shown_counts()["series MONA explainer"] == 1


def test_bulk_publishing_and_unpublishing_are_counted(tree):
    section, middle, leaf, other = tree
    editor = User.objects.create_superuser("eddie", "eddie@example.org", "x")
    # Healthy enough to publish in bulk: a hero, and a body as long as its reading time says.
    drafts = [
        make_explainer(
            leaf,
            f"Draft {n}",
            status=Explainer.Status.DRAFT,
            hero=make_hero(),
            body="Words in a body. " * 290,
        )
        for n in range(3)
    ]
    for draft in drafts:
        draft.series.add("Bridge")
    published = explainers_publish(explainers=Explainer.objects.all(), user=editor)
    assert len(published.changed) == 3
    assert shown_counts()["ai-principles"] == 3
    assert shown_counts()["series Bridge"] == 3

    explainers_unpublish(explainers=Explainer.objects.filter(pk=drafts[0].pk), user=editor)
    assert shown_counts() == counted_from_scratch()
    assert shown_counts()["ai-principles/foundations"] == 2


def test_a_category_moved_under_another_section_takes_its_count_along(tree):
    section, middle, leaf, other = tree
    for number in range(4):
        make_explainer(leaf, f"Token {number}")
    middle.parent = other
    middle.save()

    assert shown_counts() == counted_from_scratch()
    assert shown_counts()["ai-principles"] == 0
    assert shown_counts()["applied"] == 4
    assert shown_counts()["applied/foundations/tokens"] == 4


def test_a_scheduled_explainer_is_counted_once_its_time_comes_without_a_write(client, tree):
    section, middle, leaf, other = tree
    now = timezone.now()
    make_explainer(leaf, "Now")
    make_explainer(leaf, "Later", published_at=now + DAY).series.add("Bridge")

    assert shown_counts()["ai-principles"] == 1
    assert client.get("/series/bridge/").status_code == 404
    with time_machine.travel(now + 2 * DAY):
        assert shown_counts() == counted_from_scratch()
        assert shown_counts()["ai-principles"] == 2
        home = page_soup(client.get("/"))
        assert home.select_one(".category-count").get_text(strip=True) == "2 explainers"
        assert "Later" in client.get("/series/bridge/").content.decode()


def test_imports_and_fixtures_leave_the_counts_right(tmp_path):
    make_explainer(make_category("Applied"), "Later", published_at=timezone.now() + DAY)
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    assert shown_counts() == counted_from_scratch()
    assert shown_counts()["ai-principles"] == 85
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_next_publications()["applied"] is not None
    assert kept_subcategory_counts() == subcategories_from_scratch()

    # A dump carries the counts it was made with; loading it into a site with other
    # content counts again rather than trusting them.
    dump = tmp_path / "site.json"
    call_command("export_fixture", "--output", str(dump), verbosity=0)
    Explainer.objects.all().delete()
    Category.objects.update(live_count=7, next_publication=timezone.now(), subcategory_count=7)
    Series.objects.update(live_count=7)
    call_command("loaddata", str(dump), verbosity=0)
    assert shown_counts() == counted_from_scratch()
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_subcategory_counts() == subcategories_from_scratch()


def kept_next_publications() -> dict[str, object]:
    return dict(Category.objects.values_list("path", "next_publication"))


def next_publications_from_scratch() -> dict[str, object]:
    scheduled = Explainer.objects.scheduled()
    return {
        category.path: scheduled.filter(category__in=category.descendants_and_self())
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
        for category in Category.objects.all()
    }


def test_the_next_publication_follows_scheduling_moves_and_bulk_writes(tree):
    section, middle, leaf, other = tree
    editor = User.objects.create_superuser("eddie", "eddie@example.org", "x")
    now = timezone.now()
    soon = make_explainer(leaf, "Soon", published_at=now + DAY)
    make_explainer(other, "Elsewhere", published_at=now + 3 * DAY)
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_next_publications()["ai-principles"] == soon.published_at

    soon.published_at = now + 5 * DAY  # later: the next is now the other one's
    soon.save()
    assert kept_next_publications() == next_publications_from_scratch()
    middle.parent = other
    middle.save()
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_next_publications()["ai-principles"] is None

    explainers_unpublish(explainers=Explainer.objects.filter(title="Elsewhere"), user=editor)
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_next_publications()["applied"] == soon.published_at
    soon.delete()
    assert set(kept_next_publications().values()) == {None}


def kept_subcategory_counts() -> dict[str, int]:
    return dict(Category.objects.values_list("path", "subcategory_count"))


def subcategories_from_scratch() -> dict[str, int]:
    return {category.path: category.children.count() for category in Category.objects.all()}


def test_subcategories_are_counted_as_they_are_added_moved_and_deleted(client, tree):
    section, middle, leaf, other = tree
    assert kept_subcategory_counts() == subcategories_from_scratch()
    assert kept_subcategory_counts()["ai-principles/foundations"] == 1

    middle.parent = other
    middle.save()
    assert kept_subcategory_counts() == subcategories_from_scratch()
    assert kept_subcategory_counts()["ai-principles"] == 0
    # What a reader sees of it: the section no longer lists it.
    assert page_soup(client.get("/ai-principles/")).select(".category-item") == []

    leaf.delete()
    make_category("Agents", parent=other)
    Category.objects.filter(slug="agents").delete()  # as the admin's bulk action deletes
    assert kept_subcategory_counts() == subcategories_from_scratch()
    assert kept_subcategory_counts()["applied"] == 1


def test_recount_puts_right_what_a_write_around_the_application_left(
    client, tree, django_capture_on_commit_callbacks
):
    section, middle, leaf, other = tree
    for number in range(31):
        make_explainer(leaf, f"Token {number}", position=number)
    Explainer.objects.filter(title="Token 0").update(published_at=timezone.now() + DAY)
    Category.objects.update(live_count=0, subcategory_count=0)
    assert page_soup(client.get("/ai-principles/")).select(".category-item") == []

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recount", stdout=out)

    assert out.getvalue().strip() == "Counted every category and series again."
    assert shown_counts() == counted_from_scratch()
    assert kept_next_publications() == next_publications_from_scratch()
    assert kept_subcategory_counts() == subcategories_from_scratch()
    assert len(page_soup(client.get("/ai-principles/")).select(".category-item")) == 1
    # Token 0 is scheduled now: thirty on one page, none on a second.
    tokens = page_soup(client.get("/ai-principles/foundations/tokens/"))
    assert [card["title"] for card in cards(tokens)] == [f"Token {n}" for n in range(1, 31)]
    assert client.get("/ai-principles/foundations/tokens/?page=2").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_editors_publishing_at_once_are_both_counted(tree):
    """The second save counts while the first is still open: it waits for the categories'
    locks, then counts with the first committed (on PostgreSQL, where two transactions run
    at once; a count taken before the first commits would miss its explainer)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")
    section, middle, leaf, other = tree
    first, second = (
        make_explainer(leaf, f"Draft {n}", status=Explainer.Status.DRAFT) for n in range(2)
    )
    first_saved, second_saving = threading.Event(), threading.Event()

    def publish(draft, before=None, after=None):
        try:
            with transaction.atomic():
                if before:
                    assert before.wait(10)
                draft.status = Explainer.Status.PUBLISHED
                if after is second_saving:
                    second_saving.set()
                draft.save()
                if after is first_saved:
                    first_saved.set()
                    assert second_saving.wait(10)
                    time.sleep(0.5)  # the second save is waiting on the locks meanwhile
        finally:
            connection.close()

    threads = [
        threading.Thread(target=publish, args=(first, None, first_saved)),
        threading.Thread(target=publish, args=(second, first_saved, second_saving)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert shown_counts()["ai-principles"] == 2
    assert shown_counts() == counted_from_scratch()


def shown_last_changes() -> dict[str, object]:
    """When readers are told each category and series last changed (the sitemap's)."""
    categories = shown_changes(Category.objects.with_due_since(), "path")
    series = shown_changes(Series.objects.with_due_since(), "name")
    return {
        **{row["path"]: row["last_change"] for row in categories},
        **{f"series {row['name']}": row["last_change"] for row in series},
    }


def last_changes_from_scratch() -> dict[str, object]:
    published = Explainer.objects.published().annotate(change=SHOWN_CHANGE)
    latest = published.order_by("-change").values_list("change", flat=True)
    return {
        **{
            category.path: latest.filter(category__in=category.descendants_and_self()).first()
            for category in Category.objects.all()
        },
        **{f"series {one.name}": latest.filter(series=one).first() for one in Series.objects.all()},
    }


def test_the_last_change_follows_edits_unpublishing_and_scheduled_publications(client, tree):
    section, middle, leaf, other = tree
    start = timezone.now()
    with time_machine.travel(start - 10 * DAY):
        older = make_explainer(leaf, "Older", published_at=timezone.now())
        older.series.add("Bridge")
    with time_machine.travel(start - 5 * DAY):
        newer = make_explainer(middle, "Newer", published_at=timezone.now())
        newer.series.add("Bridge")
        make_explainer(leaf, "Later", published_at=start + DAY).series.add("Bridge")
    assert shown_last_changes() == last_changes_from_scratch()
    assert shown_last_changes()["ai-principles/foundations/tokens"] == older.last_modified

    older.excerpt = "Edited for readers."
    older.save()  # an edit readers see: their latest change, up the tree and in its series
    assert shown_last_changes()["ai-principles/foundations/tokens"] == older.last_modified
    assert shown_last_changes()["series Bridge"] == older.last_modified

    older.status = Explainer.Status.DRAFT
    older.save()  # gone from readers: the latest is the other one's again
    assert shown_last_changes()["ai-principles"] == newer.last_modified
    assert shown_last_changes()["ai-principles/foundations/tokens"] is None
    assert shown_last_changes() == last_changes_from_scratch()

    with time_machine.travel(start + 2 * DAY):
        # The scheduled one came out with no write: its publication is the latest change.
        assert shown_last_changes()["ai-principles/foundations/tokens"] == start + DAY
        assert shown_last_changes()["series Bridge"] == start + DAY
        assert shown_last_changes() == last_changes_from_scratch()
        urls = client.get("/sitemap-categories.xml").content.decode()
        assert f"<lastmod>{(start + DAY).date().isoformat()}</lastmod>" in urls

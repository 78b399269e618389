"""Content health: the report editors read at /admin/health/, the change lists it links to,
and the same checks at the publish step (errors refuse, warnings need an editor's word)."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from explainers.health import CHECKS, content_problems, problems_by_explainer
from explainers.models import Explainer, HeroImage, State

from .helpers import (
    make_explainer,
    opened_form,
    page_soup,
    publish_in_bulk,
    sign_in_verified,
)
from .test_admin import make_user

pytestmark = pytest.mark.django_db

REPORT = "/admin/health/"
EXPLAINERS = "/admin/explainers/explainer/"
HEROES = "/admin/explainers/heroimage/"
# A body with no problem: long enough, and read in about the 2 minutes it says.
WORDS = "word " * 400


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def editor():
    return sign_in_verified(Client(), make_user("eddie", "Editors"))


def hero(alt_text="A transformer diagram with its attention heads", **fields):
    """A hero row whose file nobody reads (its size is given): the checks read its fields."""
    fields.setdefault("image", f"heroes/test/{HeroImage.objects.count()}.png")
    return HeroImage.objects.create(alt_text=alt_text, width=1200, height=675, **fields)


def healthy(category, title, **fields):
    """A published explainer no check finds anything wrong with (unless ``fields`` say so)."""
    fields.setdefault("body", WORDS)
    fields.setdefault("reading_time", 2)
    if "hero" not in fields:
        fields["hero"] = hero()
    return make_explainer(category, title, **fields)


def report(client) -> dict[str, dict]:
    """The report's table as an editor reads it: each check's level, what it found, the link."""
    response = client.get(REPORT)
    assert response.status_code == 200
    rows = {}
    for row in page_soup(response).select("table tbody tr"):
        level, found = row.select("td")
        link = found.select_one("a")
        rows[row.th.get_text(strip=True)] = {
            "level": level.get_text(strip=True),
            "found": found.get_text(strip=True),
            "url": link["href"] if link else None,
        }
    return rows


def label(code):
    return next(check.label for check in CHECKS if check.code == code)


def listed(client, url) -> list[str]:
    """The titles an explainer change list shows."""
    soup = page_soup(client.get(url))
    return sorted(cell.get_text(strip=True) for cell in soup.select("#result_list .field-title"))


def listed_heroes(client, url) -> list[str]:
    """The alt texts a hero change list shows."""
    soup = page_soup(client.get(url))
    return sorted(cell.get_text(strip=True) for cell in soup.select("#result_list .field-alt_text"))


def messages_of(response) -> str:
    return " ".join(
        li.get_text(" ", strip=True) for li in page_soup(response).select(".messagelist li")
    )


def panel_of(response) -> list[str]:
    """The problems the form lists under "Before publishing", level first."""
    return [
        li.get_text(" ", strip=True) for li in page_soup(response).select(".health-problems li")
    ]


# The report on the fixture


def test_the_report_counts_the_fixture_as_the_database_holds_it(editor):
    call_command("load_initial_content", stdout=io.StringIO(), verbosity=0)
    empty = Explainer.objects.published().filter(body="").count()
    placeholders = HeroImage.objects.filter(is_placeholder=True).count()
    assert (empty, placeholders) == (85, 85)

    rows = report(editor)

    assert rows[label("empty_body")] == {
        "level": "Warning",
        "found": "85 explainers",
        "url": f"{EXPLAINERS}?health=empty_body&owner=everyone",
    }
    assert rows[label("placeholder_hero")]["found"] == "85 hero images"
    # "12 min" on an empty body: every one of them.
    assert rows[label("reading_time_off")]["found"] == "85 explainers"
    quiet = set(rows) - {
        label(code) for code in ("empty_body", "placeholder_hero", "reading_time_off")
    }
    assert {rows[name]["found"] for name in quiet} == {"None"}
    # Reported, not taken away from readers.
    assert Explainer.objects.published().count() == 85
    # The lists the counts link to hold exactly those: the 85, in pages of 50.
    explainers = page_soup(editor.get(rows[label("empty_body")]["url"]))
    assert "85 explainers" in explainers.select_one(".paginator").get_text(" ", strip=True)
    assert len(explainers.select("#result_list .field-title")) == 50
    assert len(listed_heroes(editor, rows[label("placeholder_hero")]["url"])) == 85


def test_the_report_lists_errors_first_with_their_level_in_words(editor, category):
    healthy(category, "Fine")

    rows = list(report(editor).values())

    assert [row["level"] for row in rows] == sorted(
        (row["level"] for row in rows), key=lambda level: level != "Error"
    )
    assert {row["level"] for row in rows} == {"Error", "Warning"}


# Each check, on data made for it


@pytest.mark.parametrize(
    "alt_text, codes",
    [
        ("Image of a cat asleep on a keyboard", {"alt_image_of"}),
        ("picture of the encoder stack", {"alt_image_of"}),
        ("IMG_1234.jpg", {"alt_file_name"}),
        ("Screenshot 2026-11-02 at 10.14.03.png", {"alt_file_name"}),
        ("DSC01234", {"alt_file_name", "alt_too_short"}),
        ("Cat", {"alt_too_short"}),
        ("A long description of the diagram, " * 12, {"alt_too_long"}),
        ("", {"alt_missing"}),
        ("   ", {"alt_missing"}),
    ],
)
def test_each_alt_text_problem_is_counted_and_listed(editor, category, alt_text, codes):
    bad = hero(alt_text)
    healthy(category, "Shows the bad one", hero=bad)
    healthy(category, "Shows a good one")
    # Heroes readers are not shown (unused, or a draft's) are not counted.
    hero(alt_text)
    healthy(category, "A draft", slug="a-draft", hero=hero(alt_text), status="draft")

    rows = report(editor)

    assert {check.code for check in CHECKS if rows[check.label]["found"] != "None"} == codes
    for code in codes:
        assert rows[label(code)]["found"] == "1 hero image"
        assert rows[label(code)]["url"] == f"{HEROES}?health={code}"
        # The list shows an empty alt text as "-".
        assert listed_heroes(editor, rows[label(code)]["url"]) == [alt_text.strip() or "-"]


def test_alt_texts_that_say_what_the_picture_shows_are_not_flagged(editor, category):
    for n, alt_text in enumerate(
        [
            "A photo of two researchers at a whiteboard",
            "Diagram: imagery of attention flowing between tokens",
            "Image-generation pipeline, from prompt to pixels",
            "x" * 150,
        ]
    ):
        healthy(category, f"Explainer {n}", hero=hero(alt_text))

    assert {row["found"] for row in report(editor).values()} == {"None"}


@pytest.mark.parametrize(
    "fields, codes",
    [
        ({"body": ""}, {"empty_body", "reading_time_off"}),
        ({"body": "\n\n  \n"}, {"empty_body", "reading_time_off"}),
        ({"body": "word " * 60, "reading_time": 1}, {"short_body"}),
        ({"body": "word " * 2300, "reading_time": 3}, {"reading_time_off"}),
        ({"body": "word " * 2300, "reading_time": 9}, set()),
        ({"body": "word " * 2300, "reading_time": 12}, set()),
        ({"body": "word " * 2300, "reading_time": 16}, {"reading_time_off"}),
        ({"hero": None}, {"no_hero"}),
        ({"excerpt": ""}, {"no_excerpt"}),
        ({"excerpt": "  \n"}, {"no_excerpt"}),
        ({"hero": None, "published_at": timezone.now() + timezone.timedelta(days=2)}, {"no_hero"}),
    ],
    ids=[
        "empty",
        "blank",
        "short",
        "reading-time-too-low",
        "reading-time-close-below",
        "reading-time-close-above",
        "reading-time-too-high",
        "no-hero",
        "no-excerpt",
        "blank-excerpt",
        "scheduled-without-hero",
    ],
)
def test_each_explainer_problem_is_counted_and_its_list_shows_exactly_those(
    editor, category, fields, codes
):
    healthy(category, "The one", slug="the-one", **fields)
    healthy(category, "A healthy one", slug="healthy")
    # A draft with the same problems is not reported: it is checked when it is published.
    healthy(category, "A draft", slug="a-draft", status="draft", **fields)

    rows = report(editor)

    found = {check.code for check in CHECKS if rows[check.label]["found"] != "None"}
    assert found == codes
    for code in codes:
        assert rows[label(code)]["found"] == "1 explainer"
        assert listed(editor, rows[label(code)]["url"]) == ["The one"]


def test_the_publish_step_and_the_report_find_the_same_problems(category):
    """content_problems (the database evaluates the conditions on values) and the report's
    filters (on rows) are the same conditions: no drift between them."""
    cases = [
        {"body": ""},
        {"body": "word " * 60, "reading_time": 1},
        {"body": "word " * 2300, "reading_time": 3},
        {"hero": None},
        {"excerpt": ""},
        {"hero": hero("IMG_0042.JPG")},
        {"hero": hero("an image of a robot")},
        {"hero": hero("Owl")},
        {"hero": hero("A placeholder", is_placeholder=True)},
        {"body": "See [the missing one](/ai-principles/llm-foundations/missing/). " + WORDS},
        {},
    ]
    explainers = [healthy(category, f"Case {n}", **fields) for n, fields in enumerate(cases)]

    from_rows = problems_by_explainer(Explainer.objects.all())

    for explainer in explainers:
        in_memory = content_problems(explainer.content([]))
        assert [str(p) for p in in_memory] == [str(p) for p in from_rows[explainer.pk]]
    assert [p.code for e in explainers for p in from_rows[e.pk]] == [
        "empty_body",
        "reading_time_off",
        "short_body",
        "reading_time_off",
        "no_hero",
        "no_excerpt",
        "alt_file_name",
        "alt_image_of",
        "alt_too_short",
        "placeholder_hero",
        "broken_link",
    ]


# Internal links


@pytest.fixture
def linked_site(settings, category):
    settings.SITE_URL = "https://explainers.example"
    healthy(category, "Published", slug="published")
    healthy(
        category,
        "Scheduled",
        slug="scheduled",
        published_at=timezone.now() + timezone.timedelta(days=1),
    )
    healthy(category, "A draft", slug="a-draft", status="draft")
    moved = healthy(category, "Moved", slug="old-address")
    moved.slug = "new-address"
    moved.save()  # the old address answers 301 (a PreviousSlug)
    return category


BODY_WITH_LINKS = (
    """
Working: [a published one](/ai-principles/llm-foundations/published/), [under another
category](/ai-principles/published/), [its old
address](/ai-principles/llm-foundations/old-address/),
[without the slash](/ai-principles/llm-foundations/published), [a section](/ai-principles/),
[a category](https://explainers.example/ai-principles/llm-foundations/#start), and itself:
[here](/ai-principles/llm-foundations/the-linker/).

Broken: [nothing there](/ai-principles/llm-foundations/nothing-there/), [a
draft](https://explainers.example/ai-principles/llm-foundations/a-draft/), [not yet
out](/ai-principles/llm-foundations/scheduled/), [no such section](/no-such-section/).

Not checked: [search](/search/?q=attention), [another site](https://example.org/ai/x/),
[mail](mailto:editors@example.org), [notes](#notes), [relative](other/).
"""
    + WORDS
)


def test_broken_internal_links_are_reported_and_a_previous_slug_is_not(editor, linked_site):
    healthy(linked_site, "The linker", slug="the-linker", body=BODY_WITH_LINKS)

    row = report(editor)[label("broken_link")]

    assert (row["level"], row["found"]) == ("Error", "1 explainer")
    assert listed(editor, row["url"]) == ["The linker"]
    (problem,) = problems_by_explainer(Explainer.objects.filter(slug="the-linker"))[
        Explainer.objects.get(slug="the-linker").pk
    ]
    assert problem.detail == ", ".join(
        [
            "/ai-principles/llm-foundations/a-draft/",
            "/ai-principles/llm-foundations/nothing-there/",
            "/ai-principles/llm-foundations/scheduled/",
            "/no-such-section/",
        ]
    )


def test_a_link_breaks_when_its_target_is_unpublished(editor, linked_site):
    healthy(
        linked_site,
        "The linker",
        slug="the-linker",
        body="[see](/ai-principles/llm-foundations/published/) " + WORDS,
    )
    assert report(editor)[label("broken_link")]["found"] == "None"

    Explainer.objects.filter(slug="published").update(status=Explainer.Status.DRAFT)

    assert report(editor)[label("broken_link")]["found"] == "1 explainer"


# The publish step, through the admin form


def in_review(category, **fields):
    return healthy(
        category,
        "Under review",
        slug="under-review",
        status="draft",
        review=State.IN_REVIEW,
        **fields,
    )


def test_approving_an_explainer_with_a_broken_link_is_refused_with_the_reason(editor, category):
    explainer = in_review(category, body="[gone](/ai-principles/llm-foundations/gone/) " + WORDS)
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    form = opened_form(editor, url)

    # Errors cannot be acknowledged away.
    response = editor.post(url, {**form, "_approve": "Approve", "acknowledge_warnings": "yes"})

    assert response.status_code == 200
    assert "Not published: its body links to pages readers cannot open: " in messages_of(response)
    assert "/ai-principles/llm-foundations/gone/" in messages_of(response)
    assert panel_of(response) == [
        "Error Its body links to pages readers cannot open: /ai-principles/llm-foundations/gone/."
    ]
    explainer.refresh_from_db()
    assert explainer.state == State.DRAFT and explainer.review == State.IN_REVIEW


def test_a_warning_must_be_acknowledged_before_approving_and_history_keeps_that(editor, category):
    explainer = in_review(category, hero=hero("A placeholder", is_placeholder=True))
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    page = page_soup(editor.get(url))
    # The form lists it before anyone presses a button.
    assert [li.get_text(" ", strip=True) for li in page.select(".health-problems li")] == [
        "Warning Its hero is the importer's placeholder, whose alt text describes a picture "
        "that is not there."
    ]

    refused = editor.post(url, {**opened_form(editor, url), "_approve": "Approve"})

    assert refused.status_code == 200
    assert "Not published yet: its hero is the importer's placeholder" in messages_of(refused)
    assert page_soup(refused).select_one("input[name=acknowledge_warnings]") is not None
    explainer.refresh_from_db()
    assert explainer.state == State.DRAFT

    approved = editor.post(
        url, {**opened_form(editor, url), "_approve": "Approve", "acknowledge_warnings": "yes"}
    )

    assert approved.status_code == 302
    explainer.refresh_from_db()
    assert explainer.state == State.PUBLISHED
    comment = Version.objects.get_for_object(explainer).first().revision.comment
    assert "Approved and published. Warnings acknowledged: placeholder hero images." in comment


def test_acknowledging_the_warnings_shown_does_not_acknowledge_one_an_edit_adds(editor, category):
    explainer = in_review(category, hero=None)
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    form = opened_form(editor, url)
    assert form["shown_warnings"] == "no_hero"

    response = editor.post(
        url, {**form, "body": "", "_approve": "Approve", "acknowledge_warnings": "yes"}
    )

    assert response.status_code == 200
    assert "Not published yet: its body is empty" in messages_of(response)
    assert "no hero" not in messages_of(response)  # that one was acknowledged
    explainer.refresh_from_db()
    assert explainer.state == State.DRAFT and explainer.body == WORDS


def test_scheduling_a_draft_without_a_hero_warns_first(editor, category):
    explainer = healthy(category, "No picture", slug="no-picture", status="draft", hero=None)
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    tomorrow = timezone.localtime() + timezone.timedelta(days=1)
    schedule = {
        "status": "published",
        "published_at_0": tomorrow.strftime("%Y-%m-%d"),
        "published_at_1": tomorrow.strftime("%H:%M:%S"),
    }

    refused = editor.post(url, {**opened_form(editor, url), **schedule})

    assert refused.status_code == 200
    assert "Not published yet: it has no hero image" in messages_of(refused)
    assert Explainer.objects.get(pk=explainer.pk).state == State.DRAFT

    editor.post(url, {**opened_form(editor, url), **schedule, "acknowledge_warnings": "yes"})

    assert Explainer.objects.get(pk=explainer.pk).state == State.SCHEDULED


def test_an_explainer_without_problems_publishes_without_a_question(editor, category):
    explainer = in_review(category)
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    page = page_soup(editor.get(url))
    assert page.select_one(".health-none").get_text(strip=True).startswith("The content checks")
    assert page.select_one("input[name=acknowledge_warnings]") is None

    editor.post(url, {**opened_form(editor, url), "_approve": "Approve"})

    assert Explainer.objects.get(pk=explainer.pk).state == State.PUBLISHED


def test_publishing_changes_to_a_fixture_explainer_asks_about_its_warnings(editor):
    call_command("load_initial_content", stdout=io.StringIO(), verbosity=0)
    explainer = Explainer.objects.order_by("pk").first()
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    changes = {"title": "A better title", "_publish_changes": "Publish changes"}

    refused = editor.post(url, {**opened_form(editor, url), **changes})

    assert refused.status_code == 200
    assert [text.split(" ")[0] for text in panel_of(refused)] == ["Warning"] * 3
    explainer.refresh_from_db()
    assert explainer.title != "A better title" and explainer.is_published()

    editor.post(url, {**opened_form(editor, url), **changes, "acknowledge_warnings": "yes"})

    explainer.refresh_from_db()
    assert explainer.title == "A better title" and explainer.pending is None
    assert Explainer.objects.published().count() == 85


def test_contributors_see_the_problems_but_have_nothing_to_acknowledge(category):
    contributor = sign_in_verified(Client(), make_user("cora", "Contributors"))
    explainer = healthy(category, "Hers", slug="hers", status="draft", hero=None)

    page = page_soup(contributor.get(f"{EXPLAINERS}{explainer.pk}/change/"))

    assert "It has no hero image" in page.select_one(".health-problems").get_text()
    assert page.select_one("input[name=acknowledge_warnings]") is None


# The publish step, from the explainer list


def test_publishing_in_bulk_lists_the_problems_and_holds_back_errors(editor, category):
    warned = healthy(category, "Warned", slug="warned", status="draft", hero=None)
    broken = healthy(category, "Broken", slug="broken", status="draft", excerpt="")
    fine = healthy(category, "Fine", slug="fine", status="draft")
    ids = [warned.pk, broken.pk, fine.pk]

    confirmation = editor.post(EXPLAINERS, {"action": "publish_selected", "_selected_action": ids})

    assert confirmation.status_code == 200
    items = page_soup(confirmation).select(".health-review > li")
    assert [item.get_text(" ", strip=True) for item in items] == [
        "Warned Warning It has no hero image, so its card and link previews show none.",
        "Broken (stays unpublished until its errors are fixed) Error It has no excerpt, which "
        "its card, search results and link previews show.",
    ]
    assert not Explainer.objects.published().exists()  # nothing until it is confirmed

    done = publish_in_bulk(editor, [warned, broken, fine])

    assert set(Explainer.objects.published().values_list("slug", flat=True)) == {"warned", "fine"}
    shown = messages_of(editor.get(done["Location"]))
    assert "Published 2 explainers." in shown
    assert (
        "Not published, because of what the content checks found: “Broken” (it has no excerpt"
        in shown
    )
    comment = Version.objects.get_for_object(warned).first().revision.comment
    assert comment == (
        "Published from the explainer list. “Warned”: Warnings acknowledged: no hero image."
    )


def test_publishing_healthy_drafts_in_bulk_asks_nothing(editor, category):
    drafts = [healthy(category, f"Draft {n}", status="draft") for n in range(2)]

    response = editor.post(
        EXPLAINERS, {"action": "publish_selected", "_selected_action": [d.pk for d in drafts]}
    )

    assert response.status_code == 302
    assert Explainer.objects.published().count() == 2


# Cost and access


def site_of(category, size):
    """``size`` published explainers, each with a hero of its own and internal links (one
    of them to a previous slug, one to nothing)."""
    moved = healthy(category, "Moved", slug="moved-before")
    moved.slug = "moved"
    moved.save()
    for n in range(size):
        healthy(
            category,
            f"Explainer {n}",
            hero=hero(f"IMG_{n}.jpg" if n % 2 else "A transformer diagram"),
            body=f"[a](/ai-principles/llm-foundations/moved-before/) [b](/nowhere-{n}/) {WORDS}",
        )


@pytest.mark.parametrize("size", [5, 50])
def test_the_report_runs_a_fixed_number_of_queries(
    editor, category, size, django_assert_num_queries
):
    site_of(category, size)
    editor.get(REPORT)  # the session and permission caches are warm after this

    # Session, user, the session's two-factor device, the user's and groups' permissions;
    # the explainers' counts (one aggregate); their bodies that link into the site; the
    # linked categories, published explainers and previous slugs; the heroes' counts.
    with django_assert_num_queries(11):
        response = editor.get(REPORT)

    rows = report(editor)
    assert rows[label("broken_link")]["found"] == f"{size} explainers"
    assert rows[label("alt_file_name")]["found"] == f"{size // 2} hero images"
    assert response.status_code == 200


def test_strangers_are_sent_to_sign_in_and_staff_without_view_permission_refused(category):
    assert Client().get(REPORT)["Location"].startswith("/admin/login/")
    nobody = sign_in_verified(Client(), make_user("nobody"))  # staff, in no group
    assert nobody.get(REPORT).status_code == 403
    not_staff = User.objects.create_user("reader", password="x" * 20)
    client = Client()
    client.force_login(not_staff)
    assert client.get(REPORT)["Location"].startswith("/admin/login/")


def test_contributors_read_the_report_and_the_dashboard_links_to_it(category):
    contributor = sign_in_verified(Client(), make_user("cora", "Contributors"))
    healthy(category, "Someone else's", slug="else", hero=None)

    rows = report(contributor)
    dashboard = page_soup(contributor.get("/admin/"))

    # Everyone's explainers, not only hers (her list starts on "Mine").
    assert listed(contributor, rows[label("no_hero")]["url"]) == ["Someone else's"]
    assert dashboard.select_one(f"a[href='{REPORT}']").get_text(strip=True) == (
        "See the content health report"
    )

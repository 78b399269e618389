"""The review workflow as three people live it: a contributor writes and submits, an editor
sends it back with a comment, the contributor revises and resubmits, another editor approves
and schedules it. Emails go out at each hand-over; the dashboard lists the right work for each
of them at each step; readers see nothing until it is approved, and then only on time."""

import io
import json

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from reversion.models import Version

from explainers.models import Explainer, HeroImage, Series, State

from .helpers import (
    image_upload,
    make_explainer,
    opened_form,
    page_soup,
    sign_in_verified,
)
from .test_admin import make_user

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"
TITLE = "Softmax, step by step"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())
    Series.objects.create(name="MONA explainer")


def person(username, group, first_name):
    user = make_user(username, group, first_name=first_name, email=f"{username}@example.org")
    client = Client()
    sign_in_verified(client, user)
    return client


@pytest.fixture
def team():
    return {
        "cora": person("cora", "Contributors", "Cora"),
        "dana": person("dana", "Editors", "Dana"),
        "ed": person("ed", "Editors", "Ed"),
    }


def submit(client, url, on_commit, **changes):
    """Open the form at ``url``, change ``changes``, press the button named in ``press``."""
    with on_commit(execute=True):
        response = client.post(url, {**opened_form(client, url), **changes})
    assert response.status_code == 302, page_soup(response).select(".errornote, .errorlist")
    return response


def panel(client, title) -> list[str]:
    """The explainer titles listed under the dashboard panel ``title``."""
    soup = page_soup(client.get("/admin/"))
    for section in soup.select("section.dashboard-panel"):
        if section.h2.get_text(strip=True) == title:
            return [a.get_text(strip=True) for a in section.select(".dashboard-list li > a")]
    return []


def panel_titles(client) -> list[str]:
    soup = page_soup(client.get("/admin/"))
    return [section.h2.get_text(strip=True) for section in soup.select("section.dashboard-panel")]


def readers_find(title, explainer) -> dict:
    """Where a reader (no session) would see ``title``: every public place that lists it."""
    reader = Client()
    detail = reader.get(explainer.get_absolute_url())
    return {
        "detail": detail.status_code == 200 and title in detail.content.decode(),
        "category": title in reader.get(explainer.category.get_absolute_url()).content.decode(),
        "home": title in reader.get("/").content.decode(),
        "rss": title in reader.get("/feeds/rss.xml").content.decode(),
        "atom": title in reader.get("/feeds/atom.xml").content.decode(),
        "sitemap": explainer.slug in reader.get("/sitemap-explainers.xml").content.decode(),
        "search": title in reader.get("/search/", {"q": title.split()[0]}).content.decode(),
    }


def test_a_draft_goes_through_review_to_a_scheduled_publication(
    team, category, django_capture_on_commit_callbacks
):
    cora, dana, ed = team["cora"], team["dana"], team["ed"]
    on_commit = django_capture_on_commit_callbacks
    assert "Awaiting your review" not in panel_titles(cora)  # nothing she could act on

    # Cora writes a draft and submits it.
    add = f"{EXPLAINERS}add/"
    submit(
        cora,
        add,
        on_commit,
        title=TITLE,
        slug="softmax-step-by-step",
        category=str(category.pk),
        excerpt="How logits become probabilities.",
        body="Softmax turns scores into a distribution.",
        series="MONA explainer",
    )
    explainer = Explainer.objects.get()
    assert explainer.owner.username == "cora" and explainer.state == State.DRAFT
    assert panel(cora, "Your drafts") == [TITLE]
    change = f"{EXPLAINERS}{explainer.pk}/change/"
    submit(cora, change, on_commit, _submit_for_review="Submit for review")

    explainer.refresh_from_db()
    assert explainer.review == State.IN_REVIEW
    (notice,) = mail.outbox
    assert sorted(notice.to) == ["dana@example.org", "ed@example.org"]
    assert notice.subject == f"Review requested: {TITLE}" and change in notice.body
    assert panel(dana, "Awaiting your review") == [TITLE]
    assert panel(ed, "Awaiting your review") == [TITLE]
    assert not any(readers_find(TITLE, explainer).values())
    # While it waits, it is the reviewers' to change.
    assert cora.post(change, opened_form(dana, change)).status_code == 403

    # Dana sends it back: a comment is required, and Cora reads it.
    refused = dana.post(change, {**opened_form(dana, change), "_request_changes": "x"})
    assert refused.status_code == 200
    assert "Say what should change" in refused.content.decode()
    explainer.refresh_from_db()
    assert explainer.review == State.IN_REVIEW
    submit(
        dana,
        change,
        on_commit,
        _request_changes="Request changes",
        review_note="Show the exponent step with numbers.",
    )
    explainer.refresh_from_db()
    assert explainer.review == State.CHANGES_REQUESTED
    sent_back = mail.outbox[-1]
    assert sent_back.to == ["cora@example.org"]
    assert "Show the exponent step with numbers." in sent_back.body
    assert panel(cora, "Changes requested on your explainers") == [TITLE]
    assert panel(dana, "Awaiting your review") == []
    form_page = page_soup(cora.get(change))
    assert "Show the exponent step with numbers." in form_page.select_one(
        ".review-requested"
    ).get_text(" ", strip=True)

    # Cora revises and resubmits.
    submit(
        cora,
        change,
        on_commit,
        body="Softmax exponentiates each score: e^2 = 7.39, e^1 = 2.72 …",
        _submit_for_review="Submit for review",
    )
    explainer.refresh_from_db()
    assert explainer.review == State.IN_REVIEW and "7.39" in explainer.body
    assert len(mail.outbox) == 3
    assert panel(cora, "Changes requested on your explainers") == []

    # Ed approves with a publication time tomorrow: scheduled, not yet public.
    tomorrow = timezone.localtime() + timezone.timedelta(days=1)
    submit(
        ed,
        change,
        on_commit,
        status="published",
        published_at_0=tomorrow.strftime("%Y-%m-%d"),
        published_at_1=tomorrow.strftime("%H:%M:%S"),
        _approve="Approve",
        acknowledge_warnings="yes",  # no hero, a short body (tests/test_health.py)
    )
    explainer.refresh_from_db()
    assert explainer.state == State.SCHEDULED and explainer.review == ""
    approved = mail.outbox[-1]
    assert approved.to == ["cora@example.org"] and "scheduled" in approved.body
    assert panel(dana, "Scheduled in the next 7 days") == [TITLE]
    assert panel(dana, "Awaiting your review") == []
    assert not any(readers_find(TITLE, explainer).values())

    with time_machine.travel(tomorrow + timezone.timedelta(minutes=1)):
        assert all(readers_find(TITLE, explainer).values())
        assert panel(dana, "Recently published") == [TITLE]

    comments = list(
        Version.objects.get_for_object(explainer)
        .order_by("pk")
        .values_list("revision__comment", "revision__user__username")
    )
    assert comments[0] == ("Added.", "cora")
    assert comments[1] == ("No fields changed. Submitted for review.", "cora")
    assert comments[2] == (
        "No fields changed. Changes requested: Show the exponent step with numbers.",
        "dana",
    )
    assert comments[3] == ("Changed Body. Submitted for review.", "cora")
    assert comments[4][0].startswith("Changed Published at and Status. Approved and scheduled")
    assert comments[4][1] == "ed"


def test_changes_proposed_to_a_live_explainer_reach_readers_only_once_approved(
    team, category, django_capture_on_commit_callbacks
):
    cora, dana = team["cora"], team["dana"]
    on_commit = django_capture_on_commit_callbacks
    live = make_explainer(category, "Attention, explained", slug="attention", position=0)
    old_hero = live.hero
    change = f"{EXPLAINERS}{live.pk}/change/"

    # Cora uploads a new picture (its renditions are made once the upload commits) and
    # proposes it, with a new title, for review.
    with on_commit(execute=True):
        cora.post(
            "/admin/explainers/heroimage/add/",
            {
                "image": image_upload("new.jpg"),
                "alt_text": "A new diagram",
                "caption": "",
                "credit": "",
            },
        )
    new_hero = HeroImage.objects.get(alt_text="A new diagram")
    submit(
        cora,
        change,
        on_commit,
        title="Attention, re-explained",
        hero=str(new_hero.pk),
        _submit_for_review="Submit for review",
    )

    live.refresh_from_db()
    assert (live.title, live.hero, live.review) == ("Attention, explained", old_hero, "in_review")
    seen = readers_find("Attention, re-explained", live)
    del seen["sitemap"]  # it lists the (unchanged) address, not titles
    assert not any(seen.values()), seen
    assert all(readers_find("Attention, explained", live).values())
    reader = Client()
    detail = page_soup(reader.get(live.get_absolute_url()))
    article = next(
        data
        for data in (
            json.loads(s.string) for s in detail.select("script[type='application/ld+json']")
        )
        if data.get("@type") == "Article"
    )
    assert article["headline"] == "Attention, explained"
    rendition = new_hero.rendition(400).url
    assert reader.get(rendition).status_code == 404
    assert dana.get(rendition).status_code == 200
    # The change list marks it, and the editor previews the pending version.
    assert "with pending changes" in dana.get(EXPLAINERS).content.decode()
    preview = dana.get(f"{EXPLAINERS}{live.pk}/pending/")
    assert preview.status_code == 200 and "Attention, re-explained" in preview.content.decode()
    assert reader.get(f"{EXPLAINERS}{live.pk}/pending/").status_code == 302

    submit(dana, change, on_commit, _approve="Approve", acknowledge_warnings="yes")

    live.refresh_from_db()
    assert (live.title, live.hero, live.pending) == ("Attention, re-explained", new_hero, None)
    assert all(readers_find("Attention, re-explained", live).values())
    assert reader.get(rendition).status_code == 200


def test_an_editor_publishes_pending_changes_directly(
    team, category, django_capture_on_commit_callbacks
):
    dana = team["dana"]
    live = make_explainer(category, "Attention, explained", slug="attention")
    change = f"{EXPLAINERS}{live.pk}/change/"

    submit(dana, change, django_capture_on_commit_callbacks, excerpt="A sharper standfirst.")
    live.refresh_from_db()
    assert (
        live.excerpt != "A sharper standfirst."
        and live.pending["excerpt"] == "A sharper standfirst."
    )
    assert "sharper" not in Client().get(live.get_absolute_url()).content.decode()

    submit(
        dana,
        change,
        django_capture_on_commit_callbacks,
        _publish_changes="Publish changes",
        acknowledge_warnings="yes",  # its empty body (tests/test_health.py)
    )
    live.refresh_from_db()
    assert live.excerpt == "A sharper standfirst." and live.pending is None
    assert "sharper" in Client().get(live.get_absolute_url()).content.decode()


def test_the_dashboard_runs_a_fixed_number_of_queries(team, category, django_assert_num_queries):
    dana_user = User.objects.get(username="dana")
    for number in range(12):
        make_explainer(category, f"Published {number}", slug=f"published-{number}")
        make_explainer(
            category,
            f"Review {number}",
            slug=f"review-{number}",
            status="draft",
            review="in_review",
            owner=dana_user,
        )
    dana = team["dana"]
    dana.get("/admin/")  # the session and permission caches are warm after this

    # Session, user, the session's two-factor device, the user's and groups' permissions, five
    # panels, the recent actions.
    with django_assert_num_queries(11):
        response = dana.get("/admin/")

    # Awaiting review, her drafts and recently published: 8 each, however many there are.
    assert len(page_soup(response).select(".dashboard-list li")) == 8 * 3


def test_contributors_see_their_own_explainers_first(team, category):
    cora = team["cora"]
    make_explainer(category, "Someone else's", slug="else")
    cora_user = make_user("cora2", "Contributors")
    mine = make_explainer(category, "Mine", slug="mine", status="draft", owner=cora_user)
    client = Client()
    sign_in_verified(client, cora_user)

    listed = client.get(EXPLAINERS).context["cl"].result_list
    everyone = client.get(EXPLAINERS, {"owner": "everyone"}).context["cl"].result_list

    assert list(listed) == [mine]
    assert len(everyone) == 2
    assert cora.get(EXPLAINERS).status_code == 200

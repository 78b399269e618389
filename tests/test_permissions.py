"""Who may do what, cell by cell: anonymous, contributor, editor and superuser, against every
editorial step. Each cell tries the step the way that person would (a form post, a list
action, a button) and checks the database, not the answer's status code alone."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from reversion.models import Version

from explainers.models import Explainer, HeroImage, Series, State
from explainers.services.editing import revision_record

from .helpers import (
    drag,
    make_explainer,
    make_hero,
    opened_form,
    publish_in_bulk,
    sign_in_verified,
)
from .test_admin import PASSWORD, make_user

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"
ROLES = ["anonymous", "contributor", "editor", "superuser"]


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())
    Series.objects.create(name="MONA explainer")


def client_for(role) -> Client:
    client = Client()
    if role == "contributor":
        sign_in_verified(client, make_user("cora", "Contributors"))
    elif role == "editor":
        sign_in_verified(client, make_user("eddie", "Editors"))
    elif role == "superuser":
        sign_in_verified(
            client, User.objects.create_superuser("root", "root@example.org", PASSWORD)
        )
    return client


def draft(category, **fields):
    return make_explainer(category, "A draft", slug="a-draft", status="draft", **fields)


def live(category, **fields):
    return make_explainer(category, "Live one", slug="live-one", **fields)


def post_form(client, url, **changes):
    """Open the form at ``url`` as this client and send it back with ``changes``."""
    page = client.get(url)
    if page.status_code != 200 or not page.content.count(b'name="edit_token"'):
        return client.post(url, changes)  # no form to open: try it blind
    return client.post(url, {**opened_form(client, url), **changes})


def view_draft(client, category):
    explainer = draft(category)
    response = client.get(f"{EXPLAINERS}{explainer.pk}/change/")
    return response.status_code == 200 and b"A draft" in response.content


def edit_draft(client, category):
    explainer = draft(category)
    post_form(client, f"{EXPLAINERS}{explainer.pk}/change/", title="Edited")
    return Explainer.objects.get(pk=explainer.pk).title == "Edited"


def edit_live(client, category):
    explainer = live(category)
    post_form(client, f"{EXPLAINERS}{explainer.pk}/change/", title="Edited")
    saved = Explainer.objects.get(pk=explainer.pk)
    # Readers' version never changes by an edit; the edit waits as the pending version.
    assert saved.title == "Live one"
    return (saved.pending or {}).get("title") == "Edited"


def submit(client, category):
    explainer = draft(category)
    post_form(client, f"{EXPLAINERS}{explainer.pk}/change/", _submit_for_review="Submit")
    return Explainer.objects.get(pk=explainer.pk).review == State.IN_REVIEW


def approve(client, category):
    explainer = draft(category, review=State.IN_REVIEW)
    # Its empty body and missing hero acknowledged, as the publish step asks (test_health.py).
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    post_form(client, url, _approve="Approve", acknowledge_warnings="yes")
    return Explainer.objects.published().filter(pk=explainer.pk).exists()


def publish(client, category):
    explainer = draft(category)
    publish_in_bulk(client, [explainer])
    return Explainer.objects.published().filter(pk=explainer.pk).exists()


def unpublish(client, category):
    explainer = live(category)
    client.post(EXPLAINERS, {"action": "unpublish_selected", "_selected_action": [explainer.pk]})
    return not Explainer.objects.published().filter(pk=explainer.pk).exists()


def restore_revision(client, category):
    explainer = live(category)
    Explainer.objects.filter(pk=explainer.pk).update(title="Old title")
    explainer.refresh_from_db()
    revision_record(record=explainer, user=None, comment="old")
    Explainer.objects.filter(pk=explainer.pk).update(title="Live one")
    version = Version.objects.get_for_object(explainer).get()
    response = client.get(f"{EXPLAINERS}{explainer.pk}/history/{version.pk}/", follow=True)
    if response.status_code != 200 or not response.redirect_chain:
        return False
    post_form(client, response.redirect_chain[-1][0])
    saved = Explainer.objects.get(pk=explainer.pk)
    # Never a change to what readers see, whoever restores: the old content waits.
    assert (saved.title, saved.status) == ("Live one", Explainer.Status.PUBLISHED)
    return (saved.pending or {}).get("title") == "Old title"


def recover(client, category):
    explainer = live(category)
    revision_record(record=explainer, user=None, comment="before deleting")
    explainer.delete()
    version = Version.objects.get_deleted(Explainer).get()
    client.post(f"{EXPLAINERS}recover/{version.pk}/")
    back = Explainer.objects.filter(slug="live-one").first()
    # A recovered explainer is a draft until an editor publishes it again.
    assert back is None or back.state == State.DRAFT
    return back is not None


def change_live_hero(client, category):
    hero = make_hero(alt_text="Old words")
    live(category, hero=hero)
    post_form(client, f"/admin/explainers/heroimage/{hero.pk}/change/", alt_text="New words")
    return HeroImage.objects.get(pk=hero.pk).alt_text == "New words"


def create_series(client, category):
    explainer = draft(category)
    post_form(client, f"{EXPLAINERS}{explainer.pk}/change/", series="A brand new series")
    client.post("/admin/explainers/series/add/", {"name": "Another new one", "slug": "another"})
    return Series.objects.filter(name__in=["A brand new series", "Another new one"]).exists()


def reorder(client, category):
    first = make_explainer(category, "First", slug="first")
    second = make_explainer(category, "Second", slug="second")
    drag(client, [second, first])  # the ordering view's drag: Second above First
    return Explainer.objects.get(pk=first.pk).position == 1


def move_to_position(client, category):
    first = make_explainer(category, "First", slug="first")
    second = make_explainer(category, "Second", slug="second")
    client.post(
        f"{EXPLAINERS}?category__id__exact={category.pk}",
        {"action": "move_to_position", "_selected_action": [second.pk], "position": 1},
    )
    return Explainer.objects.get(pk=first.pk).position == 1


#                     anonymous contributor editor superuser
MATRIX = {
    view_draft:       [False, True, True, True],
    edit_draft:       [False, True, True, True],
    edit_live:        [False, True, True, True],
    submit:           [False, True, True, True],
    approve:          [False, False, True, True],
    publish:          [False, False, True, True],
    unpublish:        [False, False, True, True],
    restore_revision: [False, True, True, True],
    recover:          [False, True, True, True],
    change_live_hero: [False, False, True, True],
    create_series:    [False, False, True, True],
    reorder:          [False, False, True, True],
    move_to_position: [False, False, True, True],
}  # fmt: skip


@pytest.mark.parametrize(
    "step, role, allowed",
    [
        (step, role, allowed)
        for step, cells in MATRIX.items()
        for role, allowed in zip(ROLES, cells, strict=True)
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_permission_matrix(step, role, allowed, category):
    assert step(client_for(role), category) is allowed

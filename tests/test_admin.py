"""The admin as contributors, editors, superusers and strangers use it."""

import io
import os
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, TestCase
from django.utils import timezone
from PIL import Image, ImageCms
from reversion.models import Version

from explainers.models import Category, Explainer, HeroImage, Series, State

from .helpers import (
    cards,
    drag,
    dragged,
    image_upload,
    make_category,
    make_explainer,
    make_hero,
    opened_form,
    page_soup,
    publish_in_bulk,
    sign_in_verified,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 42"
EXPLAINERS = "/admin/explainers/explainer/"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture(autouse=True)
def series():
    """The series the forms below name (contributors may pick series, not create them)."""
    return Series.objects.create(name="MONA explainer")


def make_user(username, group=None, **fields):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, **fields)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def signed_in(user):
    client = Client()
    sign_in_verified(client, user)
    return client


@pytest.fixture
def contributor():
    return signed_in(make_user("cora", "Contributors"))


@pytest.fixture
def editor():
    return signed_in(make_user("eddie", "Editors"))


@pytest.fixture
def superuser():
    return signed_in(User.objects.create_superuser("root", "root@example.org", PASSWORD))


def explainer_form(category, published_at=None, **overrides):
    data = {
        "title": "Attention, explained",
        "slug": "attention-explained",
        "category": category.pk,
        "series": "MONA explainer",
        "excerpt": "How a model weighs tokens …",
        "body": "word " * 460,
        "hero": "",
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "reading_time": "",
    }
    if published_at is not None:
        # The admin splits a datetime into a date field and a time field.
        data["published_at_0"] = published_at.strftime("%Y-%m-%d")
        data["published_at_1"] = published_at.strftime("%H:%M:%S")
    data.update(overrides)
    return data


# Roles and access


def test_setup_roles_is_idempotent_and_gives_each_group_exactly_its_permissions():
    call_command("setup_roles", stdout=io.StringIO())

    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    contributors = set(
        Group.objects.get(name="Contributors").permissions.values_list("codename", flat=True)
    )
    assert Group.objects.count() == 2
    assert "publish_explainer" in editors and "publish_explainer" not in contributors
    assert "delete_category" not in editors and "change_category" in editors
    assert not any(codename.endswith("_user") for codename in editors | contributors)


def test_strangers_are_sent_to_the_login_page_and_change_nothing(client, category):
    assert client.get(EXPLAINERS)["Location"].startswith("/admin/login/")

    response = client.post(f"{EXPLAINERS}add/", explainer_form(category))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Explainer.objects.exists()


def test_editors_cannot_manage_users_or_delete_categories(editor, category):
    assert editor.get("/admin/auth/user/").status_code == 403
    assert (
        editor.post(
            f"/admin/explainers/category/{category.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Category.objects.filter(pk=category.pk).exists()


# Writing explainers


def test_a_contributor_saves_a_draft_with_a_counted_reading_time(contributor, category):
    response = contributor.post(f"{EXPLAINERS}add/", explainer_form(category))

    assert response.status_code == 302
    explainer = Explainer.objects.get()
    assert explainer.status == Explainer.Status.DRAFT
    assert explainer.reading_time == 2  # 460 words at about 230 a minute
    assert [s.name for s in explainer.series.all()] == ["MONA explainer"]


def test_a_contributor_cannot_publish_from_the_form(contributor, category):
    now = timezone.now()
    contributor.post(
        f"{EXPLAINERS}add/",
        explainer_form(category, status="published", published_at=now),
    )

    explainer = Explainer.objects.get()
    assert (explainer.status, explainer.published_at) == (Explainer.Status.DRAFT, None)
    assert not Explainer.objects.published().exists()


def test_a_contributor_cannot_publish_in_bulk(contributor, category):
    draft = make_explainer(category, status=Explainer.Status.DRAFT)

    response = contributor.post(
        EXPLAINERS, {"action": "publish_selected", "_selected_action": [draft.pk]}
    )

    draft.refresh_from_db()
    assert draft.status == Explainer.Status.DRAFT
    assert response.status_code in (200, 302)
    listing = contributor.get(EXPLAINERS).content.decode()
    assert "publish_selected" not in listing


def test_a_contributor_cannot_change_what_readers_see(contributor, category, client):
    live = make_explainer(category, "Live", slug="live")
    url = f"{EXPLAINERS}{live.pk}/change/"

    response = contributor.post(url, {**opened_form(contributor, url), "title": "Vandalised"})

    # Saved, as a proposal: readers keep the published version.
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.title == "Live" and live.pending["title"] == "Vandalised"
    assert page_soup(client.get(live.get_absolute_url())).h1.get_text() == "Live"


def test_an_editor_publishes_from_the_form_and_readers_see_it(editor, category, client):
    editor.post(
        f"{EXPLAINERS}add/",
        # Acknowledging that it has no hero (tests/test_health.py).
        explainer_form(
            category, status="published", shown_warnings="no_hero", acknowledge_warnings="yes"
        ),
    )

    explainer = Explainer.objects.get()
    assert explainer.published_at is not None and explainer.is_published()
    soup = page_soup(client.get("/ai-principles/llm-foundations/"))
    assert [c["title"] for c in cards(soup)] == ["Attention, explained"]


def test_an_editor_schedules_an_explainer_that_appears_on_time_without_a_job(
    editor, category, client
):
    when = timezone.now() + timezone.timedelta(days=1)
    editor.post(
        f"{EXPLAINERS}add/",
        explainer_form(
            category,
            status="published",
            published_at=when,
            shown_warnings="no_hero",
            acknowledge_warnings="yes",
        ),
    )
    explainer = Explainer.objects.get()
    assert explainer.state == State.SCHEDULED
    assert client.get(explainer.get_absolute_url()).status_code == 404

    with time_machine.travel(when + timezone.timedelta(minutes=1)):
        assert client.get(explainer.get_absolute_url()).status_code == 200
        assert len(cards(page_soup(client.get("/ai-principles/llm-foundations/")))) == 1


def test_an_editor_publishes_and_unpublishes_in_bulk(editor, category):
    drafts = [make_explainer(category, f"Draft {n}", status="draft") for n in range(3)]
    ids = [d.pk for d in drafts]

    publish_in_bulk(editor, drafts)

    assert Explainer.objects.published().count() == 3
    assert Version.objects.filter(revision__user__username="eddie").count() == 3

    editor.post(EXPLAINERS, {"action": "unpublish_selected", "_selected_action": ids[:2]})

    assert list(Explainer.objects.published().values_list("pk", flat=True)) == ids[2:]


def test_a_reading_time_the_editor_typed_is_kept(editor, category):
    editor.post(f"{EXPLAINERS}add/", explainer_form(category, reading_time="13"))

    assert Explainer.objects.get().reading_time == 13


def test_a_counted_reading_time_follows_a_longer_body(editor, category):
    editor.post(f"{EXPLAINERS}add/", explainer_form(category))
    explainer = Explainer.objects.get()

    url = f"{EXPLAINERS}{explainer.pk}/change/"
    editor.post(url, {**opened_form(editor, url), "body": "word " * 2300})

    explainer.refresh_from_db()
    assert explainer.reading_time == 10


def test_the_markdown_preview_is_sanitized_and_needs_staff(editor, client):
    response = editor.post(
        f"{EXPLAINERS}preview/", {"body": "**bold** <script>alert(1)</script> [x](javascript:y)"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>bold</strong>" in html and "<script" not in html and "javascript" not in html
    assert client.post(f"{EXPLAINERS}preview/", {"body": "x"}).status_code == 302


def test_a_slug_that_still_leads_to_another_explainer_is_refused(editor, category):
    moved = make_explainer(category, "Moved", slug="old-address")
    moved.slug = "new-address"
    moved.save()  # "old-address" now redirects to it
    other = make_explainer(category, "Other", slug="other", status="draft")
    url = f"{EXPLAINERS}{other.pk}/change/"

    response = editor.post(url, {**opened_form(editor, url), "slug": "old-address"})

    assert response.status_code == 200
    assert "was the address of “Moved”" in response.content.decode()
    other.refresh_from_db()
    assert other.slug == "other"


def test_signing_in_leads_to_the_editorial_dashboard():
    make_user("target", "Contributors")
    client = Client()

    response = client.post("/admin/login/", {"username": "target", "password": PASSWORD})

    assert response["Location"] == "/admin/"


def test_view_on_site_opens_a_draft_as_a_preview(editor, category):
    draft = make_explainer(category, "Draft", slug="draft", status="draft")

    content_type = ContentType.objects.get_for_model(Explainer)

    response = editor.get(f"/admin/r/{content_type.pk}/{draft.pk}/", follow=True)

    assert response.status_code == 200
    assert page_soup(response).select_one(".preview-banner")


# Lists


def test_the_explainer_list_shows_what_editors_need(
    editor, category, django_assert_max_num_queries
):
    for number in range(30):
        explainer = make_explainer(category, f"Explainer {number}", hero=make_hero())
        explainer.series.add("MONA Bridge")

    # Sessions, user, permissions, counts, the page, series and filter choices: not per row.
    with django_assert_max_num_queries(20):
        response = editor.get(EXPLAINERS)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="admin-thumbnail"') == 30
    assert "MONA Bridge" in html and "Published" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("placeholder_hero=yes", ["Placeholder"]),
        ("state=draft", ["Draft one"]),
        ("q=needle", ["Needle"]),
    ],
)
def test_the_explainer_list_filters_and_searches(editor, category, query, expected):
    make_explainer(
        category,
        "Placeholder",
        hero=HeroImage.objects.create(
            image="heroes/placeholders/variant-01.png",
            alt_text="x",
            width=1200,
            height=675,
            is_placeholder=True,
        ),
    )
    make_explainer(category, "Draft one", status="draft")
    make_explainer(category, "Needle", body="A needle in the body")

    response = editor.get(f"{EXPLAINERS}?{query}")

    assert [e.title for e in response.context["cl"].result_list] == expected


# Ordering


def test_dragging_an_explainer_down_reorders_the_category_page(editor, category, client):
    first = make_explainer(category, "First")
    second = make_explainer(category, "Second")

    response = drag(editor, dragged([first, second], 1, 2))

    assert response.status_code == 200
    soup = page_soup(client.get("/ai-principles/llm-foundations/"))
    assert [c["title"] for c in cards(soup)] == ["Second", "First"]


def test_reordering_needs_post_and_the_reorder_permission(contributor, category):
    live = make_explainer(category, "Live")
    other = make_explainer(category, "Other")

    assert contributor.get(f"{EXPLAINERS}reorder/").status_code == 405
    assert drag(contributor, [other, live]).status_code == 403
    live.refresh_from_db()
    assert live.position == 0


def test_dragging_a_category_up_reorders_its_siblings(editor, category):
    second = make_category("Model Architectures", parent=category.parent)

    drag(editor, [second, category], "/admin/explainers/category/")

    assert list(category.parent.children.values_list("name", flat=True)) == [
        "Model Architectures",
        "LLM Foundations",
    ]


# Deleting categories


def test_deleting_a_category_that_holds_explainers_is_refused_with_a_reason(superuser, category):
    make_explainer(category)

    page = superuser.get(f"/admin/explainers/category/{category.pk}/delete/")
    response = superuser.post(f"/admin/explainers/category/{category.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert "would require deleting the following protected related objects" in page.content.decode()
    assert response.status_code == 200
    assert Category.objects.filter(pk=category.pk).exists()


def test_deleting_a_section_with_subcategories_in_bulk_is_refused(superuser, category):
    response = superuser.post(
        "/admin/explainers/category/",
        {"action": "delete_selected", "_selected_action": [category.parent.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert Category.objects.count() == 2


# History


def test_every_save_is_a_revision_that_can_be_compared_and_restored(editor, category):
    editor.post(f"{EXPLAINERS}add/", explainer_form(category, title="First title"))
    explainer = Explainer.objects.get()
    url = f"{EXPLAINERS}{explainer.pk}/change/"
    editor.post(url, {**opened_form(editor, url), "title": "Second title"})
    versions = Version.objects.get_for_object(explainer)
    assert versions.count() == 2
    assert {v.revision.user.username for v in versions} == {"eddie"}

    compare = editor.get(
        f"{EXPLAINERS}{explainer.pk}/history/compare/",
        {"version_id1": versions[1].pk, "version_id2": versions[0].pk},
    )
    assert compare.status_code == 200
    assert "First title" in compare.content.decode() and "Second title" in compare.content.decode()

    # Restoring loads the old content into the form; saving it is an ordinary edit.
    oldest = versions.order_by("pk").first()
    restore = editor.get(f"{EXPLAINERS}{explainer.pk}/history/{oldest.pk}/", follow=True)
    explainer.refresh_from_db()
    assert explainer.title == "Second title"
    restored = opened_form(editor, restore.redirect_chain[-1][0])
    assert restored["title"] == "First title"
    editor.post(url, restored)
    explainer.refresh_from_db()
    assert explainer.title == "First title"


# Hero images


def upload(client, file, alt_text="A diagram of attention heads"):
    """Upload a hero as an editor does; its transaction commits (the tests' database does
    not), so the renditions are made as the worker would make them."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/admin/explainers/heroimage/add/",
            {"image": file, "alt_text": alt_text, "caption": "", "credit": ""},
        )


def test_an_uploaded_hero_keeps_its_size_and_shows_its_renditions(contributor):
    response = upload(contributor, image_upload(size=(1600, 900)))

    assert response.status_code == 302
    hero = HeroImage.objects.get()
    assert (hero.width, hero.height, hero.is_placeholder) == (1600, 900, False)
    page = page_soup(contributor.get(f"/admin/explainers/heroimage/{hero.pk}/change/"))
    assert "400 × 225, 800 × 450, 1200 × 675" in page.get_text()
    assert "Made, for the file and focal point as saved." in page.get_text()
    assert page.select_one("[data-focal-image]")["src"] == hero.rendition(1200).url


def test_alt_text_is_required(contributor):
    response = upload(contributor, image_upload(), alt_text="")

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not HeroImage.objects.exists()


def jpeg_bytes(size=(800, 600), **save_options):
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(buffer, format="JPEG", **save_options)
    return buffer.getvalue()


def bad_uploads():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")  # 48 megapixels, a few kB
    noise = io.BytesIO()
    Image.frombytes("RGB", (2000, 1800), os.urandom(2000 * 1800 * 3)).save(
        noise, format="PNG", compress_level=0
    )
    bmp = io.BytesIO()
    Image.new("RGB", (50, 50)).save(bmp, format="BMP")
    return {
        "not-an-image": (
            SimpleUploadedFile("notes.jpg", b"just some text"),
            "Upload a valid image",
        ),
        "corrupt-jpeg": (
            SimpleUploadedFile("cut.jpg", jpeg_bytes()[:1500]),
            "damaged or truncated",
        ),
        "svg": (SimpleUploadedFile("logo.svg", svg, "image/svg+xml"), "Upload a valid image"),
        "bomb": (SimpleUploadedFile("bomb.png", bomb.getvalue()), "at most 40 megapixels"),
        "over-10-mb": (SimpleUploadedFile("huge.png", noise.getvalue()), "the limit is 10 MB"),
        "bmp": (SimpleUploadedFile("old.bmp", bmp.getvalue()), "BMP images are not accepted"),
    }


@pytest.mark.parametrize("case", list(bad_uploads()))
def test_bad_uploads_are_refused_with_a_form_error_and_nothing_saved(contributor, media_root, case):
    file, message = bad_uploads()[case]

    response = upload(contributor, file)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not HeroImage.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_a_gif_is_accepted(contributor):
    buffer = io.BytesIO()
    Image.new("P", (300, 200)).save(buffer, format="GIF")

    assert upload(contributor, SimpleUploadedFile("anim.gif", buffer.getvalue())).status_code == 302


def test_an_upload_is_turned_upright_and_loses_its_location(contributor, media_root):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° to display
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    upload(contributor, SimpleUploadedFile("phone.jpg", jpeg_bytes((800, 600), exif=exif)))

    hero = HeroImage.objects.get()
    assert (hero.width, hero.height) == (600, 800)
    with Image.open(media_root / hero.image.name) as stored:
        assert stored.size == (600, 800)
        assert 0x8825 not in stored.getexif() and 0x0112 not in stored.getexif()


def metadata_of(image) -> set[str]:
    """The kinds of metadata a stored image still carries."""
    kinds = {key for key in ("comment", "xmp", "icc_profile", "exif") if image.info.get(key)}
    if image.getexif():
        kinds.add("exif")
    return kinds


def test_an_upload_keeps_no_metadata_in_the_original_or_its_renditions(contributor, media_root):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b"<exif:GPSLatitude>51,30N</exif:GPSLatitude></x:xmpmeta>"
    )
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = jpeg_bytes(exif=exif, xmp=xmp, comment=b"Taken at 51.5N 0.1W", icc_profile=srgb)
    with Image.open(io.BytesIO(data)) as sent:
        assert metadata_of(sent) == {"comment", "xmp", "icc_profile", "exif"}

    upload(contributor, SimpleUploadedFile("phone.jpg", data))

    hero = HeroImage.objects.get()
    with Image.open(media_root / hero.image.name) as stored:
        assert metadata_of(stored) == set()
    for extension in ("jpg", "webp"):
        response = contributor.get(hero.rendition(400, extension).url)
        with Image.open(io.BytesIO(b"".join(response.streaming_content))) as rendition:
            assert metadata_of(rendition) == set()


def test_an_upload_is_stored_under_a_random_name_with_the_extension_of_its_real_format(
    contributor,
):
    png = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 128, 0)).save(png, format="PNG")

    for _ in range(2):
        upload(contributor, SimpleUploadedFile("holiday.jpg", png.getvalue()))

    names = [hero.image.name for hero in HeroImage.objects.order_by("pk")]
    assert {hero.original_filename for hero in HeroImage.objects.all()} == {"holiday.jpg"}
    assert all(re.fullmatch(r"heroes/\d{4}/\d{2}/[0-9a-f]{32}\.png", name) for name in names)
    assert names[0] != names[1]


def test_replacing_a_placeholder_file_clears_its_flag_and_the_importer_leaves_it(editor):
    call_command("loaddata", "explainers", verbosity=0)
    explainer = Explainer.objects.order_by("pk").first()
    hero = explainer.hero

    url = f"/admin/explainers/heroimage/{hero.pk}/change/"
    response = editor.post(
        url,
        {**opened_form(editor, url), "image": image_upload("real.jpg"), "alt_text": "A real photo"},
    )

    assert response.status_code == 302
    hero.refresh_from_db()
    assert not hero.is_placeholder and hero.image.name.startswith("heroes/20")
    call_command(
        "import_listings", "fixtures/listings", parent="AI Principles", stdout=io.StringIO()
    )
    hero.refresh_from_db()
    assert (hero.alt_text, hero.is_placeholder) == ("A real photo", False)


def test_the_hero_page_says_where_the_image_is_used(editor, category):
    hero = make_hero()
    make_explainer(category, "Uses it", hero=hero)

    page = editor.get(f"/admin/explainers/heroimage/{hero.pk}/change/").content.decode()

    assert "Uses it" in page


# Sign-in


def test_repeated_wrong_passwords_lock_the_account_out(settings):
    make_user("target", "Editors")
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "target", "password": "guess"})

    response = client.post("/admin/login/", {"username": "target", "password": PASSWORD})

    assert response.status_code == 429
    assert page_soup(response).title.get_text() == "Sign-in locked · AI Explainers"
    assert client.get(EXPLAINERS).status_code == 302  # still signed out


def test_a_right_password_signs_in(settings):
    make_user("target", "Editors")
    client = Client()

    response = client.post("/admin/login/", {"username": "target", "password": PASSWORD})

    assert response.status_code == 302
    # Signed in; an editor's admin pages then wait for the second factor (tests/test_sign_in.py).
    assert client.get(EXPLAINERS)["Location"].startswith("/admin/two-factor/")

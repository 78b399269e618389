"""The explainer body's writing space, server side: the live preview, the image library picker,
body images kept in step with the body, and the warning about images from other sites.

The browser side (typing, the toolbar, the picker dialog, styles compared with the public page)
is tests/test_writing_space_browser.py.
"""

import io

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.templatetags.static import static
from django.test import Client
from django.test.utils import CaptureQueriesContext

from explainers.body_images import body_images, image_markdown
from explainers.markup import BODY_MAX_LENGTH, render_markdown
from explainers.models import Explainer, HeroImage
from explainers.services.publishing import explainer_publish_changes

from .helpers import (
    image_upload,
    make_explainer,
    make_hero,
    opened_form,
    page_soup,
    sign_in_verified,
)
from .test_admin import PASSWORD, explainer_form, make_user, signed_in

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"
PREVIEW = f"{EXPLAINERS}preview/"
FRAME = f"{EXPLAINERS}preview/frame/"
LIBRARY = f"{EXPLAINERS}image-library/"
OUTSIDE_IMAGE = "https://images.example.com/attention.png"


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def editor_user():
    return make_user("eddie", "Editors")


@pytest.fixture
def editor(editor_user):
    return signed_in(editor_user)


@pytest.fixture
def contributor():
    return signed_in(make_user("cora", "Contributors"))


def staff_with(*codenames):
    """A signed-in staff member with exactly these explainers permissions, in no group."""
    user = User.objects.create_user(
        f"staff-{User.objects.count()}", password=PASSWORD, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="explainers", codename__in=codenames)
    )
    return signed_in(user)


def library_image(alt_text="Attention weights drawn as a heat map", **fields):
    fields.setdefault("image", image_upload(size=(1600, 900)))
    return make_hero(alt_text=alt_text, **fields)


def body_showing(*images, text="## Attention\n\nHow a model weighs its tokens."):
    return "\n\n".join([text, *(image_markdown(image) for image in images)])


def rendition_url(image):
    """The URL a body's Markdown points at (image_markdown): the 800 px JPEG."""
    return image.rendition(800, "jpg").url


def warnings_after(response):
    return [item.get_text() for item in page_soup(response).select(".messagelist .warning")]


# The live preview: the public page's renderer, behind the admin's permissions and CSRF


def test_the_preview_is_the_html_the_public_page_shows(editor, category, client):
    image = library_image()
    body = body_showing(
        image, text="## Why\n\n- one\n- two\n\n```python\nprint('hi')\n```\n\n<script>x()</script>"
    )
    explainer = make_explainer(category, body=body)

    preview = editor.post(PREVIEW, {"body": body})
    public = page_soup(client.get(explainer.get_absolute_url())).select_one(".prose")

    assert preview.status_code == 200
    shown = BeautifulSoup(preview.content.decode(), "html.parser")
    assert shown.decode() == public.decode_contents()
    assert [tag.name for tag in shown.find_all(True)] == [
        "h2", "ul", "li", "li", "pre", "code", "p", "img",
    ]  # fmt: skip
    assert shown.img["src"] == rendition_url(image) and shown.img["alt"] == image.alt_text


def test_the_preview_takes_a_body_at_the_limit_and_refuses_one_over_it(editor):
    assert editor.post(PREVIEW, {"body": "x" * BODY_MAX_LENGTH}).status_code == 200

    refused = editor.post(PREVIEW, {"body": "x" * (BODY_MAX_LENGTH + 1)})

    assert refused.status_code == 400
    assert refused.content.decode() == (
        f"The body is {BODY_MAX_LENGTH + 1:,} characters; the limit is {BODY_MAX_LENGTH:,}."
    )


def test_only_staff_who_may_write_explainers_get_a_preview(client, contributor):
    assert contributor.post(PREVIEW, {"body": "# Hi"}).status_code == 200
    assert client.post(PREVIEW, {"body": "# Hi"}).status_code == 302  # to the login page
    assert staff_with("view_explainer").post(PREVIEW, {"body": "# Hi"}).status_code == 403


def test_the_preview_needs_the_forms_csrf_token(editor_user, category):
    browser = sign_in_verified(Client(enforce_csrf_checks=True), editor_user)
    form = page_soup(browser.get(f"{EXPLAINERS}add/"))
    token = form.select_one("[name=csrfmiddlewaretoken]")["value"]

    assert browser.post(PREVIEW, {"body": "# Hi"}).status_code == 403
    accepted = browser.post(PREVIEW, {"body": "# Hi"}, headers={"X-CSRFToken": token})
    assert (accepted.status_code, accepted.content.decode()) == (200, "<h2>Hi</h2>\n")


def test_the_preview_frame_has_the_public_stylesheet_and_may_be_framed_by_the_site_only(
    editor, client, contributor
):
    response = editor.get(FRAME)

    assert response.status_code == 200
    frame = page_soup(response)
    assert [link["href"] for link in frame.select("link[rel=stylesheet]")] == [
        static("css/site.css")
    ]
    assert frame.select_one("main.wrap article.explainer div.prose[data-body-preview]")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    # Every other admin page still refuses to be framed.
    form = editor.get(f"{EXPLAINERS}add/")
    assert form["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in form["Content-Security-Policy"]
    assert client.get(FRAME).status_code == 302
    assert staff_with("view_explainer").get(FRAME).status_code == 403


def test_the_change_form_offers_the_writing_space(editor):
    form = page_soup(editor.get(f"{EXPLAINERS}add/"))

    space = form.select_one("[data-writing-space=id_body]")
    assert space["data-preview-url"] == PREVIEW
    assert space["data-frame-url"] == FRAME
    assert space["data-library-url"] == LIBRARY
    # The reading time counted as one types uses the model's own rate.
    assert space["data-words-per-minute"] == "230"
    labels = [button["aria-label"] for button in space.select("[role=toolbar] button")]
    assert labels == [
        "Bold", "Italic", "Heading", "Link", "List", "Code", "Quote", "Image from the library",
    ]  # fmt: skip
    assert space.select_one("textarea#id_body")
    assert space.select_one("a.image-picker-upload")["href"].startswith(
        "/admin/explainers/heroimage/add/?"
    )


def test_without_the_library_the_writing_space_has_no_image_button(category):
    writer = staff_with("add_explainer", "change_explainer", "view_explainer")

    space = page_soup(writer.get(f"{EXPLAINERS}add/")).select_one("[data-writing-space]")

    assert not space.has_attr("data-library-url")
    assert not space.select("[data-format=image], dialog")


# The image library, for the picker


def test_the_picker_lists_library_images_newest_first_without_placeholders(contributor):
    older = library_image("A diagram of attention heads")
    newer = library_image("Tokens flowing through layers")
    make_hero(alt_text="Placeholder for an imported card", is_placeholder=True)

    listing = contributor.get(LIBRARY).json()

    assert (listing["count"], listing["page"], listing["pages"]) == (2, 1, 1)
    assert [item["alt_text"] for item in listing["results"]] == [newer.alt_text, older.alt_text]
    first = listing["results"][0]
    assert first["id"] == newer.pk
    assert first["thumbnail"] == {"url": newer.rendition(400).url, "width": 400, "height": 225}
    assert first["markdown"] == f"![Tokens flowing through layers]({rendition_url(newer)})"


def test_the_picker_searches_alt_text_and_pages_by_twelve(contributor):
    for number in range(14):
        library_image(f"Heat map {number}", image=image_upload(size=(40, 30)))
    library_image("A diagram of attention heads", image=image_upload(size=(40, 30)))

    first = contributor.get(LIBRARY, {"q": "HEAT map"}).json()
    second = contributor.get(LIBRARY, {"q": "heat map", "page": 2}).json()
    beyond = contributor.get(LIBRARY, {"q": "heat map", "page": 99}).json()

    assert (first["count"], first["pages"], len(first["results"])) == (14, 2, 12)
    assert [item["alt_text"] for item in second["results"]] == ["Heat map 1", "Heat map 0"]
    assert beyond["page"] == 2
    assert contributor.get(LIBRARY, {"q": "nothing like it"}).json()["results"] == []


def test_the_picker_needs_the_library_and_the_right_to_write_explainers(client, contributor):
    assert contributor.get(LIBRARY).status_code == 200
    assert client.get(LIBRARY).status_code == 302
    assert staff_with("add_explainer", "change_explainer").get(LIBRARY).status_code == 403
    assert staff_with("view_heroimage", "view_explainer").get(LIBRARY).status_code == 403
    assert contributor.post(LIBRARY).status_code == 405


def test_the_picker_takes_two_queries_whatever_a_page_holds(contributor):
    def queries_for_listing():
        with CaptureQueriesContext(connection) as captured:
            assert contributor.get(LIBRARY).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    library_image("One", image=image_upload(size=(40, 30)))
    one = queries_for_listing()
    for number in range(11):
        library_image(f"More {number}", image=image_upload(size=(40, 30)))
    twelve = queries_for_listing()

    assert len(one) == len(twelve)  # the session, the user, permissions, then the library:
    # SELECT COUNT(*) FROM explainers_heroimage WHERE NOT is_placeholder;
    # SELECT id, image, alt_text, width, height FROM explainers_heroimage ... LIMIT 12
    assert len([sql for sql in twelve if "explainers_heroimage" in sql]) == 2


def test_inserted_markdown_shows_the_alt_text_exactly_however_it_is_punctuated():
    image = library_image("Weights *not* [tokens] <b>&amp; `code` _under_ \\ ~x~ !")

    html = render_markdown(image_markdown(image))

    shown = BeautifulSoup(html, "html.parser").img
    assert shown["alt"] == image.alt_text
    assert shown["src"] == rendition_url(image)


# Body images: kept in step with the body, served to readers once published


def test_a_saved_body_keeps_its_library_images_and_only_them(editor, category):
    kept, dropped, unused = library_image("Kept"), library_image("Dropped"), library_image("Unused")
    editor.post(
        f"{EXPLAINERS}add/",
        explainer_form(category, body=body_showing(kept, dropped) + f"\n\n![x]({OUTSIDE_IMAGE})"),
    )
    explainer = Explainer.objects.get()
    assert set(explainer.body_images.all()) == {kept, dropped}

    url = f"{EXPLAINERS}{explainer.pk}/change/"
    editor.post(url, {**opened_form(editor, url), "body": body_showing(kept)})

    assert list(explainer.body_images.all()) == [kept]
    assert unused.shown_in_bodies.count() == 0


def test_keeping_body_images_in_step_takes_no_query_per_image(category):
    images = [
        library_image(f"Image {number}", image=image_upload(size=(40, 30))) for number in range(6)
    ]
    # A draft: a published body's words also go into the search vocabulary, whose writes
    # depend on which words come and go, not on the images.
    explainer = make_explainer(category, body=body_showing(images[0]), status="draft")

    def queries_to_save(body):
        explainer.body = body
        with CaptureQueriesContext(connection) as captured:
            explainer.save()
        return len(captured.captured_queries)

    assert queries_to_save(body_showing(images[1])) == queries_to_save(body_showing(*images[2:]))
    assert set(explainer.body_images.all()) == set(images[2:])


def test_readers_get_a_published_bodys_library_image_but_not_a_drafts(client, editor, category):
    published_image, draft_image = library_image("Published"), library_image("Draft")
    make_explainer(category, "Published", body=body_showing(published_image))
    make_explainer(
        category, "Draft", body=body_showing(draft_image), status="draft", published_at=None
    )

    assert client.get(rendition_url(published_image)).status_code == 200
    assert client.get(rendition_url(draft_image)).status_code == 404
    # Staff previewing the draft get it.
    assert editor.get(rendition_url(draft_image)).status_code == 200


def test_a_pending_bodys_new_image_reaches_readers_only_once_published(
    client, editor, editor_user, category
):
    image = library_image("Only in the pending version")
    # Content the publish step's health checks pass: a hero, and a body of 175 words.
    text = "Attention weighs every token against all the others. " * 25
    live = make_explainer(
        category, "Live", body=text, reading_time=1, hero=library_image("A hero of its own")
    )
    url = f"{EXPLAINERS}{live.pk}/change/"
    editor.post(url, {**opened_form(editor, url), "body": body_showing(image, text=text)})
    live.refresh_from_db()
    assert live.pending is not None

    assert client.get(rendition_url(image)).status_code == 404
    # The staff preview of the pending version shows it, and staff may fetch it.
    pending_page = page_soup(editor.get(f"{EXPLAINERS}{live.pk}/pending/"))
    assert pending_page.select_one(".prose img")["src"] == rendition_url(image)
    assert editor.get(rendition_url(image)).status_code == 200

    explainer_publish_changes(explainer=live, user=editor_user)

    assert client.get(rendition_url(image)).status_code == 200


def test_an_image_taken_out_of_a_published_body_is_no_longer_served_to_readers(client, category):
    image = library_image()
    explainer = make_explainer(category, body=body_showing(image))
    assert client.get(rendition_url(image)).status_code == 200

    explainer.body = "## No image now"
    explainer.save()

    assert client.get(rendition_url(image)).status_code == 404


def test_a_contributor_cannot_change_an_image_a_published_body_shows(contributor, category):
    shown, unused = library_image("Shown"), library_image("Unused")
    make_explainer(category, body=body_showing(shown))

    free = page_soup(contributor.get(f"/admin/explainers/heroimage/{unused.pk}/change/"))
    assert free.select("#id_alt_text") and free.select("input[name=_save]")
    page = page_soup(contributor.get(f"/admin/explainers/heroimage/{shown.pk}/change/"))
    # View only: no field to change, no save button.
    assert not page.select("#id_alt_text, input[name=_save]")


def test_an_image_a_body_shows_cannot_be_deleted(category, editor_user):
    shown, pending_only, unused = library_image("Shown"), library_image("Pending"), library_image()
    make_explainer(category, "Shows it", body=body_showing(shown))
    live = make_explainer(category, "Live", body="## Published")
    live.pending = {**live.content(), "body": body_showing(pending_only)}
    live.save()
    root = signed_in(User.objects.create_superuser("root", "root@example.org", PASSWORD))

    for image, explainer in ((shown, "Shows it"), (pending_only, "Live")):
        url = f"/admin/explainers/heroimage/{image.pk}/delete/"
        page = page_soup(root.get(url))
        assert f"Explainer: {explainer} (its body shows the image)" in page.get_text()
        root.post(url, {"post": "yes"})
        assert HeroImage.objects.filter(pk=image.pk).exists()
    root.post(f"/admin/explainers/heroimage/{unused.pk}/delete/", {"post": "yes"})
    assert not HeroImage.objects.filter(pk=unused.pk).exists()
    # The image's page says where it is used.
    used = page_soup(root.get(f"/admin/explainers/heroimage/{shown.pk}/change/"))
    assert "Shows it" in used.select_one(".field-used_by").get_text()


# Images from other sites: named at save, since readers' browsers will not load them


def test_saving_a_body_with_an_outside_image_warns_and_names_it(editor, category):
    image = library_image()
    body = (
        body_showing(image)
        + f'\n\n![A chart]({OUTSIDE_IMAGE})\n\n<img src="//cdn.example.org/x.gif">'
    )

    response = editor.post(
        f"{EXPLAINERS}add/", explainer_form(category, body=body, _continue="1"), follow=True
    )

    assert Explainer.objects.get().body == body  # saved all the same
    (warning,) = warnings_after(response)
    assert warning.startswith("Readers' browsers will not load images from other sites: ")
    assert OUTSIDE_IMAGE in warning and "//cdn.example.org/x.gif" in warning
    assert rendition_url(image) not in warning


def test_a_body_of_library_images_saves_without_a_warning(editor, category):
    body = body_showing(library_image())

    response = editor.post(
        f"{EXPLAINERS}add/", explainer_form(category, body=body, _continue="1"), follow=True
    )

    assert warnings_after(response) == []


def test_an_image_of_this_site_outside_the_library_is_named_too(editor, category):
    missing = "/images/heroes/2026/12/gone.jpg/800.jpg"
    body = f"![Gone]({missing})\n\n![Favicon](/static/favicon.svg)"

    response = editor.post(
        f"{EXPLAINERS}add/", explainer_form(category, body=body, _continue="1"), follow=True
    )

    (warning,) = warnings_after(response)
    assert warning.startswith("Not images of the image library, so readers may not get them: ")
    assert missing in warning and "favicon" not in warning


def test_what_counts_as_outside_follows_the_csp_img_src(settings):
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **directives,
            "img-src": [*directives["img-src"], "https://media.example.net"],
        }
    }
    html = render_markdown(
        f"![a](https://media.example.net/a.png) ![b]({OUTSIDE_IMAGE}) "
        f"![c]({settings.SITE_URL}/static/favicon.svg)"
    )

    assert body_images(html).outside == [OUTSIDE_IMAGE]

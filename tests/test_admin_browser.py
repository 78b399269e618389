"""The admin in a real browser: an editor publishes, a contributor can only save drafts.

The same flows as tests/test_admin.py, but signed in through the real login form (and so
through django-axes) and the two-factor code page, with the admin's own JavaScript at work:
the slug filled from the title, the select2 autocompletes, and the live Markdown preview.
Afterwards a reader (a fresh browser, not signed in) looks at the category page. No admin
page may log a console error or throw.

Chromium, the skip-or-fail rule and the async-ORM workaround come from tests/test_browser.py.
Screenshots land in test-artifacts/admin-*.png (git-ignored).
"""

import io
import re

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from explainers.models import Explainer, HeroImage
from tests.helpers import image_upload
from tests.test_admin import PASSWORD, make_user
from tests.test_browser import (  # noqa: F401  (the fixtures browser, open_page)
    ARTIFACTS,
    LLM_FOUNDATIONS,
    PHOTO_COLOUR,
    browser,
    load_every_image,
    open_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1280
EXPLAINERS = "/admin/explainers/explainer/"
CATEGORY_PAGE = f"/{LLM_FOUNDATIONS}/"

TITLE = "Attention, explained"
ALT_TEXT = "Hand-drawn attention heads on an orange sheet"
SERIES = "MONA explainer"
BODY = "## Why it matters\n\nAttention **weights** tokens."


@pytest.fixture(autouse=True)
def roles(browser):  # noqa: F811  (a fixture parameter, not a redefinition)
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def sign_in(live_server, open_page):  # noqa: F811
    """Sign a user in through the admin's login form, in a browser context of their own."""

    def sign_in(user):
        # The second step of signing in: a code from the user's authenticator app.
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "Test authenticator"}
        )
        # A code is good once: a second sign-in within the same 30 s may use it again.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        visit = open_page(f"{live_server.url}/admin/login/?next=/admin/", WIDTH)
        page = visit.page
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/admin/two-factor/"))
        code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
        page.get_by_label("Code").fill(f"{code:0{device.digits}d}")
        page.get_by_role("button", name="Verify").click()
        expect(page).to_have_url(f"{live_server.url}/admin/")
        expect(page.locator("#user-tools")).to_contain_text(user.username)
        return visit

    return sign_in


@pytest.fixture
def reader(live_server, open_page):  # noqa: F811
    """A reader's browser, not signed in, on the category page."""
    return lambda: open_page(live_server.url + CATEGORY_PAGE, WIDTH)


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"admin-{name}.png", full_page=True)


def choose_in_autocomplete(page, field, typed, option):
    """Pick ``option`` in a select2 autocomplete the way a person does: click, type, choose."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").press_sequentially(typed)
    page.locator(".select2-results__option", has_text=option).click()
    expect(page.locator(f"#select2-id_{field}-container")).to_contain_text(option)


def save(page):
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")


def assert_no_console_errors(visit):
    assert visit.errors == [], "console errors:\n" + "\n".join(visit.errors)


def test_an_editor_uploads_a_hero_publishes_an_explainer_and_a_reader_sees_it(
    live_server, category, sign_in, reader, tmp_path
):
    photo = tmp_path / "attention-heads.jpg"
    photo.write_bytes(image_upload(size=(1600, 900), color=PHOTO_COLOUR).read())
    editor = sign_in(make_user("eddie", "Editors"))
    page = editor.page

    # The hero image, with its alt text.
    page.goto(f"{live_server.url}/admin/explainers/heroimage/add/")
    page.locator("#id_image").set_input_files(photo)
    page.get_by_label("Alt text").fill(ALT_TEXT)
    screenshot(page, "hero-add")
    save(page)
    hero = HeroImage.objects.get()
    assert (hero.width, hero.height, hero.alt_text) == (1600, 900, ALT_TEXT)

    # The explainer: the slug follows the title, category and hero come from autocompletes.
    page.goto(f"{live_server.url}{EXPLAINERS}add/")
    page.get_by_label("Title").press_sequentially(TITLE)
    expect(page.locator("#id_slug")).to_have_value("attention-explained")
    choose_in_autocomplete(page, "category", "LLM", "LLM Foundations")
    choose_in_autocomplete(page, "hero", "attention heads", ALT_TEXT)
    assert page.locator("#id_category").input_value() == str(category.pk)
    assert page.locator("#id_hero").input_value() == str(hero.pk)
    page.get_by_label("Series").fill(SERIES)
    page.get_by_label("Excerpt").fill("How a model weighs the tokens it reads.")
    page.locator("#id_body").fill(BODY)

    # The live preview follows the typing (more in tests/test_writing_space_browser.py).
    preview = page.frame_locator("#id_body-preview").locator(".prose")
    expect(preview.locator("strong")).to_have_text("weights")
    expect(preview.locator("h2")).to_have_text("Why it matters")
    assert "<strong>weights</strong>" in preview.inner_html()

    page.get_by_label("Status").select_option(label="Published")
    # The publication time stays empty: saving a published explainer fills it with now.
    expect(page.locator("#id_published_at_0")).to_have_value("")
    screenshot(page, "explainer-add-editor")
    # Its body is very short: the content checks ask for that to be acknowledged first.
    page.locator("input[name=_save]").click()
    expect(page.locator(".health-check")).to_contain_text("very short")
    page.get_by_label("I have read these warnings").check()
    save(page)
    expect(page.locator("select[name=action]")).to_contain_text("Publish the selected explainers")
    screenshot(page, "explainer-changelist-editor")
    assert_no_console_errors(editor)

    explainer = Explainer.objects.get()
    assert explainer.is_published() and explainer.hero == hero
    assert explainer.category == category

    # A reader finds the card, its photo, its series, and the explainer's rendered body.
    visit = reader()
    card = visit.page.locator("article.card", has_text=TITLE)
    expect(card).to_have_count(1)
    assert load_every_image(visit.page) == []
    image = card.locator("img")
    expect(image).to_have_attribute("alt", ALT_TEXT)
    assert image.evaluate("img => img.naturalWidth") > 0
    expect(card.locator(".series-tag")).to_have_text(SERIES)
    screenshot(visit.page, "reader-category")

    card.get_by_role("link", name=TITLE).click()
    expect(visit.page.locator("h1")).to_have_text(TITLE)
    prose = visit.page.locator(".prose")
    expect(prose.locator("h2")).to_have_text("Why it matters")
    expect(prose.locator("strong")).to_have_text("weights")
    screenshot(visit.page, "reader-explainer")
    assert_no_console_errors(visit)


def test_a_contributor_saves_a_draft_they_cannot_publish_and_readers_do_not_see_it(
    live_server, category, sign_in, reader
):
    contributor = sign_in(make_user("cora", "Contributors"))
    page = contributor.page

    page.goto(f"{live_server.url}{EXPLAINERS}add/")
    # Status is shown, read-only: there is no control to change it.
    expect(page.locator("#id_status")).to_have_count(0)
    expect(page.locator(".field-status .readonly")).to_have_text("Draft")
    expect(page.locator("[name^=published_at]")).to_have_count(0)
    page.get_by_label("Title").press_sequentially(TITLE)
    expect(page.locator("#id_slug")).to_have_value("attention-explained")
    choose_in_autocomplete(page, "category", "LLM", "LLM Foundations")
    page.get_by_label("Excerpt").fill("How a model weighs the tokens it reads.")
    page.locator("#id_body").fill(BODY)
    screenshot(page, "explainer-add-contributor")
    save(page)

    expect(page.locator("#result_list")).to_contain_text(TITLE)
    # Contributors may run no action at all, so the list may have no action menu; if it has
    # one, publishing is not in it.
    actions = page.locator("select[name=action] option")
    assert not any("publish" in text.lower() for text in actions.all_inner_texts())
    expect(page.locator("option[value=publish_selected]")).to_have_count(0)
    screenshot(page, "explainer-changelist-contributor")
    assert_no_console_errors(contributor)

    draft = Explainer.objects.get()
    assert draft.status == Explainer.Status.DRAFT and not draft.is_published()

    visit = reader()
    expect(visit.page.locator("article.card")).to_have_count(0)
    expect(visit.page.locator("main")).not_to_contain_text(TITLE)
    assert_no_console_errors(visit)
    response = visit.page.goto(live_server.url + draft.get_absolute_url())
    assert response is not None and response.status == 404

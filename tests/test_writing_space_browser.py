"""The writing space in a real browser: an editor writes a body with the toolbar, inserts an
image from the library through the picker, and the live preview looks as the public page does.

- The preview's heading, list, code block and library image have the computed styles (font
  size and family, list style, the code block's background and padding, the image's maximum
  width...) that the same elements have on the public page once the explainer is published,
  and a reader (a fresh browser) gets the image.
- The word count and reading time follow the typing, rounding as Explainer.estimated_reading_time
  does; a body over the length limit is refused with the reason.
- "Upload a new image" opens the image form in Django's related-object popup; once saved, the
  new image is in the picker, ready to insert.
- axe-core finds no serious or critical violation on the change form, picker open or not, at
  1280 and 390 px; at 390 px the preview is below the editor and nothing is wider than the screen.

Chromium, axe and the skip-or-fail rule come from tests/test_browser.py, signing in from
tests/test_admin_browser.py, and the quiet-server handling and the Django admin markup axe
findings are ignored on from tests/test_editorial_browser.py. Screenshots land in
test-artifacts/admin-writing-space-*.png.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from explainers.markup import BODY_MAX_LENGTH
from explainers.models import Explainer
from tests.helpers import image_upload, make_category, make_hero
from tests.test_admin import make_user
from tests.test_admin_browser import (  # noqa: F401  (the fixture sign_in)
    assert_no_console_errors,
    choose_in_autocomplete,
    screenshot,
    sign_in,
)
from tests.test_browser import (  # noqa: F401  (the fixtures browser, open_page, axe_script)
    PHOTO_COLOUR,
    axe_script,
    browser,
    open_page,
)
from tests.test_editorial_browser import (  # noqa: F401  (the autouse fixtures)
    LIVE_REQUESTS,
    assert_no_violations,
    background_requests_off,
    quiet_server_at_teardown,
    serious_violations_of_ours,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPLAINERS = "/admin/explainers/explainer/"
ALT_TEXT = "Attention weights drawn as an orange heat map"
# Enough words for the publish step's health checks (explainers.health): not a short body.
OPENING = "Attention weighs every token against all the others. " * 25
WIDTHS = [1280, 390]

# What the preview must share with the public page, element by element.
STYLES = {
    "h2": ["font-size", "font-family", "font-weight", "line-height", "margin-top", "color"],
    "p": ["font-size", "font-family", "line-height", "color"],
    "ul": ["list-style-type", "padding-left", "margin-top"],
    "li": ["display", "list-style-type", "font-size"],
    "strong": ["font-weight"],
    "pre": [
        "background-color",
        "padding-top",
        "padding-left",
        "border-top-left-radius",
        "overflow-x",
        "font-family",
        "font-size",
    ],
    "pre code": ["font-family", "font-size"],
    "img": ["max-width", "display", "border-top-left-radius"],
}
# Read from the parent page: the frame is sandboxed, without scripts of its own.
READ_STYLES = """([root, styles]) => {
    const doc = root === "frame"
        ? document.querySelector("#id_body-preview").contentDocument
        : document;
    const prose = doc.querySelector(".prose");
    const view = doc.defaultView;
    const read = {};
    for (const [selector, properties] of Object.entries(styles)) {
        const element = prose.querySelector(selector);
        if (!element) { read[selector] = null; continue; }
        const computed = view.getComputedStyle(element);
        read[selector] = Object.fromEntries(
            properties.map((name) => [name, computed.getPropertyValue(name)])
        );
    }
    return read;
}"""


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def category(roles):
    return make_category("LLM Foundations", parent=make_category("AI Principles"))


@pytest.fixture
def library_image(roles):
    return make_hero(
        image=image_upload("heat-map.jpg", size=(1600, 900), color=PHOTO_COLOUR), alt_text=ALT_TEXT
    )


@pytest.fixture
def hero(roles):
    return make_hero(alt_text="A transformer drawn by hand on squared paper")


@pytest.fixture
def editor(roles, sign_in):
    return sign_in(make_user("eddie", "Editors"))


def open_add_form(visit, live_server):
    page = visit.page
    page.goto(f"{live_server.url}{EXPLAINERS}add/")
    expect(page.locator("[role=toolbar][aria-label=Formatting]")).to_be_visible()
    return page


def preview(page):
    return page.frame_locator("#id_body-preview").locator(".prose")


def tool(page, name):
    return page.get_by_role("toolbar", name="Formatting").get_by_role("button", name=name)


def type_a_body_with_the_toolbar(page):
    """Write the body as an editor does: keyboard, toolbar buttons and shortcuts."""
    body = page.locator("#id_body")
    body.fill(OPENING.strip() + "\n\n")
    body.press("ControlOrMeta+End")
    tool(page, "Heading").click()
    page.keyboard.type("Why attention matters")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Attention ")
    page.keyboard.press("ControlOrMeta+b")  # "**bold text**", the placeholder selected
    page.keyboard.type("weights")
    page.keyboard.press("End")
    page.keyboard.type(" the tokens it reads.")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    tool(page, "List").click()
    page.keyboard.type("queries")
    page.keyboard.press("Enter")
    page.keyboard.type("- keys")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("print(attention)")
    page.keyboard.press("Enter")
    page.keyboard.type("print(weights)")
    page.keyboard.press("Shift+Home")
    page.keyboard.press("Shift+ArrowUp")  # both lines selected: a code block
    tool(page, "Code").click()
    page.keyboard.press("End")


def insert_from_the_picker(page, search, alt_text):
    tool(page, "Image from the library").click()
    dialog = page.get_by_role("dialog", name="Insert an image from the library")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Search by alt text").fill(search)
    # Enter searches; it does not submit the explainer's form around the picker.
    dialog.get_by_label("Search by alt text").press("Enter")
    choice = dialog.get_by_role("button", name=alt_text)
    expect(choice).to_be_visible()
    expect(dialog.get_by_role("status")).to_have_text(
        f"1 image whose alt text contains “{search}”. Choose one to insert it."
    )
    choice.click()
    expect(dialog).to_be_hidden()


def test_the_live_preview_styles_the_body_as_the_public_page_does(
    live_server, category, hero, library_image, editor, open_page
):
    page = open_add_form(editor, live_server)
    page.get_by_label("Title").fill("Attention, explained")
    choose_in_autocomplete(page, "category", "LLM", "LLM Foundations")
    choose_in_autocomplete(page, "hero", "squared paper", hero.alt_text)
    page.get_by_label("Excerpt").fill("How a model weighs the tokens it reads.")

    type_a_body_with_the_toolbar(page)
    insert_from_the_picker(page, "heat map", ALT_TEXT)

    body = page.locator("#id_body").input_value()
    image_url = library_image.rendition(800, "jpg").url
    assert body == OPENING.strip() + "\n\n" + (
        "## Why attention matters\n\nAttention **weights** the tokens it reads.\n\n"
        "- queries\n- keys\n\n```\nprint(attention)\nprint(weights)\n```\n\n"
        f"![{ALT_TEXT}]({image_url})\n\n"
    )
    shown = preview(page)
    expect(shown.locator("h2")).to_have_text("Why attention matters")
    expect(shown.locator("strong")).to_have_text("weights")
    expect(shown.locator("ul li")).to_have_text(["queries", "keys"])
    expect(shown.locator("pre code")).to_have_text("print(attention)\nprint(weights)")
    expect(shown.locator("img")).to_have_attribute("alt", ALT_TEXT)
    expect(shown.locator("img")).to_have_js_property("complete", True)
    assert shown.locator("img").evaluate("img => img.naturalWidth") == 800
    words = len(body.split())
    minutes = Explainer.estimated_reading_time(body)
    expect(page.locator("#id_body-count")).to_have_text(
        f"{words} words · about {minutes} min to read"
    )
    in_preview = page.evaluate(READ_STYLES, ["frame", STYLES])
    screenshot(page, "writing-space-1280")

    page.get_by_label("Status").select_option(label="Published")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    assert_no_console_errors(editor)
    LIVE_REQUESTS.wait_until_quiet()
    explainer = Explainer.objects.get()
    assert list(explainer.body_images.all()) == [library_image]

    reader = open_page(live_server.url + explainer.get_absolute_url(), 1280)
    image = reader.page.locator(".prose img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 800, "the reader did not get the image"
    on_public_page = reader.page.evaluate(READ_STYLES, ["page", STYLES])

    assert None not in in_preview.values(), in_preview
    assert in_preview == on_public_page
    # Not the admin's look: Django's fieldset headings are 13 px bars, its lists unbulleted.
    assert in_preview["h2"]["font-size"] == "22.4px"
    assert in_preview["li"]["list-style-type"] == "disc"


def test_word_count_and_reading_time_follow_the_typing(live_server, category, editor):
    page = open_add_form(editor, live_server)
    count = page.locator("#id_body-count")
    expect(count).to_have_text("0 words · about 1 min to read")

    page.locator("#id_body").press_sequentially("One two three")
    expect(count).to_have_text("3 words · about 1 min to read")

    # 575 words are 2.5 minutes: rounded to even, as Explainer.estimated_reading_time does.
    for words, minutes in ((575, 2), (576, 3), (1, 1)):
        text = "word " * words
        assert Explainer.estimated_reading_time(text) == minutes
        page.locator("#id_body").fill(text)
        expect(count).to_have_text(
            f"{words:,} word{'s' if words != 1 else ''} · about {minutes} min to read"
        )
    assert_no_console_errors(editor)


def test_a_body_over_the_limit_is_refused_in_the_preview_with_the_reason(
    live_server, category, editor
):
    page = open_add_form(editor, live_server)
    page.locator("#id_body").fill("## Kept")
    expect(preview(page).locator("h2")).to_have_text("Kept")

    page.locator("#id_body").fill("x" * (BODY_MAX_LENGTH + 1))

    status = page.locator("#id_body-preview-status")
    expect(status).to_have_text(
        f"The body is {BODY_MAX_LENGTH + 1:,} characters; the limit is {BODY_MAX_LENGTH:,}. "
        "The preview shows the body as it was before."
    )
    expect(status).to_have_attribute("role", "status")
    expect(preview(page).locator("h2")).to_have_text("Kept")

    page.locator("#id_body").fill("## Short again")
    expect(status).to_be_hidden()
    expect(preview(page).locator("h2")).to_have_text("Short again")


def test_the_shortcuts_and_the_toolbar_format_the_selection(live_server, category, editor):
    page = open_add_form(editor, live_server)
    body = page.locator("#id_body")

    body.fill("attention")
    body.press("ControlOrMeta+a")
    body.press("ControlOrMeta+i")
    expect(body).to_have_value("_attention_")
    body.press("ControlOrMeta+z")  # the browser's own undo takes a toolbar action back
    expect(body).to_have_value("attention")
    body.press("ControlOrMeta+a")
    body.press("ControlOrMeta+k")  # the address is selected, to be typed over
    page.keyboard.type("https://example.org/attention")
    expect(body).to_have_value("[attention](https://example.org/attention)")

    body.fill("a line\nanother")
    body.press("ControlOrMeta+a")
    tool(page, "Quote").click()
    expect(body).to_have_value("> a line\n> another")
    tool(page, "Quote").click()  # again: taken off
    expect(body).to_have_value("a line\nanother")

    # One Tab stop for the toolbar; the arrow keys move along it.
    tool(page, "Bold").focus()
    page.keyboard.press("ArrowRight")
    expect(tool(page, "Italic")).to_be_focused()
    page.keyboard.press("End")
    expect(tool(page, "Image from the library")).to_be_focused()
    sizes = page.locator("[role=toolbar] button").evaluate_all(
        "buttons => buttons.map((b) => [b.offsetWidth, b.offsetHeight])"
    )
    assert all(width >= 24 and height >= 24 for width, height in sizes), sizes
    assert_no_console_errors(editor)


def test_an_image_uploaded_from_the_picker_is_ready_to_insert(
    live_server, category, library_image, editor, tmp_path
):
    photo = tmp_path / "tokens.jpg"
    photo.write_bytes(image_upload(size=(1200, 800), color=(40, 90, 200)).read())
    page = open_add_form(editor, live_server)
    page.locator("#id_body").fill("Before the image.")
    tool(page, "Image from the library").click()
    dialog = page.get_by_role("dialog", name="Insert an image from the library")
    expect(dialog.get_by_role("button", name=ALT_TEXT)).to_be_visible()

    with page.expect_popup() as opened:
        dialog.get_by_role("link", name="Upload a new image").click()
    popup = opened.value
    popup.locator("#id_image").set_input_files(photo)
    popup.get_by_label("Alt text").fill("Tokens as blue tiles in a row")
    popup.locator("input[name=_save]").click()
    popup.wait_for_event("close")

    new = dialog.get_by_role("button", name="Tokens as blue tiles in a row")
    expect(new).to_be_focused()
    expect(dialog.get_by_role("status")).to_have_text("2 images. Choose one to insert it.")
    new.click()

    expect(page.locator("#id_body")).to_have_value(
        re.compile(
            r"^Before the image\.\n\n"
            r"!\[Tokens as blue tiles in a row\]\(/images/heroes/.+/800\.jpg\)\n\n$"
        )
    )
    expect(preview(page).locator("img")).to_have_attribute("alt", "Tokens as blue tiles in a row")
    assert_no_console_errors(editor)


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_the_change_form_is_accessible_and_usable_at_each_width(
    live_server, category, library_image, editor, axe_script, width
):
    page = editor.page
    page.set_viewport_size({"width": width, "height": 900})
    open_add_form(editor, live_server)
    page.locator("#id_body").fill("## A heading\n\n- a list\n\n```\ncode\n```\n")
    expect(preview(page).locator("pre")).to_be_visible()

    editor_box = page.locator("#id_body").bounding_box()
    preview_box = page.locator("#id_body-preview").bounding_box()
    if width < 1024:
        # Stacked: the preview below the editor, both the screen's width or less.
        assert preview_box["y"] >= editor_box["y"] + editor_box["height"]
    else:
        # Side by side, the editor wide.
        assert preview_box["x"] >= editor_box["x"] + editor_box["width"]
        assert editor_box["width"] >= 400
    assert editor_box["x"] >= 0 and editor_box["x"] + editor_box["width"] <= width
    assert preview_box["x"] + preview_box["width"] <= width
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"
    screenshot(page, f"writing-space-form-{width}")
    form_violations = serious_violations_of_ours(page, axe_script)

    tool(page, "Image from the library").click()
    dialog = page.get_by_role("dialog", name="Insert an image from the library")
    expect(dialog.get_by_role("button", name=ALT_TEXT)).to_be_visible()
    dialog_box = dialog.bounding_box()
    assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= width
    screenshot(page, f"writing-space-picker-{width}")
    picker_violations = serious_violations_of_ours(page, axe_script)

    assert_no_violations(form_violations, f"the change form at {width} px")
    assert_no_violations(picker_violations, f"the image picker at {width} px")
    assert_no_console_errors(editor)

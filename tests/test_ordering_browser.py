"""The ordering view in a real browser: an editor reorders a category of 42 explainers.

- a drag from row 40 to row 3, in one gesture and one request, and readers find that
  explainer third on the category page;
- the same with the keyboard alone (Space, the up arrow 37 times, Space), the outcome
  announced in the live region and the focus kept on the row's handle;
- "Move the selected explainers to a position" does the same for a ticked row;
- an explainer added through the admin's form lands last, in the listing and for readers;
- axe-core finds no serious or critical violation in the ordering view at 1280 and 390 px
  wide (Django's own admin markup aside, as tests/test_editorial_browser.py does it).

Chromium, the skip-or-fail rule and axe come from tests/test_browser.py; signing in and the
screenshots from tests/test_admin_browser.py. Screenshots land in test-artifacts/admin-*.png.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from explainers.models import Explainer
from tests.helpers import make_explainer
from tests.test_admin import make_user
from tests.test_admin_browser import (  # noqa: F401  (the fixture sign_in)
    assert_no_console_errors,
    choose_in_autocomplete,
    screenshot,
    sign_in,
)
from tests.test_browser import (  # noqa: F401  (the fixtures browser, open_page, axe_script)
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
CATEGORY_PAGE = "/ai-principles/llm-foundations/"
MOVED = "Moved “Explainer 40” to position 3 in LLM Foundations."
# Tall enough for all 42 rows: the drag needs row 40 and row 3 on screen together.
TALL = {"width": 1280, "height": 2400}


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def listing(category):
    return [make_explainer(category, f"Explainer {n}") for n in range(1, 43)]


@pytest.fixture
def editor(sign_in):
    return sign_in(make_user("eddie", "Editors"))


def open_ordering_view(visit, live_server, category):
    page = visit.page
    response = page.goto(f"{live_server.url}{EXPLAINERS}?category__id__exact={category.pk}")
    assert response is not None and response.status == 200, response
    expect(page.locator("#ordering-heading")).to_have_text(
        "Order of the explainers in LLM Foundations"
    )
    return page


def reorder_requests(page) -> list[str]:
    """The move requests the page sends, as they are sent."""
    sent = []
    page.on(
        "request",
        lambda request: sent.append(request.url) if request.url.endswith("/reorder/") else None,
    )
    return sent


def reader_titles(open_page, live_server) -> list[str]:
    visit = open_page(live_server.url + CATEGORY_PAGE, 1280)
    return visit.page.locator("article.card h3 a").all_inner_texts()


def test_an_editor_drags_row_40_to_row_3_and_readers_find_it_third(
    live_server, category, listing, editor, open_page
):
    page = editor.page
    page.set_viewport_size(TALL)
    open_ordering_view(editor, live_server, category)
    sent = reorder_requests(page)
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(42)

    rows.nth(39).locator("button.handle").drag_to(rows.nth(2).locator("button.handle"))

    expect(page.locator("#ordering-status")).to_have_text(MOVED)
    expect(rows.nth(2)).to_contain_text("Explainer 40")
    # The numbers follow the rows at once: no reload.
    expect(rows.nth(2).locator(".row-number")).to_have_text("3")
    expect(rows.nth(3).locator(".row-number")).to_have_text("4")
    screenshot(page, "ordering-dragged")
    assert len(sent) == 1, sent
    assert reader_titles(open_page, live_server)[:4] == [
        "Explainer 1",
        "Explainer 2",
        "Explainer 40",
        "Explainer 3",
    ]
    assert_no_console_errors(editor)


def test_an_editor_moves_row_40_to_row_3_with_the_keyboard_alone(
    live_server, category, listing, editor, open_page
):
    page = open_ordering_view(editor, live_server, category)
    sent = reorder_requests(page)
    handle = page.locator("#result_list tbody tr").nth(39).locator("button.handle")
    status = page.locator("#ordering-status")

    handle.focus()
    page.keyboard.press("Space")
    expect(status).to_contain_text("Picked up “Explainer 40”, at position 40.")
    for _ in range(37):
        page.keyboard.press("ArrowUp")
    expect(status).to_have_text("“Explainer 40”: position 3.")
    assert sent == []  # moving it about is only on the page, until it is dropped
    page.keyboard.press("Space")

    expect(status).to_have_text(MOVED)
    focused = page.locator("button.handle:focus")
    expect(focused).to_contain_text("Explainer 40")
    expect(focused.locator(".row-number")).to_have_text("3")
    expect(focused).to_have_attribute("aria-pressed", "false")
    assert len(sent) == 1, sent
    assert reader_titles(open_page, live_server)[2] == "Explainer 40"
    assert_no_console_errors(editor)


def test_escape_puts_a_picked_up_row_back_and_moves_nothing(live_server, category, listing, editor):
    page = open_ordering_view(editor, live_server, category)
    sent = reorder_requests(page)
    rows = page.locator("#result_list tbody tr")

    rows.nth(4).locator("button.handle").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")

    expect(page.locator("#ordering-status")).to_have_text(
        "Put “Explainer 5” back at position 5; nothing moved."
    )
    expect(rows.nth(4)).to_contain_text("Explainer 5")
    assert sent == []
    assert_no_console_errors(editor)


def test_move_to_position_takes_a_ticked_row_to_the_position_typed(
    live_server, category, listing, editor, open_page
):
    page = open_ordering_view(editor, live_server, category)
    position = page.get_by_label("To position")
    expect(position).to_be_hidden()  # only beside the action that reads it

    page.locator("#result_list tbody tr").nth(39).locator("input.action-select").check()
    page.locator("select[name=action]").select_option(
        label="Move the selected explainers to a position"
    )
    position.fill("3")
    page.get_by_role("button", name="Go").click()

    expect(page.locator(".messagelist .success")).to_have_text(MOVED)
    expect(page.locator("#result_list tbody tr").nth(2)).to_contain_text("Explainer 40")
    assert reader_titles(open_page, live_server)[2] == "Explainer 40"
    assert_no_console_errors(editor)


def test_an_explainer_added_through_the_form_lands_last(live_server, category, editor, open_page):
    for n in range(1, 4):
        make_explainer(category, f"Explainer {n}")
    page = editor.page

    page.goto(f"{live_server.url}{EXPLAINERS}add/")
    page.get_by_label("Title").press_sequentially("Attention, explained")
    choose_in_autocomplete(page, "category", "LLM", "LLM Foundations")
    page.get_by_label("Excerpt").fill("How a model weighs the tokens it reads.")
    page.locator("#id_body").fill("## Why it matters\n\n" + "Attention weighs tokens. " * 120)
    page.get_by_label("Status").select_option(label="Published")
    # The live preview of the body (and the page's presence beat) answered first: the live
    # server shares one SQLite connection between its request threads.
    LIVE_REQUESTS.wait_until_quiet(quiet=0.5)
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    acknowledge = page.get_by_label("I have read these warnings")
    if acknowledge.count():  # the content checks' warnings (no hero): published all the same
        acknowledge.check()
        page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")

    open_ordering_view(editor, live_server, category)
    last = page.locator("#result_list tbody tr").last
    expect(last).to_contain_text("Attention, explained")
    expect(last.locator(".row-number")).to_have_text("4")
    assert reader_titles(open_page, live_server)[-1] == "Attention, explained"
    assert_no_console_errors(editor)


@pytest.mark.parametrize("width", [1280, 390], ids=["at_1280px", "at_390px"])
def test_the_ordering_view_has_no_serious_accessibility_violation(
    live_server, category, editor, axe_script, width
):
    make_explainer(category, "Shown")
    make_explainer(category, "A draft", status=Explainer.Status.DRAFT)
    make_explainer(category, "Scheduled", published_at=timezone.now() + timezone.timedelta(days=3))
    pending = make_explainer(category, "With pending changes")
    Explainer.objects.filter(pk=pending.pk).update(pending=pending.content())
    page = editor.page
    page.set_viewport_size({"width": width, "height": 900})

    open_ordering_view(editor, live_server, category)
    expect(page.locator(".field-readers_see .reader-hidden")).to_have_count(3)
    still = serious_violations_of_ours(page, axe_script)
    # And with a row picked up by the keyboard, as a screen reader user has it.
    page.locator("button.handle").first.focus()
    page.keyboard.press("Space")
    expect(page.locator("#ordering-status")).to_contain_text("Picked up “Shown”")
    lifted = serious_violations_of_ours(page, axe_script)
    page.keyboard.press("Escape")
    screenshot(page, f"ordering-view-{width}")

    assert_no_violations(still, f"the ordering view at {width} px")
    assert_no_violations(lifted, f"the ordering view with a row picked up, at {width} px")
    assert_no_console_errors(editor)
    assert re.search(r"scheduled for \d+ \w+ \d{4}, \d\d:\d\d", page.content())

"""Our admin pages at desktop and phone widths: accessible, and no key column off-screen.

Each change list (explainers, hero images, categories, series) and the explainer and hero
image change forms are opened with the fixture's 85 explainers at 1280 and 390 px. axe-core
must find no serious or critical violation of ours (Django's own markup is excused element by
element, as tests/test_editorial_browser.py names it), and at 390 px the columns an editor
needs to act on a row (its name and, for explainers, its state) are on the screen, not
scrolled off to the right. Run with ``CI=1 .venv/bin/python -m pytest`` on this file.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from explainers.models import Explainer, HeroImage
from tests.test_admin import make_user
from tests.test_admin_browser import (  # noqa: F401  (the fixture sign_in)
    assert_no_console_errors,
    screenshot,
    sign_in,
)
from tests.test_browser import (  # noqa: F401  (the fixtures browser, open_page, axe_script)
    axe_script,
    browser,
    open_page,
)
from tests.test_editorial_browser import (  # noqa: F401  (the autouse fixtures)
    assert_no_violations,
    background_requests_off,
    quiet_server_at_teardown,
    serious_violations_of_ours,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]
# Change list -> the columns (by their field class) that must stay on screen at 390 px.
CHANGE_LISTS = {
    "explainer": ["field-title", "field-state"],
    "heroimage": ["field-alt_text"],
    "category": ["field-indented_name"],
    "series": ["field-name"],
}


THUMBNAILS = {"explainer": "hero_thumbnail", "heroimage": "preview_thumbnail"}


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def site(live_server):
    call_command("loaddata", "explainers", verbosity=0)
    return live_server


def columns_off_screen(page, classes: list[str]) -> list[str]:
    """The classes among ``classes`` whose first cell ends past the viewport's right edge."""
    return page.evaluate(
        """(classes) => classes.filter((name) => {
            const row = document.querySelector("#result_list tbody tr");
            const cell = row && row.querySelector(`.${name}`);
            return !cell || cell.getBoundingClientRect().right > window.innerWidth;
        })""",
        classes,
    )


@pytest.mark.parametrize("model", CHANGE_LISTS)
@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_change_lists_are_accessible_with_their_key_columns_on_screen(
    site, sign_in, axe_script, model, width
):
    editor = sign_in(make_user("dana", "Editors"))
    page = editor.page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{site.url}/admin/explainers/{model}/")
    expect(page.locator("#result_list tbody tr").first).to_be_visible()

    screenshot(page, f"changelist-{model}-{width}")
    assert_no_violations(serious_violations_of_ours(page, axe_script), f"{model} list, {width}px")
    if width < 600:
        assert columns_off_screen(page, CHANGE_LISTS[model]) == []
    assert_no_console_errors(editor)


@pytest.mark.parametrize("model", ["explainer", "heroimage"])
def test_every_link_in_the_lists_is_named_and_thumbnails_are_decorative(site, sign_in, model):
    editor = sign_in(make_user("dana", "Editors"))
    page = editor.page
    page.goto(f"{site.url}/admin/explainers/{model}/")

    links = page.evaluate(
        """() => [...document.querySelectorAll('#result_list tbody a')].map((a) => ({
            name: a.innerText.trim() || a.getAttribute('aria-label') || '',
            images: a.querySelectorAll('img').length,
        }))"""
    )
    assert links and all(link["name"] for link in links)
    # The row's link is its title (alt text for images): the thumbnail repeats nothing.
    assert not any(link["images"] for link in links)
    first = page.locator("#result_list tbody tr").first
    expect(first.locator("img.admin-thumbnail")).to_have_attribute("alt", "")
    expect(page.locator("#result_list thead th.column-" + THUMBNAILS[model])).to_have_text("Image")


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
@pytest.mark.parametrize("model", ["explainer", "heroimage"])
def test_change_forms_are_accessible_and_fit_the_screen(site, sign_in, axe_script, model, width):
    editor = sign_in(make_user("dana", "Editors"))
    page = editor.page
    page.set_viewport_size({"width": width, "height": 800})
    record = (Explainer if model == "explainer" else HeroImage).objects.order_by("pk").first()
    page.goto(f"{site.url}/admin/explainers/{model}/{record.pk}/change/")
    expect(page.locator("#content-main form")).to_be_visible()

    screenshot(page, f"change-form-{model}-{width}")
    assert_no_violations(serious_violations_of_ours(page, axe_script), f"{model} form, {width}px")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        f"the {model} form scrolls sideways at {width}px"
    )
    assert_no_console_errors(editor)

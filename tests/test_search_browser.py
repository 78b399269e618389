"""The search page in a real browser (chromium, as tests/test_browser.py drives it): a
corrected search with its facets loads cleanly and passes axe at both widths, the search box
offers suggestions as one types (our script, under the site's CSP), and without script the
box still searches."""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.test_browser import (  # noqa: F401  (the fixtures browser, axe_script, open_page, site)
    WIDTHS,
    assert_page_is_clean,
    axe_script,
    browser,
    open_page,
    site,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_corrected_search_with_facets_loads_cleanly_and_accessibly(
    axe_script, site, open_page, width
):
    visit = open_page(f"{site.url}/search/?q=difusion", width)
    page = visit.page

    expect(page.locator(".search-correction")).to_have_text(
        "Showing results for diffusion. Search instead for difusion"
    )
    expect(page.locator(".search-facet h2")).to_have_text(["Categories", "Series"])
    assert page.locator(".card-snippet mark").count() > 0
    assert_page_is_clean(visit, axe_script, f"search-{width}")


def test_the_search_box_suggests_completions_as_one_types(axe_script, site, open_page):
    visit = open_page(f"{site.url}/search/?q=attention", 1280)
    page = visit.page
    box = page.locator("#site-search-q")
    asked = []
    page.on(
        "request", lambda request: asked.append(request) if "/suggest/" in request.url else None
    )

    box.fill("")
    box.press_sequentially("softmax temp", delay=30)

    options = page.locator("datalist#site-search-suggestions option")
    expect(options.first).to_have_attribute("value", "softmax temperature")
    assert box.get_attribute("list") == "site-search-suggestions"
    # One request per pause in typing, each a GET of the text typed so far.
    assert asked and all(request.method == "GET" for request in asked)
    assert parse_qs(urlsplit(asked[-1].url).query) == {"q": ["softmax temp"]}
    assert visit.errors == [], "console errors (a CSP refusal shows here):\n" + "\n".join(
        visit.errors
    )

    box.fill("softmax temperature")
    box.press("Enter")

    page.wait_for_url("**/search/?q=softmax+temperature")
    expect(page.locator(".card-title").first).to_contain_text("Temperature")
    assert_page_is_clean(visit, axe_script, "search-suggested")


def test_without_script_the_search_box_still_searches(browser, site):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    try:
        page = context.new_page()
        page.goto(f"{site.url}/", wait_until="load")
        page.locator("#site-search-q").fill("halucination")
        page.locator("#site-search-q").press("Enter")

        page.wait_for_url("**/search/?q=halucination")
        expect(page.locator(".search-correction")).to_contain_text("hallucination")
        assert page.locator(".card-title").count() > 0
        assert page.locator("datalist").count() == 0
    finally:
        context.close()

"""The explainer list's category and series filters in a real browser: picked in an
autocomplete select (typed, chosen), they open the list filtered by the choice, under the
admin's CSP, without console errors; clearing the choice shows every explainer again.
Run with ``CI=1 .venv/bin/python -m pytest`` on this file."""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from explainers.models import Category, Series
from tests.test_admin import make_user
from tests.test_admin_browser import (  # noqa: F401  (the fixture sign_in)
    assert_no_console_errors,
    sign_in,
)
from tests.test_browser import browser, open_page  # noqa: F401  (the fixtures)
from tests.test_editorial_browser import (  # noqa: F401  (the autouse fixtures)
    background_requests_off,
    quiet_server_at_teardown,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPLAINERS = "/admin/explainers/explainer/"


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


def choose_in_filter(page, name, typed, option):
    """Pick ``option`` in a list filter's select the way a person does: click, type, choose."""
    page.locator(f"select[name={name}] + .select2 .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").press_sequentially(typed)
    page.locator(".select2-results__option", has_text=option).click()


def test_the_category_and_series_filters_are_picked_by_typing(live_server, sign_in):
    call_command("loaddata", "explainers", verbosity=0)
    architectures = Category.objects.get(name="Model Architectures")
    bridge = Series.objects.get(name="MONA Bridge")
    visit = sign_in(make_user("eddie", "Editors"))
    page = visit.page
    page.goto(f"{live_server.url}{EXPLAINERS}")
    rows = page.locator("#result_list tbody tr")
    expect(page.locator("p.paginator")).to_contain_text("85 explainers")

    choose_in_filter(page, "category__id__exact", "Architect", "Model Architectures")
    expect(page).to_have_url(re.compile(rf"\?category__id__exact={architectures.pk}$"))
    expect(page.locator("p.paginator")).to_contain_text(
        f"{architectures.explainers.count()} explainers"
    )
    expect(page.locator("#select2-filter-category-container")).to_contain_text(
        "Model Architectures"
    )

    choose_in_filter(page, "series__id__exact", "Bridge", "MONA Bridge")
    expect(page).to_have_url(re.compile(rf"series__id__exact={bridge.pk}"))
    both = architectures.explainers.filter(series=bridge).count()
    expect(rows).to_have_count(both)

    # select2's "×" clears the category: the series filter stays.
    page.locator("select[name=category__id__exact] + .select2 .select2-selection__clear").click()
    expect(page).to_have_url(re.compile(rf"\?series__id__exact={bridge.pk}$"))
    expect(rows).to_have_count(min(bridge.items.count(), 50))
    assert_no_console_errors(visit)

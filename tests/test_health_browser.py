"""Content health in a real browser: the report at desktop and phone widths, the publish
step's warnings on the change form and on the list's confirmation page.

axe-core must find no serious or critical violation of ours (Django's own admin markup is
excused element by element, as tests/test_editorial_browser.py names it); at 390 px the
report fits the screen without scrolling sideways. Chromium, axe and the skip-or-fail rule
come from tests/test_browser.py, signing in and screenshots from tests/test_admin_browser.py,
and the quiet-server teardown from tests/test_editorial_browser.py. Run with
``CI=1 .venv/bin/python -m pytest tests/test_health_browser.py``.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from explainers.models import Category, Explainer, State
from tests.helpers import make_explainer
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
    LIVE_REQUESTS,
    assert_no_violations,
    background_requests_off,
    open_form,
    quiet_server_at_teardown,
    serious_violations_of_ours,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]
REPORT = "/admin/health/"
LLM_FOUNDATIONS = "ai-principles/llm-foundations"


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def site(live_server):
    """The fixture's 85 explainers, and one with a broken link, so both levels show."""
    call_command("loaddata", "explainers", verbosity=0)
    make_explainer(
        Category.objects.get(path=LLM_FOUNDATIONS),
        "Links to nowhere",
        body=f"See [the missing one](/{LLM_FOUNDATIONS}/missing/).",
        position=1000,
    )
    return live_server


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_the_health_report_is_accessible_and_fits_the_screen(site, sign_in, axe_script, width):
    editor = sign_in(make_user("dana", "Editors"))
    page = editor.page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{site.url}{REPORT}")

    table = page.get_by_role("table", name="Content checks")
    expect(table).to_be_visible()
    empty = table.get_by_role("row", name="Empty body")
    expect(empty).to_contain_text("Warning")
    expect(empty.get_by_role("link")).to_have_text("85 explainers")
    expect(table.get_by_role("row", name="Links to explainers")).to_contain_text("1 explainer")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
        "the report scrolls sideways"
    )
    screenshot(page, f"health-report-{width}")
    assert_no_violations(serious_violations_of_ours(page, axe_script), f"the report at {width}")

    # A count leads to the explainers it counts, the filter chosen.
    empty.get_by_role("link").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(50)  # a full first page
    expect(page.locator("#changelist-filter .selected", has_text="Empty body")).to_be_visible()
    assert_no_console_errors(editor)


def test_an_editor_reads_the_warnings_ticks_the_box_and_approves(live_server, sign_in, axe_script):
    category = Category.objects.create(name="LLM Foundations", slug="llm-foundations")
    explainer = make_explainer(
        category, "No picture yet", status="draft", published_at=None, review=State.IN_REVIEW
    )
    editor = sign_in(make_user("dana", "Editors"))
    page = open_form(editor.page, explainer)

    panel = page.locator(".health-check")
    expect(panel).to_contain_text("It has no hero image")
    expect(panel).to_contain_text("Its body is empty")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist .error")).to_contain_text("Not published yet")
    assert_no_violations(serious_violations_of_ours(page, axe_script), "the refused form")
    LIVE_REQUESTS.wait_until_quiet()
    explainer.refresh_from_db()
    assert explainer.state == State.DRAFT

    page.get_by_label("I have read these warnings").check()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist")).to_contain_text("Approved and published")
    LIVE_REQUESTS.wait_until_quiet()
    explainer.refresh_from_db()
    assert explainer.state == State.PUBLISHED
    assert_no_console_errors(editor)


def test_the_bulk_confirmation_page_is_accessible(live_server, sign_in, axe_script):
    category = Category.objects.create(name="LLM Foundations", slug="llm-foundations")
    drafts = [
        make_explainer(category, title, status="draft", published_at=None, excerpt=excerpt)
        for title, excerpt in [("Warned", "A standfirst."), ("Held back", "")]
    ]
    editor = sign_in(make_user("dana", "Editors"))
    page = editor.page
    page.goto(f"{live_server.url}/admin/explainers/explainer/")
    for explainer in drafts:
        page.locator(f"input[name=_selected_action][value='{explainer.pk}']").check()
    page.locator("select[name=action]").select_option("publish_selected")
    page.locator("button[name=index]").click()

    expect(page.locator(".health-review")).to_contain_text("stays unpublished")
    screenshot(page, "health-publish-confirmation")
    assert_no_violations(serious_violations_of_ours(page, axe_script), "the confirmation page")
    page.get_by_label("I have read these warnings").check()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".messagelist .success")).to_have_text("Published 1 explainer.")
    expect(page.locator(".messagelist .error")).to_contain_text("“Held back”")
    LIVE_REQUESTS.wait_until_quiet()
    assert list(Explainer.objects.published().values_list("title", flat=True)) == ["Warned"]
    assert_no_console_errors(editor)

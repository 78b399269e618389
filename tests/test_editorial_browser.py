"""Editorial safety in a real browser: two editors on one explainer, and nobody's work lost.

Two editors, Dana and Ben, sign in through the admin's login form, each in a browser context
of their own, and work on the same explainer the way people do: one saves while the other's
form is still open. The tests check what each of them sees and what the database keeps:

- a stale save of other fields is merged, and the saver is told whose save it merged with;
- a stale save of the same field is refused with a conflict table, the user's input kept,
  and the next save applies the version they chose (readers of a live explainer meanwhile
  keep the published text until an editor clicks "Publish changes");
- a stale form cannot undo a publish or an unpublish made from the changelist, or a move
  made in the ordering view;
- presence: each sees that the other has the form open, and the entry goes when one leaves
  (at once, by the page's beacon) or stops sending heartbeats (after the timeout);
- unsaved input raises the browser's "leave this page?" prompt, is autosaved to a scratch
  copy of the user's own, and can be restored when the form is opened again;
- axe-core finds no serious or critical violation on the editorial dashboard, a change form
  with its notices, or the conflict page.

The live server runs in this process, so the ``settings`` fixture sets its intervals: a second
for autosave and heartbeats, three for presence to expire, in the tests of them; elsewhere
autosave and heartbeats are off, so that no background request races the test's own (see
LiveRequests for why that matters with SQLite in memory). Axe findings in Django's own admin
markup are ignored element by element, each named in DJANGO_ADMIN_MARKUP.

Chromium, the skip-or-fail rule and axe come from tests/test_browser.py; signing in and the
screenshots from tests/test_admin_browser.py. Screenshots land in test-artifacts/admin-*.png.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io
import re
import threading
import time

import pytest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.utils import timezone
from playwright.sync_api import expect

from explainers.models import Explainer, ScratchCopy, State
from explainers.services.editing import scratch_copy_save
from tests.helpers import make_category, make_explainer
from tests.test_admin import make_user
from tests.test_admin_browser import (  # noqa: F401  (the fixture sign_in)
    assert_no_console_errors,
    screenshot,
    sign_in,
)
from tests.test_browser import (  # noqa: F401  (the fixtures browser, open_page, axe_script)
    axe_script,
    browser,
    describe,
    open_page,
    serious_axe_violations,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPLAINERS = "/admin/explainers/explainer/"
ORIGINAL_TITLE = "What is attention?"
ORIGINAL_EXCERPT = "How a model weighs the tokens it reads."
DANAS_TITLE = "Attention, explained by Dana"
BENS_TITLE = "Attention, explained by Ben"
BENS_EXCERPT = "Ben's standfirst: what attention weighs, and why."
DANAS_EXCERPT = "Dana's standfirst: attention, one token at a time."
CLOCK = r"\d\d:\d\d"


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


class LiveRequests:
    """How many requests the live server (a thread of this process) is answering.

    For SQLite in memory, Django's live server hands one shared database connection to every
    request thread and to the tests' own thread; two of them using it at once can fail with
    "database table is locked". So the tests read the database only once the server is quiet,
    and teardown (which empties the tables) waits for it too.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last_change = time.monotonic()

    def started(self, **kwargs):
        with self.lock:
            self.in_flight += 1
            self.last_change = time.monotonic()

    def finished(self, **kwargs):
        with self.lock:
            self.in_flight -= 1
            self.last_change = time.monotonic()

    def wait_until_quiet(self, quiet=0.2, timeout=10):
        """Until no request has been open for ``quiet`` seconds (a straggler may follow)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.in_flight <= 0 and time.monotonic() - self.last_change >= quiet:
                    return
            assert time.monotonic() < deadline, f"{self.in_flight} requests never finished"
            time.sleep(0.02)


LIVE_REQUESTS = LiveRequests()


@pytest.fixture(autouse=True)
def quiet_server_at_teardown():
    """Set up before the browser contexts, so torn down after they close: the tables are
    emptied only once the server has answered the pages' last heartbeats and beacons."""
    request_started.connect(LIVE_REQUESTS.started)
    request_finished.connect(LIVE_REQUESTS.finished)
    yield
    LIVE_REQUESTS.wait_until_quiet()
    request_started.disconnect(LIVE_REQUESTS.started)
    request_finished.disconnect(LIVE_REQUESTS.finished)


def fresh(record):
    """``record`` as the database has it now, read once the live server is quiet."""
    LIVE_REQUESTS.wait_until_quiet()
    record.refresh_from_db()
    return record


@pytest.fixture(autouse=True)
def background_requests_off(settings):
    """No autosave and one presence heartbeat per page load, but where they are under test:
    elsewhere they would only be background requests racing the tests' own."""
    settings.AUTOSAVE_SECONDS = 3600
    settings.PRESENCE_HEARTBEAT_SECONDS = 3600
    return settings


def short_intervals(settings):
    """Autosave and presence in seconds, not tens of seconds, for the tests of them."""
    settings.AUTOSAVE_SECONDS = 1
    settings.PRESENCE_HEARTBEAT_SECONDS = 1
    settings.PRESENCE_TIMEOUT_SECONDS = 3


@pytest.fixture
def category(roles):
    return make_category("LLM Foundations", parent=make_category("AI Principles"))


# Usernames as the admin greets them: sign_in looks for the username in "Welcome, <first name>".
@pytest.fixture
def dana(roles):
    return make_user("Dana", "Editors", first_name="Dana")


@pytest.fixture
def ben(roles):
    return make_user("Ben", "Editors", first_name="Ben")


def draft(category, **fields):
    fields.setdefault("excerpt", ORIGINAL_EXCERPT)
    return make_explainer(
        category, ORIGINAL_TITLE, status=Explainer.Status.DRAFT, published_at=None, **fields
    )


def live(category, title=ORIGINAL_TITLE, **fields):
    fields.setdefault("excerpt", ORIGINAL_EXCERPT)
    return make_explainer(category, title, **fields)


def open_form(page, explainer, origin=None):
    """Open the explainer's change form in this page, once its first heartbeat is answered."""
    origin = origin or visit_origin(page)
    with page.expect_response(lambda response: response.url.endswith("/presence/")):
        response = page.goto(f"{origin}{explainer.get_admin_url()}")
    assert response is not None and response.status == 200, response
    expect(page.locator("#id_title")).to_be_visible()
    return page


def visit_origin(page):
    return re.match(r"https?://[^/]+", page.url).group(0)


def save(page):
    page.locator("input[name=_save]").click()


def expect_saved(page, explainer_title):
    expect(page.locator(".messagelist .success")).to_contain_text(
        f"“{explainer_title}” was changed successfully"
    )


def run_bulk_action(visit, explainer, action):
    """From the changelist, select ``explainer`` and run ``action`` with the Go button."""
    page = visit.page
    page.goto(f"{visit_origin(page)}{EXPLAINERS}")
    page.locator(f"input[name=_selected_action][value='{explainer.pk}']").check()
    page.locator("select[name=action]").select_option(action)
    page.locator("button[name=index]").click()
    return page


def reader_status(browser, url):
    """The HTTP status a reader (a fresh browser, not signed in) gets for ``url``."""
    context = browser.new_context()
    try:
        response = context.new_page().goto(url)
        assert response is not None
        return response.status
    finally:
        context.close()


def reader_headline(browser, url):
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status == 200, response
        return page.locator("h1").inner_text()
    finally:
        context.close()


# Violations axe-core finds in Django's own admin markup, not in ours: each is ignored only on
# the Django admin element named, so that the same rule still fails on any element of ours.
DJANGO_ADMIN_MARKUP = [
    # Django's breadcrumbs (admin/base.html, styled by admin/css/base.css): white links in
    # light blue (#c4dce8) text, 1.42:1, and not underlined.
    ("link-in-text-block", ".breadcrumbs > a"),
    # Django's AdminSplitDateTime widget (admin/widgets/split_datetime.html), here the
    # publication time: "Date:" and "Time:" are bare text, and the field's <label> has no
    # ``for`` (a MultiWidget has no single id), so neither input has a label.
    ("label", "p.datetime > input.vDateField, p.datetime > input.vTimeField"),
    # Django's autocomplete widget (its vendored select2), here the empty hero: with nothing
    # chosen, the combobox is labelled only by its own empty container.
    ("aria-input-field-name", ".select2-selection, .select2-selection__rendered"),
]


def is_django_admin_markup(page, rule, node):
    selectors = [selector for rule_id, selector in DJANGO_ADMIN_MARKUP if rule_id == rule]
    return any(
        page.evaluate(
            "([target, selector]) => !!document.querySelector(target)?.matches(selector)",
            [node["target"][0], selector],
        )
        for selector in selectors
    )


def serious_violations_of_ours(page, axe_script):
    """axe-core's serious and critical violations, but those in DJANGO_ADMIN_MARKUP."""
    violations = []
    for violation in serious_axe_violations(page, axe_script):
        rule = violation["id"]
        ours = [node for node in violation["nodes"] if not is_django_admin_markup(page, rule, node)]
        if ours:
            violations.append({**violation, "nodes": ours})
    return violations


def assert_no_violations(violations, what):
    if violations:
        pytest.fail(
            f"axe-core found serious or critical violations on {what}:\n" + describe(violations)
        )


def record_dialogs(page):
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", on_dialog)
    return dialogs


# Lost updates


def test_a_stale_save_of_other_fields_is_merged_and_says_so(category, dana, ben, sign_in):
    explainer = draft(category)
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    bens_form = open_form(as_ben.page, explainer)

    danas_form.locator("#id_title").fill(DANAS_TITLE)
    save(danas_form)
    expect_saved(danas_form, DANAS_TITLE)

    # Ben's form still shows the title as it was; he changes only the excerpt.
    expect(bens_form.locator("#id_title")).to_have_value(ORIGINAL_TITLE)
    bens_form.locator("#id_excerpt").fill(BENS_EXCERPT)
    save(bens_form)
    expect(bens_form.locator(".messagelist .info")).to_have_text(
        re.compile(rf"^Merged with Dana's save of {CLOCK}: they changed the title\.$")
    )
    expect_saved(bens_form, DANAS_TITLE)

    fresh(explainer)
    assert (explainer.title, explainer.excerpt) == (DANAS_TITLE, BENS_EXCERPT)
    assert explainer.pending is None  # a draft saves straight to its row
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)


@pytest.mark.parametrize("choice", ["mine", "theirs"], ids=["keeping_mine", "taking_theirs"])
def test_a_stale_save_of_the_same_field_shows_both_versions_and_saves_the_chosen_one(
    category, dana, ben, sign_in, browser, axe_script, live_server, choice
):
    explainer = live(category)
    public_url = live_server.url + explainer.get_absolute_url()
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    bens_form = open_form(as_ben.page, explainer)

    danas_form.locator("#id_title").fill(DANAS_TITLE)
    save(danas_form)
    expect(danas_form.locator(".messagelist")).to_contain_text(
        "Saved as pending changes: readers still see the published version."
    )

    bens_form.locator("#id_title").fill(BENS_TITLE)
    bens_form.locator("#id_excerpt").fill(BENS_EXCERPT)
    save(bens_form)

    # Refused: both versions side by side, Ben's own input still in the form.
    expect(bens_form.locator(".errornote")).to_be_visible()
    expect(bens_form.locator(".errorlist.nonfield")).to_have_text(
        re.compile(
            rf"^Dana at {CLOCK} saved changes to the same fields since you opened this form "
            r"\(title\); nothing was saved\. Your text is kept below"
        )
    )
    conflict = bens_form.locator("section.conflict")
    expect(conflict).to_be_visible()
    rows = conflict.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("th")).to_have_text("Title")
    expect(rows.locator("td").nth(0)).to_have_text(BENS_TITLE)
    expect(rows.locator("td").nth(1)).to_have_text(DANAS_TITLE)
    expect(bens_form.locator("input[name=conflict_choice_title][value=mine]")).to_be_checked()
    expect(bens_form.locator("#id_title")).to_have_value(BENS_TITLE)
    expect(bens_form.locator("#id_excerpt")).to_have_value(BENS_EXCERPT)
    fresh(explainer)
    assert explainer.pending["title"] == DANAS_TITLE
    assert explainer.pending["excerpt"] == ORIGINAL_EXCERPT
    screenshot(bens_form, f"editorial-conflict-{choice}")
    # Checked at the end, so that a finding does not hide how the conflict is resolved.
    conflict_page_violations = serious_violations_of_ours(bens_form, axe_script)

    bens_form.locator(f"input[name=conflict_choice_title][value={choice}]").check()
    save(bens_form)
    chosen = BENS_TITLE if choice == "mine" else DANAS_TITLE
    expect(bens_form.locator(".messagelist")).to_contain_text("Saved as pending changes")
    expect(bens_form.locator("section.conflict")).to_have_count(0)

    fresh(explainer)
    assert (explainer.pending["title"], explainer.pending["excerpt"]) == (chosen, BENS_EXCERPT)
    # Readers still get the published version, until an editor publishes the changes.
    assert explainer.title == ORIGINAL_TITLE
    assert reader_headline(browser, public_url) == ORIGINAL_TITLE

    open_form(as_ben.page, explainer)
    expect(bens_form.locator("#id_title")).to_have_value(chosen)
    # The content checks' warnings (an empty body, no hero) first: tests/test_health.py.
    bens_form.get_by_label("I have read these warnings").check()
    bens_form.get_by_role("button", name="Publish changes").click()
    expect(bens_form.locator(".messagelist")).to_contain_text("Published the pending changes.")
    fresh(explainer)
    assert (explainer.title, explainer.excerpt, explainer.pending) == (chosen, BENS_EXCERPT, None)
    assert reader_headline(browser, public_url) == chosen
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)
    assert_no_violations(conflict_page_violations, "the conflict page")


# A stale form against the changelist's publish and unpublish, and the ordering view's move


def test_a_stale_form_does_not_take_back_a_publish_made_from_the_changelist(
    category, dana, ben, sign_in, browser, live_server
):
    explainer = draft(category)
    public_url = live_server.url + explainer.get_absolute_url()
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    expect(danas_form.locator("#id_status")).to_have_value(Explainer.Status.DRAFT)

    changelist = run_bulk_action(as_ben, explainer, "publish_selected")
    # The content checks' warnings (an empty body, no hero) first: tests/test_health.py.
    changelist.get_by_label("I have read these warnings").check()
    changelist.get_by_role("button", name="Publish", exact=True).click()
    expect(changelist.locator(".messagelist .success")).to_have_text("Published 1 explainer.")
    assert reader_status(browser, public_url) == 200

    danas_form.locator("#id_excerpt").fill(DANAS_EXCERPT)
    save(danas_form)
    expect(danas_form.locator(".messagelist .info", has_text="Merged with")).to_have_text(
        re.compile(
            rf"^Merged with Ben's save of {CLOCK}: they changed the published at and status\.$"
        )
    )

    fresh(explainer)
    assert explainer.is_published(), (explainer.status, explainer.published_at)
    assert explainer.pending["excerpt"] == DANAS_EXCERPT  # live now: the edit waits
    assert reader_status(browser, public_url) == 200
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)


def test_a_stale_form_does_not_take_back_an_unpublish_made_from_the_changelist(
    category, dana, ben, sign_in, browser, live_server
):
    explainer = live(category)
    public_url = live_server.url + explainer.get_absolute_url()
    assert reader_status(browser, public_url) == 200
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    expect(danas_form.locator("#id_status")).to_have_value(Explainer.Status.PUBLISHED)

    changelist = run_bulk_action(as_ben, explainer, "unpublish_selected")
    expect(changelist.locator(".messagelist .success")).to_have_text("Unpublished 1 explainer.")
    assert reader_status(browser, public_url) == 404

    danas_form.locator("#id_excerpt").fill(DANAS_EXCERPT)
    save(danas_form)
    expect(danas_form.locator(".messagelist .info", has_text="Merged with")).to_have_text(
        re.compile(rf"^Merged with Ben's save of {CLOCK}: they changed the status\.$")
    )

    fresh(explainer)
    assert explainer.status == Explainer.Status.DRAFT and not explainer.is_published()
    assert explainer.excerpt == DANAS_EXCERPT and explainer.pending is None
    assert reader_status(browser, public_url) == 404
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)


def test_a_stale_form_does_not_take_back_a_move_made_in_the_ordering_view(
    category, dana, ben, sign_in
):
    first = live(category, "First in the listing")
    second = live(category, "Second in the listing")
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, first)

    ordering_view = as_ben.page
    ordering_view.goto(
        f"{visit_origin(ordering_view)}{EXPLAINERS}?category__id__exact={category.pk}"
    )
    rows = ordering_view.locator("#result_list tbody tr")
    rows.nth(1).locator("button.handle").drag_to(rows.nth(0).locator("button.handle"))
    expect(ordering_view.locator("#ordering-status")).to_have_text(
        "Moved “Second in the listing” to position 1 in LLM Foundations."
    )
    fresh(first)
    fresh(second)
    assert (first.position, second.position) == (1, 0)

    danas_form.locator("#id_excerpt").fill(DANAS_EXCERPT)
    save(danas_form)
    expect_saved(danas_form, "First in the listing")

    fresh(first)
    fresh(second)
    assert (first.position, second.position) == (1, 0)
    assert first.pending["excerpt"] == DANAS_EXCERPT
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)


# Presence


def test_editors_see_who_else_has_the_form_open_until_they_leave(
    category, dana, ben, sign_in, settings
):
    short_intervals(settings)
    # A long timeout: Ben's entry can only go this quickly because his page said it left.
    settings.PRESENCE_TIMEOUT_SECONDS = 60
    explainer = live(category)
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    bens_form = open_form(as_ben.page, explainer)

    danas_presence = danas_form.locator("#presence")
    bens_presence = bens_form.locator("#presence")
    expect(danas_presence).to_be_visible(timeout=5_000)
    expect(danas_presence).to_have_text(re.compile(rf"^Also editing: Ben, since {CLOCK}\. "))
    expect(bens_presence).to_have_text(re.compile(rf"^Also editing: Dana, since {CLOCK}\. "))
    expect(danas_presence).to_have_attribute("role", "status")

    bens_form.goto(f"{visit_origin(bens_form)}/admin/")
    expect(danas_presence).to_be_hidden(timeout=5_000)
    expect(danas_presence).not_to_contain_text("Ben")
    assert_no_console_errors(as_dana)
    assert_no_console_errors(as_ben)


def test_an_editor_whose_browser_goes_quiet_drops_out_of_presence_after_the_timeout(
    category, dana, ben, sign_in, settings
):
    short_intervals(settings)
    explainer = live(category)
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    danas_form = open_form(as_dana.page, explainer)
    bens_form = open_form(as_ben.page, explainer)
    danas_presence = danas_form.locator("#presence")
    expect(danas_presence).to_contain_text("Also editing: Ben", timeout=5_000)

    # Ben's heartbeats stop reaching the server (a closed laptop), with his page still open.
    bens_form.context.route("**/presence/", lambda route: route.abort())
    quiet_since = time.monotonic()
    expect(danas_presence).to_be_hidden(timeout=(settings.PRESENCE_TIMEOUT_SECONDS + 4) * 1000)
    assert time.monotonic() - quiet_since >= settings.PRESENCE_TIMEOUT_SECONDS - 1.5
    assert_no_console_errors(as_dana)


# Unsaved changes


def test_unsaved_input_warns_before_leaving_and_can_be_restored_from_autosave(
    category, dana, sign_in, settings
):
    settings.AUTOSAVE_SECONDS = 1
    explainer = draft(category, body="The original body.")
    typed = "Attention weighs every token against every other."
    as_dana = sign_in(dana)
    form = open_form(as_dana.page, explainer)
    context = form.context
    origin = visit_origin(form)

    body = form.locator("#id_body")
    body.click()
    body.press("ControlOrMeta+a")
    body.press_sequentially(typed)
    expect(form.locator("#autosave-status")).to_contain_text(
        "Unsaved changes kept as a draft copy", timeout=10_000
    )
    LIVE_REQUESTS.wait_until_quiet()
    copy = ScratchCopy.objects.get(user=dana, object_id=str(explainer.pk))
    assert copy.data["body"] == [typed]
    fresh(explainer)
    assert explainer.body == "The original body."  # autosave never touches the explainer

    dialogs = record_dialogs(form)
    with form.expect_event("close"):
        form.close(run_before_unload=True)
    assert dialogs == ["beforeunload"]

    # The reopened form autosaves no more: it is not under test, and would race the save.
    settings.AUTOSAVE_SECONDS = 3600
    form = open_form(context.new_page(), explainer, origin)
    dialogs = record_dialogs(form)
    notice = form.locator(".editing-notice.scratch")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("button", name="Discard")).to_be_visible()
    notice.get_by_role("link", name="Restore your unsaved changes").click()
    expect(form).to_have_url(re.compile(r"\?restore=scratch$"))
    expect(form.locator("#id_body")).to_have_value(typed)
    expect(form.locator(".editing-notice.scratch")).to_have_count(0)
    fresh(explainer)
    assert explainer.body == "The original body."

    # Saving is no "leaving": no prompt, the text is saved and the scratch copy goes.
    form.locator("#id_excerpt").fill(DANAS_EXCERPT)
    save(form)
    expect_saved(form, ORIGINAL_TITLE)
    fresh(explainer)
    assert (explainer.body, explainer.excerpt) == (typed, DANAS_EXCERPT)
    assert not ScratchCopy.objects.filter(user=dana).exists()  # fresh() waited

    open_form(form, explainer)
    expect(form.locator(".editing-notice.scratch")).to_have_count(0)
    with form.expect_event("close"):
        form.close(run_before_unload=True)
    assert dialogs == []


# Accessibility


def test_the_editorial_dashboard_has_no_serious_accessibility_violation(
    category, dana, ben, sign_in, axe_script
):
    draft(category, owner=dana, slug="danas-draft")
    live(category, "Published last week", slug="published-last-week")
    live(
        category,
        "Waiting for Dana",
        review=State.IN_REVIEW,
        submitted_by=ben,
        review_updated_at=timezone.now(),
    )
    as_dana = sign_in(dana)
    page = as_dana.page  # signing in lands on the dashboard

    panels = page.locator("section.dashboard-panel")
    expect(panels.locator("h2")).to_contain_text(
        ["Awaiting your review", "Your drafts", "Recently published"]
    )
    expect(panels.filter(has_text="Awaiting your review")).to_contain_text("Waiting for Dana")
    expect(panels.filter(has_text="Your drafts")).to_contain_text(ORIGINAL_TITLE)
    expect(panels.filter(has_text="Recently published")).to_contain_text("Published last week")
    screenshot(page, "editorial-dashboard")
    assert_no_violations(serious_violations_of_ours(page, axe_script), "the editorial dashboard")
    assert_no_console_errors(as_dana)


def test_a_change_form_with_its_notices_has_no_serious_accessibility_violation(
    category, dana, ben, sign_in, axe_script
):
    explainer = live(category)
    pending = explainer.content()
    pending["title"] = BENS_TITLE
    Explainer.objects.filter(pk=explainer.pk).update(
        pending=pending, pending_by=ben, pending_at=timezone.now()
    )
    scratch_copy_save(
        user=dana, model=Explainer, object_id=explainer.pk, data={"body": ["Half a thought"]}
    )
    as_dana, as_ben = sign_in(dana), sign_in(ben)
    open_form(as_ben.page, explainer)
    page = open_form(as_dana.page, explainer)

    # Every notice of ours is on the page: pending changes, the scratch copy, presence.
    expect(page.locator(".editing-notice.pending")).to_contain_text("Pending changes")
    expect(page.locator(".editing-notice.scratch")).to_be_visible()
    expect(page.locator("#presence")).to_contain_text("Also editing: Ben", timeout=5_000)
    expect(page.locator("#id_title")).to_have_value(BENS_TITLE)
    screenshot(page, "editorial-change-form")
    assert_no_violations(serious_violations_of_ours(page, axe_script), "the explainer change form")
    assert_no_console_errors(as_dana)

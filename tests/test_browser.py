"""Reader pages in a real browser: Debian's chromium, driven by Playwright against live_server.

Each page is checked at a phone width (375 px) and a desktop width (1280 px): it loads with no
console error or uncaught exception, every image on it (lazy ones included, once scrolled to)
has loaded, the breadcrumbs show, and axe-core finds no "serious" or "critical" accessibility
violation. A full-page screenshot of each lands in test-artifacts/ (git-ignored) for a person
to look at.

axe-core comes from the npm registry (package.json, installed by `make test`). Nothing here
downloads a browser. Without /usr/bin/chromium or node_modules/axe-core the tests skip on a
developer's machine and fail when the CI environment variable is set.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, sync_playwright

from explainers.models import Category, Explainer
from tests.helpers import image_upload, make_explainer, make_hero

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT / "test-artifacts"

WIDTHS = [375, 1280]
BLOCKING_IMPACTS = {"serious", "critical"}
LLM_FOUNDATIONS = "ai-principles/llm-foundations"
# The uploaded photo's colour; a placeholder is never this flat orange.
PHOTO_COLOUR = (200, 80, 40)


def require(present: bool, what: str):
    """Skip without ``what`` on a developer's machine; in CI (``CI`` set) fail instead."""
    if present:
        return
    if "CI" in os.environ:
        pytest.fail(f"{what} is missing, and CI is set: the browser tests must run in CI.")
    pytest.skip(f"{what} is missing (set CI to make this a failure).")


@pytest.fixture(scope="module")
def browser():
    """One chromium for the whole module; each test opens its own context and page."""
    require(CHROMIUM.exists(), str(CHROMIUM))
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio loop marked as running in this thread, and
        # Django then refuses ORM calls "from an async context". The tests' own code is
        # synchronous (the server runs in its own thread), so allow them for this module only.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe_script():
    require(AXE_SCRIPT.exists(), f"{AXE_SCRIPT.relative_to(PROJECT)} (run `make test`)")
    return AXE_SCRIPT


@pytest.fixture
def site(live_server, placeholder_renditions):
    """The fixture's sections, categories and 85 explainers, in live_server's database.

    live_server runs on a transactional database that is emptied after each test, so each
    test loads its own copy (placeholder hero files are drawn into the test's MEDIA_ROOT),
    and its renditions made as `make run` makes them (drawn once per session, see
    placeholder_renditions).
    """
    call_command("loaddata", "explainers", verbosity=0)
    call_command("make_renditions", "--missing", verbosity=0)
    return live_server


@pytest.fixture
def photo_explainer(site):
    """An explainer whose hero is a real uploaded JPEG, not a drawn placeholder."""
    hero = make_hero(
        image=image_upload("attention-heads.jpg", size=(1600, 900), color=PHOTO_COLOUR),
        alt_text="An orange sheet of paper on a desk",
        caption="Attention heads, drawn by hand.",
        credit="Photo: the explainers team",
    )
    return make_explainer(
        Category.objects.get(path=LLM_FOUNDATIONS),
        title="How attention heads share the work",
        hero=hero,
        position=1000,
        body="## In short\n\nEach head looks at the sequence its own way.\n\n- one\n- two\n",
    )


@dataclass
class Visit:
    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser):
    """Open a URL at a viewport width, recording console errors and uncaught exceptions."""
    contexts = []

    def open_page(url, width):
        context = browser.new_context(viewport={"width": width, "height": 800})
        contexts.append(context)
        visit = Visit(context.new_page())

        def on_console(message):
            if message.type == "error":
                visit.errors.append(f"console: {message.text} ({message.location.get('url')})")

        visit.page.on("console", on_console)
        visit.page.on("pageerror", lambda error: visit.errors.append(f"pageerror: {error}"))
        response = visit.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, f"{url} answered {response}"
        return visit

    yield open_page
    for context in contexts:
        context.close()


def load_every_image(page):
    """Scroll each <img> into view so lazy ones load, wait for all, return the broken ones."""
    page.evaluate(
        """async () => {
            for (const img of document.querySelectorAll("img")) {
                img.scrollIntoView({block: "center"});
                await new Promise((resolve) => requestAnimationFrame(resolve));
            }
        }"""
    )
    page.wait_for_function(
        "() => [...document.images].every((img) => img.complete)", timeout=15_000
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    return page.evaluate(
        """() => [...document.images]
            .filter((img) => img.naturalWidth === 0)
            .map((img) => img.currentSrc || img.src)"""
    )


def serious_axe_violations(page, axe_script):
    # Evaluated through the DevTools protocol, not added as a <script>: the site's
    # Content-Security-Policy rightly refuses inline script, and it stays on for these tests.
    page.evaluate(axe_script.read_text(encoding="utf-8"))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe(violations):
    lines = []
    for violation in violations:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:2])
        more = len(violation["nodes"]) - 2
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}; {targets}"
            + (f" and {more} more" if more > 0 else "")
        )
    return "\n".join(lines)


def assert_page_is_clean(visit, axe_script, artifact):
    """The checks every reader page passes, after a full-page screenshot for people."""
    page = visit.page
    ARTIFACTS.mkdir(exist_ok=True)
    broken = load_every_image(page)
    page.screenshot(path=ARTIFACTS / f"{artifact}.png", full_page=True)

    assert page.locator("img").count() > 0, "the page shows no image at all"
    assert broken == [], f"images that did not load: {broken}"
    assert visit.errors == [], "console errors:\n" + "\n".join(visit.errors)
    breadcrumbs = page.locator("nav[aria-label=Breadcrumb]")
    assert breadcrumbs.is_visible(), "breadcrumbs are not visible"
    current = breadcrumbs.locator("li [aria-current=page]")
    assert current.inner_text() == page.locator("h1").inner_text()
    violations = serious_axe_violations(page, axe_script)
    assert violations == [], "axe-core found serious or critical violations:\n" + describe(
        violations
    )


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_category_page_loads_cleanly_and_accessibly(axe_script, site, open_page, width):
    visit = open_page(f"{site.url}/{LLM_FOUNDATIONS}/", width)

    cards = visit.page.locator("article.card")
    assert cards.count() == 30
    images = cards.locator("picture img")
    assert images.count() == 30
    missing = images.evaluate_all(
        """imgs => imgs.flatMap((img) => ["alt", "width", "height", "srcset"]
            .filter((name) => !img.getAttribute(name))
            .map((name) => `${name} on ${img.src}`))"""
    )
    assert missing == [], missing
    # The first row (up to three cards) loads at once; the rest wait until scrolled to.
    loading = images.evaluate_all("imgs => imgs.map(img => img.getAttribute('loading'))")
    assert loading == [None] * 3 + ["lazy"] * 27
    assert_page_is_clean(visit, axe_script, f"category-{width}")


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_explainer_page_loads_cleanly_and_accessibly(axe_script, site, open_page, width):
    # The second in its category: it has a previous and a next explainer, and related cards.
    in_listing_order = Explainer.objects.filter(category__path=LLM_FOUNDATIONS).order_by(
        "position", "pk"
    )
    explainer = in_listing_order[1]
    visit = open_page(site.url + explainer.get_absolute_url(), width)

    assert visit.page.locator("h1").inner_text() == explainer.title
    assert_page_is_clean(visit, axe_script, f"explainer-{width}")


@pytest.mark.parametrize("width", WIDTHS, ids=[f"at_{width}px" for width in WIDTHS])
def test_explainer_with_an_uploaded_jpeg_hero_shows_the_photo(
    axe_script, site, photo_explainer, open_page, width
):
    visit = open_page(site.url + photo_explainer.get_absolute_url(), width)

    assert_page_is_clean(visit, axe_script, f"explainer-photo-{width}")
    hero = visit.page.locator(".hero img")
    source = hero.evaluate("img => img.currentSrc")
    assert "/images/" in source and photo_explainer.hero.image.name in source, source
    # Read a pixel back: the browser decoded the upload's rendition, not a placeholder.
    pixel = hero.evaluate(
        """img => {
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            return [...context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data];
        }"""
    )
    assert all(abs(a - b) <= 12 for a, b in zip(pixel[:3], PHOTO_COLOUR, strict=True)), pixel

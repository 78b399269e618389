"""The focal point editor in a real browser: an editor clicks the subject of a hero image,
drags a box round it, watches every crop preview follow, saves, and the drawn renditions keep
the subject. axe-core checks the change form at a desktop and a phone width.

The image is a real file drawn with Pillow (a red subject at the left edge of a blue picture).
Chromium, the skip-or-fail rule and axe come from tests/test_browser.py, signing in from
tests/test_admin_browser.py; Django's own admin markup that axe flags, and the quiet server
at teardown, from tests/test_editorial_browser.py. Screenshots land in
test-artifacts/admin-focal-point-*.png.
Run: `CI=1 .venv/bin/python -m pytest tests/test_focal_points_browser.py`.
"""

# The fixtures imported below are taken as test parameters: not redefinitions.
# ruff: noqa: F811

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from explainers.images import CROPS, FocalPoint, crop_previews
from explainers.models import HeroImage
from tests.helpers import make_hero
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
)
from tests.test_editorial_browser import (  # noqa: F401  (two autouse fixtures)
    background_requests_off,
    fresh,
    quiet_server_at_teardown,
    serious_violations_of_ours,
)
from tests.test_focal_points import red_share, subject_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def roles(browser):
    # After browser, which allows ORM calls next to Playwright's running event loop.
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def hero():
    """A 2400 × 800 picture with its subject in the leftmost tenth, no focal point yet, its
    renditions made (live_server's database commits, and the tests' tasks run at once)."""
    return make_hero(image=subject_image(), alt_text="A red post at the left of a blue wall")


def change_page(live_server, sign_in, hero, width=1280):
    visit = sign_in(make_user("eddie", "Editors"))
    page = visit.page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/admin/explainers/heroimage/{hero.pk}/change/")
    expect(page.locator("[data-focal-image]")).to_be_visible()
    page.locator("[data-focal-image]").evaluate("img => img.decode()")
    return visit


def preview_styles(page) -> list[dict]:
    """Where each preview places the image (CSS percentages), and where it is on screen."""
    return page.locator("[data-focal-preview]").evaluate_all(
        """images => images.map(img => ({
            width: parseFloat(img.style.width), left: parseFloat(img.style.left),
            top: parseFloat(img.style.top),
            computedLeft: parseFloat(getComputedStyle(img).left),
        }))"""
    )


def placement(styles) -> list[tuple[float, float, float]]:
    return [(s["width"], s["left"], s["top"]) for s in styles]


def as_server_draws(focal: FocalPoint | None) -> list[tuple[float, float, float]]:
    """The same placements from the server's crop rule (explainers/images.py)."""
    return [
        (float(p["width"][:-1]), float(p["left"][:-1]), float(p["top"][:-1]))
        for p in crop_previews(2400, 800, focal)
    ]


def test_a_click_on_the_subject_moves_every_crop_preview_and_the_saved_renditions_keep_it(
    live_server, sign_in, hero, media_root
):
    visit = change_page(live_server, sign_in, hero)
    page = visit.page
    stage = page.locator("[data-focal-stage]")
    before = preview_styles(page)
    assert len(before) == len(CROPS)
    # Centred: the card's frame starts 489 px into the picture.
    assert placement(before) == as_server_draws(None)

    box = stage.bounding_box()
    stage.click(position={"x": box["width"] * 0.05, "y": box["height"] * 0.5})

    assert page.locator("input[name=focal_x]").input_value() == "0.05"
    assert page.locator("input[name=focal_y]").input_value() == "0.5"
    expect(page.locator("[data-focal-marker]")).to_be_visible()
    after = preview_styles(page)
    # Both frames moved to the left edge, exactly where the server's rule puts them.
    assert placement(after) == as_server_draws(FocalPoint(0.05, 0.5))
    for old, new in zip(before, after, strict=True):
        assert old["computedLeft"] < 0 and new["computedLeft"] == 0
    screenshot(page, "focal-point-clicked")

    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")
    assert_no_console_errors(visit)

    hero = fresh(hero)  # read once the live server is quiet (SQLite in memory)
    assert (hero.focal_x, hero.focal_y, hero.focal_width) == (0.05, 0.5, None)
    assert hero.renditions_ready
    for rendition in [*hero.card_renditions("jpg"), hero.social_rendition()]:
        assert red_share((media_root / rendition.name).read_bytes()) > 0.12, rendition.name


def test_a_drag_draws_a_box_round_the_subject_and_the_numbers_work_by_keyboard(
    live_server, sign_in, hero
):
    visit = change_page(live_server, sign_in, hero)
    page = visit.page
    box = page.locator("[data-focal-stage]").bounding_box()

    def at(x, y):
        return box["x"] + box["width"] * x, box["y"] + box["height"] * y

    page.mouse.move(*at(0.1, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.2, 0.5), steps=4)
    page.mouse.move(*at(0.3, 0.8), steps=4)
    page.mouse.up()

    values = {
        name: page.locator(f"input[name={name}]").input_value()
        for name in ("focal_x", "focal_y", "focal_width", "focal_height")
    }
    assert values == {
        "focal_x": "0.2",
        "focal_y": "0.5",
        "focal_width": "0.2",
        "focal_height": "0.6",
    }
    expect(page.locator("[data-focal-box]")).to_be_visible()

    # By keyboard: the labelled number field, and its arrow keys.
    across = page.get_by_label("Subject, across")
    across.fill("0.9")
    across.press("ArrowUp")
    assert across.input_value() == "0.91"
    assert placement(preview_styles(page)) == as_server_draws(FocalPoint(0.91, 0.5))

    page.get_by_role("button", name="Back to the centre").click()
    assert page.locator("input[name=focal_x]").input_value() == ""
    expect(page.locator("[data-focal-marker]")).to_be_hidden()
    assert placement(preview_styles(page)) == as_server_draws(None)
    assert_no_console_errors(visit)


@pytest.mark.parametrize("width", [1280, 390], ids=["at_1280px", "at_390px"])
def test_the_hero_change_form_has_no_serious_accessibility_violation(
    live_server, sign_in, hero, axe_script, width
):
    HeroImage.objects.filter(pk=hero.pk).update(focal_x=0.05, focal_y=0.5)
    visit = change_page(live_server, sign_in, hero, width)
    page = visit.page
    expect(page.locator("[data-focal-marker]")).to_be_visible()
    screenshot(page, f"focal-point-{width}")

    violations = serious_violations_of_ours(page, axe_script)

    assert violations == [], "axe-core found serious or critical violations:\n" + describe(
        violations
    )
    # Nothing runs off the side of a phone.
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"
    assert_no_console_errors(visit)

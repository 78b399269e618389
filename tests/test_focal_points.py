"""Focal points, and renditions made when an image is saved rather than when a reader asks.

The images are real files drawn with Pillow: a subject (red) near one edge of a blue picture.
The drawn renditions are opened and their pixels counted, so "the subject stays in the crop"
means red pixels in the file a reader's browser gets. Background tasks run at once in tests
(tests/conftest.py), except where a test runs the database queue's own worker.
"""

import io
import json
import logging
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tasks.signals import task_enqueued
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from explainers.images import (
    CARD_ASPECT,
    CROPS,
    FocalPoint,
    crop_box,
    crop_previews,
    object_position,
)
from explainers.models import HeroImage

from .helpers import (
    make_category,
    make_explainer,
    make_hero,
    opened_form,
    page_soup,
)
from .test_admin import make_user, signed_in

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent
FOCAL_POINT_JS = PROJECT / "static" / "explainers" / "admin" / "focal-point.js"
RED, BLUE = (220, 30, 30), (30, 60, 200)
ADD = "/admin/explainers/heroimage/add/"


def subject_image(size=(2400, 800), subject=(0, 0, 0.1, 1), name="subject.png"):
    """A blue PNG with a red subject filling ``subject`` (left, top, right, bottom, as
    fractions): by default the leftmost tenth. PNG, so no compression smears the colours."""
    width, height = size
    image = Image.new("RGB", size, BLUE)
    left, top, right, bottom = subject
    box = [left * width, top * height, right * width - 1, bottom * height - 1]
    ImageDraw.Draw(image).rectangle(box, fill=RED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def red_share(data: bytes) -> float:
    """The share of an image's pixels that are the subject's red."""
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB").reduce(4)
    pixels = small.tobytes()
    red = sum(
        1
        for r, g, b in zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True)
        if r > 150 and g < 100 and b < 100
    )
    return red / (small.width * small.height)


def fetched(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def stored_files(media_root):
    return {p: p.stat().st_mtime_ns for p in media_root.rglob("*") if p.is_file()}


def drew(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Drew ")]


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def editor():
    return signed_in(make_user("eddie", "Editors"))


@pytest.fixture
def upload(editor, django_capture_on_commit_callbacks):
    """Upload a hero through the admin as an editor does, its save committed (the tests'
    database never commits, so the callbacks waiting for it are run), and show it on a
    published explainer so that readers may fetch it."""

    def upload(file, **focal):
        data = {"image": file, "alt_text": "A red subject", "caption": "", "credit": ""}
        with django_capture_on_commit_callbacks(execute=True):
            response = editor.post(ADD, {**data, **focal})
        assert response.status_code == 302, page_soup(response).select(".errorlist")
        hero = HeroImage.objects.latest("pk")
        make_explainer(make_category(f"Shelf {hero.pk}"), f"Shows hero {hero.pk}", hero=hero)
        return hero

    return upload


def card_image_urls(client, hero) -> list[str]:
    """Every address a reader's browser may load for the hero's card, as the page gives them."""
    soup = page_soup(client.get(f"/shelf-{hero.pk}/"))
    (picture,) = soup.select("article.card picture")
    urls = [picture.img["src"]]
    for tag, attribute in ((picture.source, "srcset"), (picture.img, "srcset")):
        urls += [part.split()[0] for part in tag[attribute].split(",")]
    return urls


def link_preview_url(client, hero) -> str:
    soup = page_soup(client.get(f"/shelf-{hero.pk}/shows-hero-{hero.pk}/"))
    return soup.select_one('meta[property="og:image"]')["content"].removeprefix("http://testserver")


# The crop rule


@pytest.mark.parametrize(
    "width, height, aspect, focal, expected",
    [
        # A wide image cut to 16:9 is 1422 px wide: centred without a focal point...
        (2400, 800, (16, 9), None, (489, 0, 1911, 800)),
        # ...against the left edge for a subject near it, the right edge for one near that,
        (2400, 800, (16, 9), FocalPoint(0.05, 0.5), (0, 0, 1422, 800)),
        (2400, 800, (16, 9), FocalPoint(0.95, 0.5), (978, 0, 2400, 800)),
        # ...and centred on a subject away from the edges (960 px in, 711 px either side).
        (2400, 800, (16, 9), FocalPoint(0.4, 0.5), (249, 0, 1671, 800)),
        # A tall image: the frame moves up and down instead (900 × 506 of it).
        (900, 1600, (16, 9), FocalPoint(0.5, 0.05), (0, 0, 900, 506)),
        (900, 1600, (16, 9), None, (0, 547, 900, 1053)),
        (900, 1600, (1200, 630), FocalPoint(0.5, 0.97), (0, 1127, 900, 1600)),
        # Already the shape: the whole image, wherever the subject is.
        (1600, 900, (16, 9), FocalPoint(0.9, 0.1), (0, 0, 1600, 900)),
        # A box wider than the frame can hold: its centre is kept.
        (2400, 800, (16, 9), FocalPoint(0.5, 0.5, 0.9, 0.2), (489, 0, 1911, 800)),
        (1, 1, (1200, 630), None, (0, 0, 1, 1)),
    ],
)
def test_the_crop_rule_on_edge_cases(width, height, aspect, focal, expected):
    assert crop_box(width, height, aspect, focal) == expected


fractions = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def images_and_focal_points(draw):
    width = draw(st.integers(min_value=1, max_value=6000))
    height = draw(st.integers(min_value=1, max_value=6000))
    aspect = draw(
        st.sampled_from([crop.aspect for crop in CROPS])
        | st.tuples(st.integers(1, 50), st.integers(1, 50))
    )
    x, y = draw(fractions), draw(fractions)
    # A box around (x, y) that stays inside the image, as the form requires; or none.
    box_width = (
        draw(st.floats(min_value=0, max_value=2 * min(x, 1 - x))) if draw(st.booleans()) else 0
    )
    box_height = draw(st.floats(min_value=0, max_value=2 * min(y, 1 - y))) if box_width else 0
    return width, height, aspect, FocalPoint(x, y, box_width, box_height)


@given(images_and_focal_points())
def test_every_crop_keeps_the_focal_point_and_its_box_inside_and_is_as_large_as_it_can_be(case):
    width, height, aspect, focal = case

    left, top, right, bottom = crop_box(width, height, aspect, focal)

    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    crop_width, crop_height = right - left, bottom - top
    # The largest of its shape: all of the image's width or all of its height.
    assert crop_width == width or crop_height == height
    # Of the shape asked for, within half a pixel of the side that was cut (a side is never
    # less than one pixel).
    if crop_height < height:
        assert abs(crop_height - crop_width * aspect[1] / aspect[0]) <= 0.5 or crop_height == 1
    if crop_width < width:
        assert abs(crop_width - crop_height * aspect[0] / aspect[1]) <= 0.5 or crop_width == 1
    # The subject is in the frame...
    assert left <= focal.x * width <= right and top <= focal.y * height <= bottom
    # ...and so is its box whenever the frame can hold it (half a pixel for rounding).
    if focal.width * width <= crop_width - 1:
        assert left - 0.5 <= (focal.x - focal.width / 2) * width
        assert (focal.x + focal.width / 2) * width <= right + 0.5
    if focal.height * height <= crop_height - 1:
        assert top - 0.5 <= (focal.y - focal.height / 2) * height
        assert (focal.y + focal.height / 2) * height <= bottom + 0.5
    # Centred on it, unless an edge is in the way.
    if 0 < left and right < width:
        assert abs((left + right) / 2 - focal.x * width) <= 0.5
    if 0 < top and bottom < height:
        assert abs((top + bottom) / 2 - focal.y * height) <= 0.5


def test_the_admin_previews_crop_with_the_same_rule_as_the_server():
    """The JavaScript of the admin's previews, run by node on the same cases: the same pixels."""
    source = FOCAL_POINT_JS.read_text()
    rule = source[source.index("  const halfUp") : source.index("  const hundredths")]
    generator = random.Random(14578)
    cases = [
        (2400, 800, [16, 9], [0.05, 0.5]),
        (900, 1600, [1200, 630], [0.5, 0.97]),
        (1201, 677, [16, 9], [0.5, 0.5]),  # halves to round
        (1, 1, [1200, 630], None),
    ] + [
        (
            generator.randint(1, 5000),
            generator.randint(1, 5000),
            list(generator.choice([crop.aspect for crop in CROPS])),
            [round(generator.random(), 2), round(generator.random(), 2)],
        )
        for _ in range(500)
    ]
    script = (
        rule
        + f"const cases = {json.dumps(cases)};\n"
        + "console.log(JSON.stringify(cases.map(([w, h, a, f]) => {"
        + " const c = cropBox(w, h, a, f && {x: f[0], y: f[1]});"
        + " return [c.left, c.top, c.left + c.width, c.top + c.height]; })));"
    )
    node = shutil.which("node")
    assert node, "node runs the admin's JavaScript"

    result = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)

    in_javascript = [tuple(box) for box in json.loads(result.stdout)]
    in_python = [crop_box(w, h, tuple(a), f and FocalPoint(f[0], f[1])) for w, h, a, f in cases]
    assert in_javascript == in_python


# What readers get: the subject in every crop


def test_a_subject_near_the_left_edge_stays_in_the_card_and_link_preview_crops(client, upload):
    hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")

    cards = card_image_urls(client, hero)
    preview = link_preview_url(client, hero)

    assert len(cards) == 7  # src, then three WebP and three JPEG widths
    assert all(f"-{hero.renditions_key}." in url for url in [*cards, preview])
    for url in [*cards, preview]:
        # The subject is a tenth of the image and about a sixth of a card: some 17% red.
        assert red_share(fetched(client, url)) > 0.12, url
    with Image.open(io.BytesIO(fetched(client, preview))) as image:
        assert image.size == (1200, 630)


def test_without_a_focal_point_the_same_crops_lose_that_subject(client, upload):
    hero = upload(subject_image())

    for url in [*card_image_urls(client, hero), link_preview_url(client, hero)]:
        assert red_share(fetched(client, url)) == 0, url


def test_a_subject_at_the_top_of_a_portrait_image_stays_in_its_crops(client, upload):
    centred = upload(subject_image((900, 1600), subject=(0, 0, 1, 0.1), name="tall.png"))
    focused = upload(
        subject_image((900, 1600), subject=(0, 0, 1, 0.1), name="tall.png"),
        focal_x="0.5",
        focal_y="0.05",
    )

    for url in [*card_image_urls(client, centred), link_preview_url(client, centred)]:
        assert red_share(fetched(client, url)) == 0, url
    for url in [*card_image_urls(client, focused), link_preview_url(client, focused)]:
        assert red_share(fetched(client, url)) > 0.1, url


def red_columns(data: bytes) -> list[int]:
    """The columns of an image's middle row that are the subject's red."""
    with Image.open(io.BytesIO(data)) as image:
        row = image.convert("RGB").crop((0, image.height // 2, image.width, image.height // 2 + 1))
    pixels = row.tobytes()
    return [x for x in range(row.width) if pixels[3 * x] > 150 and pixels[3 * x + 1] < 100]


@pytest.mark.parametrize("focal", [{}, {"focal_width": "0.3", "focal_height": "0.6"}])
def test_a_subject_drawn_as_a_box_stays_whole_in_the_crops(client, upload, focal):
    # The subject spans 5–35% across (720 of 2400 px); the card's frame is 1422 px wide.
    # Centred on the image (489–1911 px) it would keep a sliver; around the subject, all.
    hero = upload(
        subject_image(subject=(0.05, 0.2, 0.35, 0.8)), focal_x="0.2", focal_y="0.5", **focal
    )
    widest = hero.card_renditions("jpg")[-1]  # 1200 × 675: the frame at 1200 / 1422

    columns = red_columns(fetched(client, widest.url))

    scale = widest.width / 1422
    assert len(columns) == pytest.approx(720 * scale, abs=3)
    assert columns[0] == pytest.approx(120 * scale, abs=2)  # blue to its left: not cut


def test_without_a_focal_point_a_subject_near_the_edge_is_cut(client, upload):
    hero = upload(subject_image(subject=(0.05, 0.2, 0.35, 0.8)))

    columns = red_columns(fetched(client, hero.card_renditions("jpg")[-1].url))

    # The frame starts at 489 px: only the subject's right half (489–840 px) is left.
    assert columns[0] == 0 and len(columns) == pytest.approx(351 * 1200 / 1422, abs=3)


def test_a_new_focal_point_redraws_the_crops_under_new_names_and_keeps_the_widths(
    client, editor, upload, media_root, django_capture_on_commit_callbacks
):
    hero = upload(subject_image())
    old_key, old_cards = hero.renditions_key, card_image_urls(client, hero)
    width_file = media_root / hero.rendition(800, "webp").name
    width_written = width_file.stat().st_mtime_ns
    change = f"/admin/explainers/heroimage/{hero.pk}/change/"

    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(
            change, {**opened_form(editor, change), "focal_x": "0.05", "focal_y": "0.5"}
        )

    assert response.status_code == 302
    hero.refresh_from_db()
    assert hero.renditions_ready and hero.renditions_key != old_key
    new_cards = card_image_urls(client, hero)  # the cached page is out of date: a new one
    assert set(new_cards).isdisjoint(old_cards)
    assert all(red_share(fetched(client, url)) > 0.12 for url in new_cards)
    # The old crops are deleted (a day later on the worker; at once with the tests' tasks)...
    assert all(client.get(url).status_code == 404 for url in old_cards)
    assert not list(media_root.rglob(f"*-{old_key}.*"))
    # ...and the widths, which do not depend on the focal point, were not drawn again.
    assert width_file.stat().st_mtime_ns == width_written


# Made before the first reader asks; never drawn during a request


def test_renditions_exist_before_the_first_reader_request_which_draws_nothing(
    client, upload, media_root, caplog
):
    hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")
    assert all((media_root / r.name).exists() for r in hero.all_renditions())
    before = stored_files(media_root)
    caplog.clear()

    with caplog.at_level(logging.INFO):
        pages = [f"/shelf-{hero.pk}/", f"/shelf-{hero.pk}/shows-hero-{hero.pk}/"]
        for page in pages:
            soup = page_soup(client.get(page))
            for image in soup.select("img"):
                for url in [image["src"], *(p.split()[0] for p in image["srcset"].split(","))]:
                    assert client.get(url).status_code == 200

    assert drew(caplog) == []
    assert stored_files(media_root) == before


def test_a_rendition_missing_from_storage_is_a_404_and_is_not_drawn_by_the_request(
    client, upload, media_root, caplog
):
    hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")
    lost = hero.card_renditions("webp")[0]
    (media_root / lost.name).unlink()
    caplog.clear()

    with caplog.at_level(logging.INFO):
        response = client.get(lost.url)

    assert response.status_code == 404
    assert not (media_root / lost.name).exists()
    assert drew(caplog) == []


def test_until_the_renditions_are_made_pages_show_the_original_cropped_like_the_server(client):
    hero = make_hero(
        image=subject_image(), renditions=False, focal_x=0.05, focal_y=0.5, alt_text="Red"
    )
    make_explainer(make_category("Shelf"), "Waiting", hero=hero)

    detail = page_soup(client.get("/shelf/waiting/"))
    card = page_soup(client.get("/shelf/")).select_one("article.card img")

    original = f"/images/{hero.image.name}/original.png"
    image = detail.select_one(".hero img")
    assert (image["src"], image["width"], image["height"], image["alt"]) == (
        original,
        "2400",
        "800",
        "Red",
    )
    assert not image.has_attr("srcset")
    assert card["src"] == original and (card["width"], card["height"]) == ("2400", "800")
    # object-fit: cover (site.css) crops it in the browser to the frame the server would draw;
    # the Content-Security-Policy lets that style attribute apply.
    assert card["style"] == "object-position: 0.0% 50.0%"
    policy = client.get("/shelf/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert object_position(2400, 800, CARD_ASPECT, hero.focal_point) == "0.0% 50.0%"
    og = detail.select_one('meta[property="og:image"]')["content"]
    assert og == f"http://testserver{original}"
    assert detail.select_one('meta[property="og:image:width"]')["content"] == "2400"
    assert fetched(client, original) == (Path(hero.image.path)).read_bytes()


def test_the_original_of_an_image_no_reader_sees_is_for_staff_only(client):
    hero = make_hero(image=subject_image(), renditions=False)
    staff = signed_in(make_user("cora", "Contributors"))
    url = hero.original_image().url

    assert client.get(url).status_code == 404
    assert staff.get(url).status_code == 200


# A failing task is retried and reported


def block_renditions_folder(media_root):
    """Make storage refuse every rendition: a file where the renditions folder goes (a real
    failure of the filesystem, which no permission bit would give the root user)."""
    media_root.mkdir(parents=True, exist_ok=True)
    (media_root / "renditions").write_text("not a folder")


def test_a_failing_task_is_retried_then_reported_to_the_editor_and_in_the_log(
    client, editor, upload, media_root, caplog
):
    block_renditions_folder(media_root)

    with caplog.at_level(logging.ERROR, logger="explainers.tasks"):
        hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")

    failures = [r.getMessage() for r in caplog.records if r.name == "explainers.tasks"]
    assert len(failures) == 3
    assert "retrying (attempt 1 of 3)" in failures[0]
    assert "retrying (attempt 2 of 3)" in failures[1]
    assert failures[2].startswith("Renditions failed after 3 tries: NotADirectoryError")
    hero.refresh_from_db()
    assert not hero.renditions_ready
    change = f"/admin/explainers/heroimage/{hero.pk}/change/"
    shown = page_soup(editor.get(change)).select_one(".renditions-problem").get_text()
    assert shown.startswith("Renditions failed after 3 tries: NotADirectoryError")
    # Readers meanwhile get the original, never a broken image.
    assert (
        page_soup(client.get(f"/shelf-{hero.pk}/")).select_one("article.card img")["src"]
        == hero.original_image().url
    )

    (media_root / "renditions").unlink()
    call_command("make_renditions", "--missing", stdout=io.StringIO())

    hero.refresh_from_db()
    assert hero.renditions_ready and hero.renditions_problem == ""
    assert (
        "Made, for the file and focal point as saved." in page_soup(editor.get(change)).get_text()
    )


@pytest.mark.django_db(transaction=True)
def test_the_database_queue_retries_a_failed_task_later_and_the_retry_succeeds(
    settings, media_root
):
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("setup_roles", stdout=io.StringIO())
    editor = signed_in(make_user("eddie", "Editors"))
    block_renditions_folder(media_root)

    def run_worker():
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()

    data = {"image": subject_image(), "alt_text": "A red subject", "caption": "", "credit": ""}
    assert editor.post(ADD, {**data, "focal_x": "0.05", "focal_y": "0.5"}).status_code == 302
    hero = HeroImage.objects.get()
    assert DBTaskResult.objects.get().status == "READY"  # queued on commit, not drawn

    run_worker()

    first, retry = DBTaskResult.objects.order_by("enqueued_at")
    assert first.status == "FAILED" and "NotADirectoryError" in first.exception_class_path
    assert retry.status == "READY" and retry.args_kwargs["kwargs"]["attempt"] == 2
    assert retry.run_after > timezone.now() + timezone.timedelta(seconds=50)
    hero.refresh_from_db()
    assert "retrying (attempt 1 of 3)" in hero.renditions_problem
    change = f"/admin/explainers/heroimage/{hero.pk}/change/"
    assert "retrying (attempt 1 of 3)" in editor.get(change).content.decode()

    (media_root / "renditions").unlink()
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=2)):
        run_worker()

    retry.refresh_from_db()
    assert retry.status == "SUCCESSFUL"
    hero.refresh_from_db()
    assert hero.renditions_ready and hero.renditions_problem == ""
    assert all((media_root / r.name).exists() for r in hero.all_renditions())
    # The old crops' clean-up waits a day, for pages cached with their addresses.
    cleanup = DBTaskResult.objects.get(task_path="explainers.tasks.delete_stale_crops")
    assert cleanup.status == "READY" and cleanup.run_after > timezone.now() + timezone.timedelta(
        hours=23
    )


# Many heroes, one file: drawn once


def test_an_import_queues_one_task_per_shared_placeholder_file_not_per_hero(
    placeholder_renditions, django_capture_on_commit_callbacks
):
    queued = []

    def count(sender, task_result, **kwargs):
        if task_result.task.name == "make_renditions":
            queued.append(task_result.kwargs["original"])

    task_enqueued.connect(count)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            call_command(
                "import_listings", "fixtures/listings", parent="AI Principles", stdout=io.StringIO()
            )
    finally:
        task_enqueued.disconnect(count)

    heroes = HeroImage.objects.all()
    assert heroes.count() > len(queued) == len(set(queued)) == len({h.image.name for h in heroes})
    assert all(hero.renditions_ready for hero in heroes)


# The ops command


def test_make_renditions_draws_what_is_missing_and_fails_loudly_on_a_broken_file(
    client, media_root
):
    heroes = [make_hero(image=subject_image(name=f"{n}.png"), renditions=False) for n in range(3)]
    broken = heroes[2]
    Path(broken.image.path).write_bytes(b"this is no longer an image")

    out = io.StringIO()
    call_command("make_renditions", "--missing", "--dry-run", stdout=out)
    assert out.getvalue() == "Would make the renditions of 3 images.\n"
    assert not (media_root / "renditions").exists()

    with pytest.raises(CommandError) as failure:
        call_command("make_renditions", "--missing", stdout=io.StringIO())

    assert f"The renditions of 1 of 3 images failed:\n{broken.image.name}: " in str(failure.value)
    for hero in heroes:
        hero.refresh_from_db()
    assert [hero.renditions_ready for hero in heroes] == [True, True, False]
    assert broken.renditions_problem.startswith("Renditions failed (make_renditions): ")

    out = io.StringIO()
    Path(broken.image.path).write_bytes(subject_image().read())
    call_command("make_renditions", "--missing", stdout=out)
    assert out.getvalue() == "Renditions of 1 image ready: 13 files drawn.\n"


def test_make_renditions_shows_a_progress_bar_on_a_terminal():
    make_hero(image=subject_image(), renditions=False)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    call_command("make_renditions", stdout=out)

    assert "100%" in out.getvalue() and "subject.png" in out.getvalue()
    assert out.getvalue().rstrip().endswith("Renditions of 1 image ready: 13 files drawn.")


# The focal point in the admin


def test_the_change_form_offers_labelled_number_fields_and_previews_of_every_crop(editor, upload):
    hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")

    soup = page_soup(editor.get(f"/admin/explainers/heroimage/{hero.pk}/change/"))

    for name, label in [
        ("focal_x", "Subject, across"),
        ("focal_y", "Subject, down"),
        ("focal_width", "Subject box, width"),
        ("focal_height", "Subject box, height"),
    ]:
        field = soup.select_one(f"input[name={name}]")
        assert field["type"] == "number" and (field["min"], field["max"]) == ("0", "1")
        assert soup.select_one(f"label[for={field['id']}]").get_text(strip=True) == f"{label}:"
    assert soup.select_one("input[name=focal_x]")["value"] == "0.05"
    previews = soup.select(".focal-preview")
    assert [p.figcaption.strong.get_text() for p in previews] == [c.label for c in CROPS]
    # The frames show the saved crops without JavaScript too: the server's rule, in CSS.
    expected = crop_previews(2400, 800, FocalPoint(0.05, 0.5))
    for preview, crop in zip(previews, expected, strict=True):
        style = preview.select_one("img")["style"]
        assert style == f"width: {crop['width']}; left: {crop['left']}; top: {crop['top']}"
    assert soup.select_one(".focal-editor-marker")["style"] == "left: 5.00%; top: 50.00%"
    scripts = [s["src"] for s in soup.select("script[src]")]
    assert any(src.endswith("explainers/admin/focal-point.js") for src in scripts)
    assert not [s for s in soup.select("script:not([src])") if s.get("type") != "application/json"]


@pytest.mark.parametrize(
    "focal, field, message",
    [
        ({"focal_x": "0.3"}, "focal_y", "Give both numbers of the focal point"),
        (
            {"focal_x": "0.3", "focal_y": "0.5", "focal_width": "0.2"},
            "focal_height",
            "both a width",
        ),
        ({"focal_width": "0.2", "focal_height": "0.2"}, "focal_width", "needs its centre"),
        (
            {"focal_x": "0.05", "focal_y": "0.5", "focal_width": "0.3", "focal_height": "0.2"},
            "focal_width",
            "reaches past the edge",
        ),
        ({"focal_x": "1.5", "focal_y": "0.5"}, "focal_x", "less than or equal to 1"),
    ],
)
def test_a_focal_point_that_makes_no_sense_is_refused_with_the_field_named(
    editor, focal, field, message
):
    data = {"image": subject_image(), "alt_text": "A red subject", "caption": "", "credit": ""}

    response = editor.post(ADD, {**data, **focal})

    assert response.status_code == 200
    row = page_soup(response).select_one(f".field-{field}")
    assert message in row.select_one(".errorlist").get_text()
    assert not HeroImage.objects.exists()


def test_someone_who_may_not_change_a_live_image_sees_its_crops_without_the_controls(upload):
    hero = upload(subject_image(), focal_x="0.05", focal_y="0.5")
    contributor = signed_in(make_user("cora", "Contributors"))

    soup = page_soup(contributor.get(f"/admin/explainers/heroimage/{hero.pk}/change/"))

    assert soup.select_one("[data-focal-editor]") is not None
    assert len(soup.select(".focal-preview img")) == len(CROPS)
    assert soup.select_one("input[name=focal_x]") is None
    assert Client().get(f"/admin/explainers/heroimage/{hero.pk}/change/").status_code == 302

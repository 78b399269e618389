"""Hero renditions: drawn with Pillow by a background task when an image is saved, kept under
media/, served from storage with long caching. A request never draws anything."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from explainers.images import DECLARED_RENDITIONS, rendition_name

from .helpers import image_upload, make_category, make_explainer, make_hero

pytestmark = pytest.mark.django_db


def shown_hero(**fields):
    """A hero that a published explainer shows: readers may fetch its renditions."""
    hero = make_hero(**fields)
    make_explainer(make_category(f"Category {hero.pk}"), f"Shows hero {hero.pk}", hero=hero)
    return hero


def fetch(client, url):
    response = client.get(url)
    return response, b"".join(response.streaming_content) if response.status_code == 200 else b""


def stored_files(media_root):
    """Every file in storage, with when it was last written."""
    return {p: p.stat().st_mtime_ns for p in media_root.rglob("*") if p.is_file()}


def rendition_files(media_root):
    folder = media_root / "renditions"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("extension, pillow_format", [("webp", "WEBP"), ("jpg", "JPEG")])
def test_a_rendition_is_made_when_the_image_is_saved_and_served_as_stored(
    client, media_root, extension, pillow_format
):
    hero = shown_hero(image=image_upload(size=(1600, 900)))
    (rendition,) = [r for r in hero.renditions(extension) if r.width == 800]
    stored = media_root / rendition_name(hero.image.name, "800", extension)
    assert stored.exists()  # before anyone asked for it
    before = stored_files(media_root)

    response, body = fetch(client, rendition.url)

    assert response.status_code == 200
    assert response["Content-Type"] == f"image/{'jpeg' if extension == 'jpg' else 'webp'}"
    assert "immutable" in response["Cache-Control"]
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == (pillow_format, (800, 450))
    assert stored.read_bytes() == body
    assert stored_files(media_root) == before


def test_renditions_are_never_wider_than_the_original_and_all_of_them_load(client):
    hero = shown_hero(image=image_upload(size=(640, 360)))

    renditions = hero.renditions("jpg")

    assert [(r.width, r.height) for r in renditions] == [(400, 225), (640, 360)]
    for rendition in renditions:
        response, body = fetch(client, rendition.url)
        with Image.open(io.BytesIO(body)) as image:
            assert image.size == (rendition.width, rendition.height)


def test_the_social_rendition_is_cropped_to_1200_by_630(client):
    hero = shown_hero(image=image_upload(size=(1600, 1600)))

    response, body = fetch(client, hero.social_rendition().url)

    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == ("JPEG", (1200, 630))


def test_a_lost_placeholder_is_drawn_again_by_make_renditions_not_by_a_request(client, media_root):
    call_command("loaddata", "explainers", verbosity=0)
    placeholders = media_root / "heroes" / "placeholders"
    lost = sorted(placeholders.iterdir())[0]
    lost.unlink()

    assert client.get(f"/images/heroes/placeholders/{lost.name}/original.png").status_code == 404
    assert client.get(f"/images/heroes/placeholders/{lost.name}/400.webp").status_code == 404
    assert not lost.exists() and rendition_files(media_root) == []

    call_command("make_renditions", "--missing", stdout=io.StringIO())

    response, body = fetch(client, f"/images/heroes/placeholders/{lost.name}/400.webp")
    assert response.status_code == 200 and body
    assert lost.exists()


def test_renditions_drop_location_metadata(client):
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo: latitude
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), (10, 120, 200)).save(buffer, format="JPEG", exif=exif)
    hero = shown_hero(image=SimpleUploadedFile("geotagged.jpg", buffer.getvalue()))

    response, body = fetch(client, hero.rendition(400, "jpg").url)

    with Image.open(io.BytesIO(body)) as image:
        assert not image.getexif()
        assert image.size == (400, 600)  # orientation applied: portrait


@pytest.mark.parametrize(
    "url",
    [
        "/images/heroes/x.jpg/800.gif",
        "/images/heroes/placeholders/x.png/801.jpg",
        "/images/heroes/missing.jpg/800.jpg",
        "/images/../site_config/settings.py/800.jpg",
        "/images/secrets/key.jpg/800.jpg",
        "/images/secrets/key.jpg/original.jpg",
        "/images/heroes/placeholders/variant-00.png/1200x630.jpg",  # a crop needs its key
        "/images/heroes/placeholders/variant-00.png/800-0123456789ab.jpg",  # a width has none
    ],
)
def test_unknown_or_unsafe_renditions_are_404(client, url):
    assert client.get(url).status_code == 404


def test_a_file_that_is_not_an_image_is_404_not_500(client, media_root):
    (media_root / "heroes").mkdir(parents=True)
    (media_root / "heroes" / "fake.jpg").write_bytes(b"not an image at all")

    assert client.get("/images/heroes/fake.jpg/400.jpg").status_code == 404


def test_asking_for_made_up_placeholder_names_writes_nothing(client, media_root):
    for name in ["evil.png", "variant-99.png", "variant-01.png.png", "../variant-01.png"]:
        assert client.get(f"/images/400.jpg/heroes/placeholders/{name}").status_code == 404
        assert client.get(f"/images/heroes/placeholders/{name}/400.jpg").status_code == 404

    assert not media_root.exists() or not any(media_root.rglob("*.*"))


SPELLINGS_OF_400 = ["0400", "00400", "٤٠٠", "۴۰۰", "４００", "400 ", "+400", "400.0"]


@pytest.mark.parametrize("size", SPELLINGS_OF_400)
def test_other_spellings_of_a_size_are_404_and_write_nothing(client, media_root, size):
    hero = shown_hero(image=image_upload(size=(1600, 900)))
    before = stored_files(media_root)

    response = client.get(f"/images/{hero.image.name}/{size}.jpg")

    assert response.status_code == 404
    assert stored_files(media_root) == before


def test_a_flood_of_url_variants_never_stores_more_than_the_declared_renditions(client, media_root):
    heroes = [shown_hero(image=image_upload(f"h{n}.jpg", size=(1600, 900))) for n in range(2)]
    assert len(rendition_files(media_root)) == len(heroes) * len(DECLARED_RENDITIONS)
    before = stored_files(media_root)
    variants = [*SPELLINGS_OF_400, "400", "800", "1200", "1200x630", "1200x0630", "630x1200"]
    keys = ["", f"-{heroes[0].renditions_key}", "-0123456789ab", "-ZZZZZZZZZZZZ"]
    for hero in heroes:
        for size in variants:
            for key in keys:
                for extension in ("jpg", "webp", "png", "JPG", "jpeg"):
                    client.get(f"/images/{hero.image.name}/{size}{key}.{extension}")
        traversal = hero.image.name.replace("heroes/", "heroes/../renditions/")
        client.get(f"/images/{traversal}/400.jpg")

    assert stored_files(media_root) == before


def test_a_rendition_url_ends_with_the_format_it_serves(client):
    hero = shown_hero(image=image_upload("photo.png", size=(900, 600), format="PNG"))

    for extension, mime_type in (("jpg", "image/jpeg"), ("webp", "image/webp")):
        url = hero.rendition(400, extension).url
        assert url.endswith(f"/400.{extension}")
        assert fetch(client, url)[0]["Content-Type"] == mime_type
    url = hero.original_image().url
    assert url.endswith("/original.png")
    assert fetch(client, url)[0]["Content-Type"] == "image/png"

"""Hero renditions: drawn once with Pillow, kept under media/, served with long caching."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from explainers.images import rendition_name

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


@pytest.mark.parametrize("extension, pillow_format", [("webp", "WEBP"), ("jpg", "JPEG")])
def test_a_rendition_is_drawn_at_its_width_and_kept(client, media_root, extension, pillow_format):
    hero = shown_hero(image=image_upload(size=(1600, 900)))
    (rendition,) = [r for r in hero.renditions(extension) if r.width == 800]

    response, body = fetch(client, rendition.url)

    assert response.status_code == 200
    assert response["Content-Type"] == f"image/{'jpeg' if extension == 'jpg' else 'webp'}"
    assert "immutable" in response["Cache-Control"]
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == (pillow_format, (800, 450))
    stored = media_root / rendition_name(hero.image.name, "800", extension)
    assert stored.read_bytes() == body
    modified = stored.stat().st_mtime_ns

    fetch(client, rendition.url)

    assert stored.stat().st_mtime_ns == modified


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


def test_a_placeholder_whose_file_went_missing_is_drawn_again(client, media_root):
    from django.core.management import call_command

    call_command("loaddata", "explainers", verbosity=0)
    placeholders = media_root / "heroes" / "placeholders"
    lost = sorted(placeholders.iterdir())[0]
    lost.unlink()

    response, body = fetch(client, f"/images/400.webp/heroes/placeholders/{lost.name}")

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
        "/images/800.gif/heroes/x.jpg",
        "/images/801.jpg/heroes/placeholders/x.png",
        "/images/800.jpg/heroes/missing.jpg",
        "/images/800.jpg/../site_config/settings.py",
        "/images/800.jpg/secrets/key.jpg",
    ],
)
def test_unknown_or_unsafe_renditions_are_404(client, url):
    assert client.get(url).status_code == 404


def test_a_file_that_is_not_an_image_is_404_not_500(client, media_root):
    (media_root / "heroes").mkdir(parents=True)
    (media_root / "heroes" / "fake.jpg").write_bytes(b"not an image at all")

    assert client.get("/images/400.jpg/heroes/fake.jpg").status_code == 404


def test_asking_for_made_up_placeholder_names_writes_nothing(client, media_root):
    for name in ["evil.png", "variant-99.png", "variant-01.png.png", "../variant-01.png"]:
        assert client.get(f"/images/400.jpg/heroes/placeholders/{name}").status_code == 404

    assert not media_root.exists() or not any(media_root.rglob("*.*"))

"""Small builders and readers shared by the tests."""

import io
import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image

from explainers.listings import parse_listing
from explainers.models import Category, Explainer, HeroImage, SeriesItem
from explainers.services.renditions import hero_renditions_schedule

LISTINGS = Path(__file__).resolve().parent.parent / "fixtures" / "listings"
LISTING_FILES = sorted(LISTINGS.glob("*.txt"))


def make_category(name="LLM Foundations", parent=None, **fields):
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    return Category.objects.create(name=name, parent=parent, **fields)


def make_explainer(category, title="What is attention?", **fields):
    fields.setdefault("slug", slugify(title))
    fields.setdefault("excerpt", f"About {title} …")
    fields.setdefault("reading_time", 5)
    fields.setdefault("status", Explainer.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - timezone.timedelta(days=1))
    return Explainer.objects.create(category=category, title=title, **fields)


def sign_in_verified(client, user):
    """Sign ``user`` in on ``client`` as after both steps: the password (force_login) and a
    code from a confirmed authenticator (TOTP device), which django-otp keeps in the session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def image_upload(name="photo.jpg", size=(640, 360), color=(200, 80, 40), format="JPEG"):
    """A real image file, drawn by Pillow, as an upload."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{format.lower()}")


def make_hero(alt_text="A photo of a transformer diagram", renditions=True, **fields):
    """A hero image; with ``renditions``, as it is once saved and its transaction committed:
    renditions drawn by the background task (which tests run at once), pages offering them."""
    fields.setdefault("image", image_upload())
    hero = HeroImage.objects.create(alt_text=alt_text, **fields)
    if renditions:
        with TestCase.captureOnCommitCallbacks(execute=True):
            hero_renditions_schedule(heroes=[hero])
        hero.refresh_from_db()
    return hero


def read_listings(*names: str):
    paths = [LISTINGS / name for name in names] if names else LISTING_FILES
    return [parse_listing(path.read_bytes(), path.name) for path in paths]


def content_snapshot():
    """Everything a reader or editor could see of the content, without timestamps or ids."""
    return {
        "categories": sorted(
            Category.objects.values_list("path", "name", "description", "position")
        ),
        "explainers": sorted(
            Explainer.objects.values_list(
                "slug",
                "title",
                "excerpt",
                "body",
                "category__path",
                "position",
                "reading_time",
                "status",
                "hero__image",
            )
        ),
        "heroes": sorted(
            HeroImage.objects.values_list("image", "alt_text", "width", "height", "is_placeholder")
        ),
        "series": sorted(SeriesItem.objects.values_list("content_object__slug", "tag__name")),
    }


def delete_all_content():
    Explainer.objects.all().delete()
    HeroImage.objects.all().delete()
    # Children before parents: a category with subcategories is protected.
    for category in Category.objects.order_by("-path"):
        category.delete()


def page_soup(response):
    """The response's HTML, parsed, for asserting what a reader sees."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(response.content.decode(), "html.parser")


def breadcrumb_labels(soup):
    return [li.get_text(strip=True) for li in soup.select('nav[aria-label="Breadcrumb"] ol li')]


def cards(soup):
    """What each card shows, in page order."""
    return [
        {
            "alt": card.img["alt"] if card.img else None,
            "series": card.select_one(".series-tag").get_text(strip=True)
            if card.select_one(".series-tag")
            else None,
            "minutes": card.select_one(".reading-time").get_text(strip=True),
            "title": card.select_one("h3 a").get_text(strip=True),
            "href": card.select_one("h3 a")["href"],
            "excerpt": card.select_one(".card-excerpt").get_text(strip=True),
        }
        for card in soup.select("article.card")
    ]


def opened_form(client, url) -> dict:
    """What a browser would send back from the admin form at ``url`` if nothing were
    touched: every field's value as the page shows it, the edit token included."""
    soup = page_soup(client.get(url))
    form = soup.select_one("form[id$=_form]")
    data = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name, kind = field["name"], field.get("type", "text")
        if name == "csrfmiddlewaretoken" or kind in ("submit", "button", "file", "radio"):
            continue
        if field.name == "textarea":
            # Browsers drop the one newline that follows <textarea>, as the HTML spec says.
            data[name] = field.get_text().removeprefix("\n")
        elif field.name == "select":
            chosen = field.select_one("option[selected]")
            data[name] = chosen["value"] if chosen else ""
        elif kind == "checkbox":
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        else:
            data[name] = field.get("value", "")
    return data


def publish_in_bulk(client, explainers, url="/admin/explainers/explainer/", **data):
    """The explainer list's "Publish the selected explainers", as an editor does it: when the
    content checks list warnings first, they tick “I have read these warnings” and publish."""
    data = {"action": "publish_selected", "_selected_action": [e.pk for e in explainers], **data}
    response = client.post(url, data)
    box = page_soup(response).select_one("input[name=acknowledge_warnings]")
    if response.status_code != 200 or box is None:
        return response
    confirmed = {"acknowledge_warnings": ["yes"]}
    for field in box.find_parent("form").select("input[type=hidden]"):
        confirmed.setdefault(field["name"], []).append(field.get("value", ""))
    return client.post(url, confirmed)


def dragged(rows, row, to):
    """The rows an ordering-view drag reports when ``row`` (counted from 1 in ``rows``, the
    page's order) is dropped at ``to``: the run between the two, in the order after the drop."""
    moved = list(rows)
    moved.insert(to - 1, moved.pop(row - 1))
    low, high = sorted((row, to))
    return moved[low - 1 : high]


def drag(client, run, changelist="/admin/explainers/explainer/"):
    """Post a drag the way django-admin-sortable2's script does: one request, ``updatedItems``
    the run of rows (see ``dragged``) as [id, row number] pairs."""
    payload = {"updatedItems": [[str(r.pk), number] for number, r in enumerate(run, start=1)]}
    return client.post(
        f"{changelist}reorder/", json.dumps(payload), content_type="application/json"
    )

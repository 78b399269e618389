"""The explainer page: what a reader sees, what an editor previews, and where old links go."""

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from explainers.models import Explainer

from .helpers import (
    breadcrumb_labels,
    cards,
    make_category,
    make_explainer,
    make_hero,
    page_soup,
    sign_in_verified,
)

pytestmark = pytest.mark.django_db


def make_staff(username="editor", *, can_view=True):
    user = User.objects.create_user(username, password="a long test password", is_staff=True)
    if can_view:
        user.user_permissions.add(Permission.objects.get(codename="view_explainer"))
    return user


def test_an_explainer_page_shows_everything_a_reader_expects(client, category):
    explainer = make_explainer(
        category,
        "Tokens",
        slug="tokens",
        excerpt="What a model reads …",
        body="## How it works\n\nText is *split* into tokens.",
        reading_time=13,
        hero=make_hero("A diagram of tokens", caption="Tokens in a row", credit="Studio"),
    )
    explainer.series.add("MONA Bridge")

    soup = page_soup(makes_200(client, "/ai-principles/llm-foundations/tokens/"))

    assert breadcrumb_labels(soup) == ["Home", "AI Principles", "LLM Foundations", "Tokens"]
    assert soup.select_one('[aria-current="page"]').get_text() == "Tokens"
    assert [h1.get_text() for h1 in soup.find_all("h1")] == ["Tokens"]
    assert soup.select_one(".standfirst").get_text() == "What a model reads …"
    assert soup.select_one(".series-tag")["href"] == "/series/mona-bridge/"
    assert soup.select_one(".reading-time").get_text() == "13 min"
    hero = soup.select_one(".hero img")
    assert hero["alt"] == "A diagram of tokens"
    assert "1200w" not in hero["srcset"]  # the upload is 640 px wide: no upscaled rendition
    assert "Tokens in a row" in soup.select_one(".hero figcaption").get_text()
    assert soup.select_one(".prose h2").get_text() == "How it works"
    assert soup.select_one(".prose em").get_text() == "split"


def makes_200(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response


def test_previous_next_and_related_follow_the_listing(client, category):
    first = make_explainer(category, "First", position=1)
    second = make_explainer(category, "Second", position=2)
    third = make_explainer(category, "Third", position=3)
    make_explainer(category, "Draft", position=4, status=Explainer.Status.DRAFT)
    other = make_category("Model Architectures", parent=category.parent)
    bridge = make_explainer(other, "Bridge elsewhere")
    bridge.series.add("MONA Bridge")
    second.series.add("MONA Bridge")
    make_explainer(category, "Fourth", position=5)

    soup = page_soup(makes_200(client, second.get_absolute_url()))

    neighbours = soup.select_one("nav.neighbours")
    assert neighbours.select_one('a[rel="prev"]')["href"] == first.get_absolute_url()
    assert neighbours.select_one('a[rel="next"]')["href"] == third.get_absolute_url()
    related = [c["title"] for c in cards(soup)]
    assert related[0] == "Bridge elsewhere"
    assert "Fourth" in related and "Draft" not in related
    assert not {"First", "Second", "Third"} & set(related)
    assert len(related) <= 3


def test_body_markdown_is_sanitized(client, category):
    body = (
        "<script>alert('x')</script>\n\n"
        '<img src="/x.png" onerror="alert(1)">\n\n'
        "[click](javascript:alert(1))\n\n"
        '<a href="https://example.org" onclick="steal()">fine link</a>\n\n'
        '<iframe src="https://evil.example"></iframe>\n\n'
        "# A heading"
    )
    explainer = make_explainer(category, "Sanitized", slug="sanitized", body=body)

    response = makes_200(client, explainer.get_absolute_url())
    prose = page_soup(response).select_one(".prose")

    assert not prose.select("script, iframe, [onerror], [onclick]")
    assert not [a for a in prose.select("a") if "javascript" in a.get("href", "")]
    assert prose.select_one('a[href="https://example.org"]').get_text() == "fine link"
    assert prose.select_one("h2").get_text() == "A heading"
    assert "alert('x')" not in response.content.decode()


def test_hostile_title_excerpt_and_alt_text_are_escaped(client, category):
    hostile = '<script>alert("x")</script> & "quotes"'
    explainer = make_explainer(
        category, hostile, slug="hostile", excerpt=hostile, hero=make_hero('"><script>x</script>')
    )

    response = makes_200(client, explainer.get_absolute_url())
    html = response.content.decode()

    assert "<script>" not in html
    soup = page_soup(response)
    assert soup.h1.get_text() == hostile
    assert soup.title.get_text().startswith(hostile)
    assert soup.select_one(".hero img")["alt"] == '"><script>x</script>'


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Explainer.Status.DRAFT},
        {"published_at": None},
        {"published_at": "future"},
    ],
    ids=["draft", "no-publication-time", "scheduled"],
)
def test_unpublished_explainers_are_404_for_readers_and_previewed_by_editors(
    client, category, fields
):
    if fields.get("published_at") == "future":
        fields = {"published_at": timezone.now() + timezone.timedelta(days=2)}
    explainer = make_explainer(category, "Not yet", slug="not-yet", **fields)

    assert client.get(explainer.get_absolute_url()).status_code == 404

    sign_in_verified(client, make_staff())
    response = makes_200(client, explainer.get_absolute_url())
    banner = page_soup(response).select_one(".preview-banner")
    assert "Preview" in banner.get_text()
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_staff_without_view_permission_cannot_see_unpublished_explainers(client, category):
    explainer = make_explainer(category, "Draft", slug="draft", status=Explainer.Status.DRAFT)
    sign_in_verified(client, make_staff(can_view=False))

    assert client.get(explainer.get_absolute_url()).status_code == 404


def test_a_published_explainer_shows_editors_no_preview_banner(client, category):
    explainer = make_explainer(category, "Live", slug="live")
    sign_in_verified(client, make_staff())

    soup = page_soup(makes_200(client, explainer.get_absolute_url()))

    assert soup.select_one(".preview-banner") is None


def test_an_explainer_scheduled_for_now_appears_without_any_job(client, category, settings):
    explainer = make_explainer(
        category, "Soon", slug="soon", published_at=timezone.now() + timezone.timedelta(seconds=1)
    )
    assert client.get(explainer.get_absolute_url()).status_code == 404

    Explainer.objects.filter(pk=explainer.pk).update(
        published_at=timezone.now() - timezone.timedelta(seconds=1)
    )

    assert client.get(explainer.get_absolute_url()).status_code == 200


def test_a_changed_slug_redirects_permanently_from_the_old_url(client, category):
    explainer = make_explainer(category, "Tokens", slug="tokens")
    old_url = explainer.get_absolute_url()
    explainer.slug = "tokens-explained"
    explainer.save()

    response = client.get(old_url)

    assert response.status_code == 301
    assert response["Location"] == "/ai-principles/llm-foundations/tokens-explained/"


def test_a_slug_changed_twice_still_redirects_from_the_first(client, category):
    explainer = make_explainer(category, "Tokens", slug="tokens")
    for slug in ["tokens-2", "tokens-3"]:
        explainer.slug = slug
        explainer.save()

    response = client.get("/ai-principles/llm-foundations/tokens/")

    assert response.status_code == 301
    assert response["Location"].endswith("/tokens-3/")


def test_a_moved_explainer_redirects_from_its_old_category(client, category):
    explainer = make_explainer(category, "Tokens", slug="tokens")
    explainer.category = make_category("Model Architectures", parent=category.parent)
    explainer.save()

    response = client.get("/ai-principles/llm-foundations/tokens/")

    assert response.status_code == 301
    assert response["Location"] == "/ai-principles/model-architectures/tokens/"


def test_a_renamed_category_keeps_its_explainers_reachable(client, category):
    explainer = make_explainer(category, "Tokens", slug="tokens")
    category.slug = "foundations"
    category.save()

    response = client.get("/ai-principles/llm-foundations/tokens/")

    assert response.status_code == 301
    assert response["Location"] == "/ai-principles/foundations/tokens/"
    explainer.refresh_from_db()
    assert client.get(explainer.get_absolute_url()).status_code == 200


def test_an_old_slug_of_a_draft_does_not_reveal_it(client, category):
    explainer = make_explainer(category, "Tokens", slug="tokens", status=Explainer.Status.DRAFT)
    explainer.slug = "tokens-2"
    explainer.save()

    assert client.get("/ai-principles/llm-foundations/tokens/").status_code == 404


def test_an_unknown_explainer_is_a_404(client, category):
    assert client.get("/ai-principles/llm-foundations/nothing-here/").status_code == 404


@pytest.mark.parametrize("related_count", [1, 3])
def test_an_explainer_page_makes_a_fixed_number_of_queries(
    client, category, django_assert_num_queries, related_count
):
    explainers = []
    for number in range(related_count + 3):
        explainer = make_explainer(
            category, f"Explainer {number}", position=number, hero=make_hero()
        )
        explainer.series.add("MONA explainer")
        explainers.append(explainer)

    # 1 the category chain, 2 the explainer with category and hero, 3 its series,
    # 4 previous, 5 next, 6 related stored cards with category path and hero, 7 the
    # next scheduled publication (how long the page may be cached).
    with django_assert_num_queries(7):
        response = client.get(explainers[1].get_absolute_url())

    assert len(cards(page_soup(response))) == related_count

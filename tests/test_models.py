import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from taggit.models import Tag

from explainers.models import Category, Explainer, Series

from .helpers import make_category, make_explainer

pytestmark = pytest.mark.django_db


def test_category_url_is_the_slug_path_from_the_top():
    section = make_category("AI Principles")
    category = make_category("LLM Foundations", parent=section)

    assert section.get_absolute_url() == "/ai-principles/"
    assert category.get_absolute_url() == "/ai-principles/llm-foundations/"


def test_breadcrumbs_run_from_home_to_the_category_in_one_query(django_assert_num_queries):
    node = make_category("AI Principles")
    for depth in range(1, 6):
        node = make_category(f"Level {depth}", parent=node)
    node = Category.objects.get(pk=node.pk)

    # SELECT ... FROM category WHERE path IN (the five ancestor paths) ORDER BY LENGTH(path)
    with django_assert_num_queries(1):
        crumbs = node.breadcrumbs()

    assert [label for label, _url in crumbs] == [
        "Home",
        "AI Principles",
        "Level 1",
        "Level 2",
        "Level 3",
        "Level 4",
        "Level 5",
    ]
    assert crumbs[0][1] == "/"
    assert crumbs[-1][1] == "/ai-principles/level-1/level-2/level-3/level-4/level-5/"


def test_two_siblings_cannot_share_a_slug():
    section = make_category("AI Principles")
    make_category("LLM Foundations", parent=section)

    duplicate = Category(name="LLM foundations", slug="llm-foundations", parent=section)
    with pytest.raises(ValidationError, match="already uses this slug"):
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_two_top_level_categories_cannot_share_a_slug():
    make_category("AI Principles")

    with pytest.raises(IntegrityError), transaction.atomic():
        Category(name="AI principles", slug="ai-principles").save()


def test_the_same_slug_is_allowed_under_different_parents():
    first, second = make_category("First"), make_category("Second")

    make_category("Basics", parent=first)
    basics = make_category("Basics", parent=second)

    assert basics.get_absolute_url() == "/second/basics/"


def test_a_category_cannot_be_its_own_parent():
    category = make_category("AI Principles")
    category.parent = category

    with pytest.raises(ValidationError, match="under itself"):
        category.full_clean()


def test_a_category_cannot_move_under_its_own_descendant():
    top = make_category("AI Principles")
    middle = make_category("LLM Foundations", parent=top)
    bottom = make_category("Tokenizers", parent=middle)
    top.parent = bottom

    with pytest.raises(ValidationError, match="descendants"):
        top.full_clean()


def test_moving_a_category_moves_the_urls_of_its_descendants():
    old, new = make_category("Old Section"), make_category("New Section")
    category = make_category("LLM Foundations", parent=old)
    child = make_category("Tokenizers", parent=category)

    category.parent = new
    category.save()

    child.refresh_from_db()
    assert child.get_absolute_url() == "/new-section/llm-foundations/tokenizers/"


def test_a_category_holding_explainers_cannot_be_deleted_and_says_why():
    category = make_category()
    make_explainer(category)

    with pytest.raises(ProtectedError, match="still holds 1 explainer; move or delete them first"):
        category.delete()
    assert Category.objects.filter(pk=category.pk).exists()


def test_a_category_holding_subcategories_cannot_be_deleted_even_in_bulk():
    section = make_category("AI Principles")
    make_category("LLM Foundations", parent=section)
    make_category("Model Architectures", parent=section)

    with pytest.raises(ProtectedError, match="2 subcategories"):
        section.delete()
    with pytest.raises(ProtectedError):
        Category.objects.filter(pk=section.pk).delete()
    assert Category.objects.count() == 3


def test_an_empty_category_can_be_deleted():
    category = make_category()

    category.delete()

    assert not Category.objects.exists()


def test_published_shows_readers_only_published_explainers_whose_time_has_come():
    category = make_category()
    now = timezone.now()
    visible = make_explainer(category, "Visible", published_at=now - timezone.timedelta(minutes=1))
    make_explainer(category, "Draft", status=Explainer.Status.DRAFT)
    make_explainer(category, "Scheduled", published_at=now + timezone.timedelta(hours=1))
    make_explainer(category, "Undated", published_at=None)

    assert list(Explainer.objects.published()) == [visible]


def test_explainer_url_sits_under_its_category_path():
    category = make_category("LLM Foundations", parent=make_category("AI Principles"))
    explainer = make_explainer(category, "Tokens", slug="tokens")

    assert explainer.get_absolute_url() == "/ai-principles/llm-foundations/tokens/"


def test_series_are_kept_apart_from_any_other_tags():
    explainer = make_explainer(make_category())
    explainer.series.add("MONA Bridge")

    assert [s.name for s in explainer.series.all()] == ["MONA Bridge"]
    assert Series.objects.get().name == "MONA Bridge"
    assert not Tag.objects.exists()

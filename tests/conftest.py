import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes its uploads and placeholders to a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with no cached pages (the database is rolled back; the cache is not)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def category():
    """LLM Foundations under AI Principles: the tree most tests need."""
    from tests.helpers import make_category

    return make_category("LLM Foundations", parent=make_category("AI Principles"))

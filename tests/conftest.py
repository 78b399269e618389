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


@pytest.fixture(scope="session")
def drawn_placeholders(tmp_path_factory):
    """A media folder with every placeholder and its centred renditions, drawn once for the
    session: like the placeholders themselves, they depend on nothing but their names."""
    from django.test import override_settings

    from explainers.drawing import draw_missing_placeholder, draw_renditions
    from explainers.images import PLACEHOLDER_SIZE, PLACEHOLDER_VARIANTS

    folder = tmp_path_factory.mktemp("drawn-placeholders")
    with override_settings(MEDIA_ROOT=folder):
        for variant in range(PLACEHOLDER_VARIANTS):
            name = f"heroes/placeholders/variant-{variant:02d}.png"
            draw_missing_placeholder(name)
            draw_renditions(name, *PLACEHOLDER_SIZE, None)
    return folder


@pytest.fixture
def placeholder_renditions(media_root, drawn_placeholders):
    """The placeholders' files and renditions already in this test's storage, as on a site
    whose worker has drawn them: the tasks that loading or importing content queues find
    them there, and only mark the heroes."""
    import shutil

    shutil.copytree(drawn_placeholders, media_root, dirs_exist_ok=True)

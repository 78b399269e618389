"""The import_listings command and the service under it, on real files and a real database."""

import gc
import io
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from PIL import Image

from explainers.cache import content_version
from explainers.listings import ListingError, parse_listing
from explainers.models import Category, Explainer, HeroImage
from explainers.services import imports as services
from explainers.services.imports import listings_import

from .helpers import LISTINGS, content_snapshot, make_category, make_hero

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent


def run_import(*paths, **options):
    out = io.StringIO()
    call_command("import_listings", *map(str, paths), stdout=out, **options)
    return out.getvalue()


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def import_fixtures():
    return run_import(LISTINGS, parent="AI Principles")


def copy_listings(tmp_path, **replacements):
    """Copy the five listings to tmp_path, replacing text in the files named by keyword."""
    folder = tmp_path / "listings"
    folder.mkdir(exist_ok=True)
    for source in LISTINGS.glob("*.txt"):
        text = source.read_text(encoding="utf-8")
        for old, new in replacements.get(source.stem.replace(".", "_").replace("-", "_"), []):
            assert old in text, f"{old!r} not in {source.name}"
            text = text.replace(old, new, 1)
        (folder / source.name).write_text(text, encoding="utf-8")
    return folder


def media_files(media_root):
    return sorted(p.relative_to(media_root) for p in Path(media_root).rglob("*") if p.is_file())


def test_importing_the_five_listings_builds_the_site_tree_with_85_explainers():
    output = import_fixtures()

    assert "85 created, 0 updated, 0 unchanged" in output
    assert sorted(Category.objects.values_list("path", flat=True)) == [
        "ai-principles",
        "ai-principles/llm-foundations",
        "ai-principles/model-architectures",
    ]
    counts = {c.name: c.explainers.count() for c in Category.objects.all()}
    assert counts == {"AI Principles": 0, "LLM Foundations": 55, "Model Architectures": 30}
    assert Explainer.objects.published().count() == 85


def test_imported_explainers_keep_the_listing_order_and_card_details():
    import_fixtures()

    foundations = Explainer.objects.filter(category__slug="llm-foundations").order_by("position")
    first, thirty_first = foundations[0], foundations[30]
    assert first.title == "Prompt Engineering for Image Generation: How Diffusion Models Read Text"
    assert first.excerpt.endswith("turn text into images …")
    assert first.reading_time == 13
    assert [s.name for s in first.series.all()] == ["MONA explainer"]
    assert first.hero.alt_text.startswith("Text tokens flowing into a diffusion latent space")
    page_two = parse_listing((LISTINGS / "llm-foundations.page-2.cards.txt").read_bytes(), "p2")
    assert thirty_first.title == page_two.entries[0].title
    bridge = Explainer.objects.filter(series__name="MONA Bridge")
    assert bridge.count() == 2
    assert {e.category.name for e in bridge} == {"Model Architectures"}


def test_every_imported_hero_is_a_real_placeholder_image_file(media_root):
    import_fixtures()

    heroes = HeroImage.objects.all()
    assert heroes.count() == 85
    for hero in heroes:
        assert hero.is_placeholder
        with Image.open(media_root / hero.image.name) as image:
            image.verify()
        with Image.open(media_root / hero.image.name) as image:
            assert image.size == (hero.width, hero.height) == (1200, 675)


def test_placeholders_are_deterministic(media_root, tmp_path, settings):
    import_fixtures()
    first = {p: (media_root / p).read_bytes() for p in media_files(media_root)}
    Explainer.objects.all().delete()
    HeroImage.objects.all().delete()
    settings.MEDIA_ROOT = tmp_path / "second-media"

    import_fixtures()

    second = {p: (settings.MEDIA_ROOT / p).read_bytes() for p in media_files(settings.MEDIA_ROOT)}
    assert first == second


def test_a_second_run_of_the_same_files_changes_nothing_and_says_so(media_root):
    import_fixtures()
    before, files = content_snapshot(), media_files(media_root)

    output = import_fixtures()

    assert "0 created, 0 updated, 85 unchanged" in output
    assert "Category" not in output
    assert content_snapshot() == before
    assert media_files(media_root) == files


def test_a_missing_placeholder_file_is_drawn_again_on_the_next_run(media_root):
    import_fixtures()
    hero = HeroImage.objects.first()
    (media_root / hero.image.name).unlink()

    output = import_fixtures()

    assert "0 created, 0 updated, 85 unchanged" in output
    assert (media_root / hero.image.name).exists()


def test_card_listing_without_breadcrumbs_goes_to_the_top_level_without_parent():
    run_import(LISTINGS / "model-architectures.page-1.cards.txt")

    category = Category.objects.get(name="Model Architectures")
    assert category.parent is None
    assert category.get_absolute_url() == "/model-architectures/"


def test_parent_is_created_when_missing():
    run_import(LISTINGS / "model-architectures.page-1.cards.txt", parent="AI Principles")

    assert Category.objects.get(name="Model Architectures").path == (
        "ai-principles/model-architectures"
    )


def test_an_existing_category_keeps_its_place():
    research = make_category("Research")
    make_category("Model Architectures", parent=research, description="Ours")

    output = run_import(LISTINGS / "model-architectures.page-1.cards.txt", parent="AI Principles")

    category = Category.objects.get(name="Model Architectures")
    assert category.parent == research
    assert category.explainers.count() == 30
    assert not Category.objects.filter(name="AI Principles").exists()
    assert category.description.startswith("How AI models are built")
    assert "Category description updated: research/model-architectures" in output


def test_a_rerun_after_the_listing_changed_updates_scraped_fields_only(tmp_path, media_root):
    import_fixtures()
    edited = Explainer.objects.get(title__startswith="Prompt Engineering for Image Generation")
    edited.body = "An editor's body."
    edited.status = Explainer.Status.DRAFT
    edited.save()
    replaced = Explainer.objects.get(title__startswith="Negative Prompts, Weights, Seeds")
    real_hero = make_hero("A real photo")
    replaced.hero = real_hero
    replaced.save()
    folder = copy_listings(
        tmp_path,
        llm_foundations_page_1_cards=[
            ("MONA explainer 13 min", "MONA Bridge 14 min"),
            ("turn text into images …", "turn words into images …"),
            ("Layered diagram of prompt parsing", "A layered diagram of prompt parsing"),
            (
                "Alpha Channels, Trimaps, and the Hard Limits",
                "Alpha Channels, Trimaps and the Hard Limits",
            ),
        ],
        llm_foundations_page_1_breadcrumbs=[
            ("turn text into images …", "turn words into images …"),
            (
                "Alpha Channels, Trimaps, and the Hard Limits",
                "Alpha Channels, Trimaps and the Hard Limits",
            ),
        ],
    )

    output = run_import(folder, parent="AI Principles", verbosity=2)

    # The alt text of the replaced image belongs to its editor: that card counts as unchanged.
    assert "0 created, 2 updated, 83 unchanged" in output
    edited.refresh_from_db()
    assert (edited.reading_time, [s.name for s in edited.series.all()]) == (14, ["MONA Bridge"])
    assert edited.excerpt.endswith("turn words into images …")
    assert (edited.body, edited.status) == ("An editor's body.", Explainer.Status.DRAFT)
    replaced.refresh_from_db()
    assert replaced.hero == real_hero
    assert replaced.hero.alt_text == "A real photo"
    renamed = Explainer.objects.get(
        title="Alpha Channels, Trimaps and the Hard Limits of AI Background Removal"
    )
    assert renamed.slug == "alpha-channels-trimaps-and-the-hard-limits-of-ai-background-removal"
    assert "Explainer updated (title): Alpha Channels, Trimaps and the Hard Limits" in output


def test_a_rerun_follows_a_new_listing_order(tmp_path):
    import_fixtures()
    text = (LISTINGS / "model-architectures.page-1.cards.txt").read_text(encoding="utf-8")
    name, description, cards = text.split("\n\n", 2)
    blocks = cards.split("\n\n")  # per card: alt and series line, title, excerpt
    first, second = blocks[0:3], blocks[3:6]
    reordered = tmp_path / "model-architectures.txt"
    reordered.write_text(
        "\n\n".join([name, description, *second, *first, *blocks[6:]]), encoding="utf-8"
    )

    output = run_import(reordered)

    assert "0 created, 2 updated, 28 unchanged" in output
    titles = (
        Category.objects.get(name="Model Architectures")
        .explainers.order_by("position")
        .values_list("title", flat=True)
    )
    assert list(titles[:2]) == [second[1], first[1]]


def test_dry_run_says_what_it_would_do_and_writes_nothing(media_root):
    output = run_import(LISTINGS, parent="AI Principles", dry_run=True)

    assert "Category would be created: ai-principles/llm-foundations" in output
    assert "Explainer would be created: Prompt Engineering for Image Generation" in output
    assert "Dry run, nothing written: 85 created, 0 updated, 0 unchanged" in output
    assert not Category.objects.exists() and not Explainer.objects.exists()
    assert media_files(media_root) == []


def test_dry_run_of_a_changed_listing_reports_updates_and_keeps_the_database(tmp_path):
    import_fixtures()
    before = content_snapshot()
    folder = copy_listings(
        tmp_path, model_architectures_page_1_cards=[("MONA Bridge 12 min", "MONA Bridge 20 min")]
    )

    output = run_import(folder, parent="AI Principles", dry_run=True)

    assert "Explainer would be updated (reading_time): " in output
    assert "0 created, 1 updated, 84 unchanged" in output
    assert content_snapshot() == before


BAD_LISTINGS = {
    "not-utf8": ("zz-bad.txt", "LLM Foundations\n\nCaf\xe9\n".encode("latin-1"), ":3: not UTF-8"),
    "empty": ("zz-bad.txt", b"", ": the file is empty"),
    "binary": ("zz-bad.txt", bytes(range(256)), ":1: binary data"),
    "neither-format": ("zz-bad.txt", b"Notes\n\nNothing to see.\n", ": neither a card listing"),
    "missing-minutes-line": (
        "model-architectures.page-1.cards.txt",
        (LISTINGS / "model-architectures.page-1.cards.txt")
        .read_bytes()
        .replace(b"MONA Bridge 12 min\n", b""),
        ":42: card is missing its series and reading time",
    ),
    "minutes-not-whole": (
        "model-architectures.page-1.cards.txt",
        (LISTINGS / "model-architectures.page-1.cards.txt")
        .read_bytes()
        .replace(b"MONA Bridge 12 min", b"MONA Bridge 1.5 min"),
        ":41: reading time “1.5” is not a positive whole number",
    ),
    "files-disagree": (
        "llm-foundations.page-2.breadcrumbs.txt",
        (LISTINGS / "llm-foundations.page-2.breadcrumbs.txt")
        .read_bytes()
        .replace(b" \xe2\x80\xa6\n", b" (edited) \xe2\x80\xa6\n", 1),
        "excerpt",
    ),
}


@pytest.mark.parametrize("case", BAD_LISTINGS, ids=list(BAD_LISTINGS))
def test_a_bad_listing_fails_the_whole_run_and_leaves_everything_as_it_was(
    case, tmp_path, media_root
):
    import_fixtures()
    folder = copy_listings(tmp_path)
    # A good new listing too: the run must not keep it when another file is bad.
    (folder / "zz-new.txt").write_text(
        "Brand New Category\n\nNew.\n\nAlt\nMONA explainer 3 min\n\nA new title\n\nNew …",
        encoding="utf-8",
    )
    name, data, problem = BAD_LISTINGS[case]
    (folder / name).write_bytes(data)
    before, files = content_snapshot(), media_files(media_root)

    with pytest.raises(CommandError) as raised:
        run_import(folder, parent="AI Principles")

    assert str(folder / name) in str(raised.value)
    assert problem in str(raised.value)
    assert content_snapshot() == before
    assert media_files(media_root) == files


def test_a_failure_after_placeholders_were_drawn_removes_them_and_rolls_back(
    monkeypatch, media_root
):
    drawn = []

    def draw_then_fail(name):
        if len(drawn) == 10:
            raise OSError("disk full")
        drawn.append(name)
        return real_draw(name)

    real_draw = services.draw_missing_placeholder
    monkeypatch.setattr(services, "draw_missing_placeholder", draw_then_fail)

    with pytest.raises(CommandError, match="disk full"):
        import_fixtures()

    assert len(drawn) == 10
    assert not Explainer.objects.exists() and not Category.objects.exists()
    assert media_files(media_root) == []


def test_a_new_explainer_known_only_from_breadcrumbs_is_refused():
    with pytest.raises(
        CommandError, match=r"page-1.breadcrumbs.txt:7: “Prompt Engineering .*” is new"
    ):
        run_import(LISTINGS / "llm-foundations.page-1.breadcrumbs.txt")
    assert not Category.objects.exists()


def test_breadcrumbs_alone_place_existing_explainers(tmp_path):
    run_import(
        LISTINGS / "llm-foundations.page-1.cards.txt", LISTINGS / "llm-foundations.page-2.cards.txt"
    )
    assert Category.objects.get(name="LLM Foundations").parent is None

    run_import(
        LISTINGS / "llm-foundations.page-1.breadcrumbs.txt",
        LISTINGS / "llm-foundations.page-2.breadcrumbs.txt",
    )

    placed = Category.objects.get(path="ai-principles/llm-foundations")
    assert placed.explainers.count() == 55


def test_a_missing_path_is_named():
    with pytest.raises(CommandError, match="nowhere.txt: no such file or folder"):
        run_import("nowhere.txt")


def test_the_command_exits_non_zero_with_the_problem_on_stderr(tmp_path):
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\xff\xfe\x00\x00")

    result = subprocess.run(
        [sys.executable, "manage.py", "import_listings", str(bad)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        timeout=60,
    )

    assert result.returncode == 1
    assert f"{bad}:1: binary data" in result.stderr


def synthetic_cards(count: int, category: str = "Synthetic", start: int = 0) -> bytes:
    cards = [
        f"Diagram number {n}\nMONA explainer {n % 30 + 1} min\n\nSynthetic title {n}\n\n"
        f"Synthetic excerpt {n} …"
        for n in range(start, start + count)
    ]
    return (f"{category}\n\nA generated category.\n\n" + "\n\n".join(cards)).encode("utf-8")


def test_the_number_of_queries_does_not_grow_with_the_number_of_cards():
    def queries_for(count):
        listing = parse_listing(synthetic_cards(count), f"{count}.txt")
        with CaptureQueriesContext(connection) as captured:
            listings_import(listings=[listing], dry_run=True)
        return len(captured)

    # Writes go in batches, never a row each. (SQLite takes 999 parameters a statement:
    # about 34 explainers, or 50 heroes, so both counts here fit in one batch.)
    assert queries_for(5) == queries_for(30)
    assert queries_for(2000) < queries_for(5) + 2000 // 15


def test_the_service_reports_errors_as_listing_errors_naming_the_file():
    with pytest.raises(ListingError, match="^only-breadcrumbs.txt:7:"):
        listings_import(
            listings=[
                parse_listing(
                    (LISTINGS / "llm-foundations.page-1.breadcrumbs.txt").read_bytes(),
                    "only-breadcrumbs.txt",
                )
            ]
        )


# Hostile listings: refused with the file and line, nothing written, nothing echoed raw.


def card_listing(category="Synthetic", description="A generated category.", **card):
    fields = {"alt": "Diagram", "meta": "MONA explainer 3 min", "title": "A title"}
    fields.update(card)
    excerpt = fields.get("excerpt", "An excerpt …")
    text = (
        f"{category}\n\n{description}\n\n"
        f"{fields['alt']}\n{fields['meta']}\n\n{fields['title']}\n\n{excerpt}\n"
    )
    return text.encode("utf-8")


@pytest.mark.parametrize("reserved", ["Admin", "Search", "Series", "Static", "Feeds"])
def test_a_listing_cannot_create_a_category_at_a_reserved_address(tmp_path, reserved):
    listing = tmp_path / "hostile.txt"
    listing.write_bytes(card_listing(category=reserved))

    with pytest.raises(CommandError, match=r"hostile\.txt: category .*taken by the site's own"):
        run_import(listing)

    assert not Category.objects.exists() and not Explainer.objects.exists()


@pytest.mark.parametrize(
    "fields, where, what",
    [
        ({"description": "d" * 10_000_000}, 3, "category description is 10000000 characters"),
        ({"excerpt": "e" * 10_000_000}, 10, "excerpt is 10000000 characters"),
    ],
)
def test_an_oversized_field_is_refused_at_its_line(tmp_path, fields, where, what):
    listing = tmp_path / "huge.txt"
    listing.write_bytes(card_listing(**fields))

    with pytest.raises(CommandError) as refused:
        run_import(listing)

    assert str(refused.value).startswith(f"{listing}:{where}: {what} long")
    assert len(str(refused.value)) < 300
    assert not Explainer.objects.exists()


def test_control_characters_and_terminal_escapes_are_stripped_from_text_and_messages(tmp_path):
    listing = tmp_path / "escapes.txt"
    listing.write_bytes(card_listing(title="Red \x1b[31malert\x1b[0m\x07 title\x7f"))

    run_import(listing)

    assert Explainer.objects.get().title == "Red alert title"
    broken = tmp_path / "broken.txt"
    broken.write_bytes(card_listing(meta="\x1b]0;pwned\x07MONA explainer 1.5 min"))
    with pytest.raises(CommandError) as refused:
        run_import(broken)
    assert "\x1b" not in str(refused.value) and "\x07" not in str(refused.value)


def test_a_database_error_becomes_a_listing_error_naming_the_files(tmp_path):
    # A deleted explainer leaves its placeholder hero, whose key the re-import would reuse:
    # the database's unique constraint refuses it.
    import_fixtures()
    Explainer.objects.order_by("pk").first().delete()
    before = content_snapshot()

    with pytest.raises(CommandError, match=r"^.*\.txt: the database refused the import: "):
        import_fixtures()

    assert content_snapshot() == before


# Big runs: nothing written when nothing changed, progress on stderr, memory bounded.


def test_a_rerun_that_changes_nothing_writes_nothing_and_keeps_the_cached_pages(
    django_capture_on_commit_callbacks,
):
    # The content version bumps after the commit: the callbacks run as if it had happened.
    first = content_version()
    with django_capture_on_commit_callbacks(execute=True):
        import_fixtures()
    imported = content_version()
    assert imported != first

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with CaptureQueriesContext(connection) as captured:
            output = import_fixtures()

    assert "0 created, 0 updated, 85 unchanged" in output
    reads = ("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT")
    writes = [q["sql"] for q in captured if not q["sql"].lstrip().upper().startswith(reads)]
    assert writes == []
    assert callbacks == []
    assert content_version() == imported


def test_a_rerun_that_changes_one_card_bumps_the_content_version(
    tmp_path, django_capture_on_commit_callbacks
):
    import_fixtures()
    folder = copy_listings(
        tmp_path, model_architectures_page_1_cards=[("MONA Bridge 12 min", "MONA Bridge 20 min")]
    )
    before = content_version()

    with django_capture_on_commit_callbacks(execute=True):
        output = run_import(folder, parent="AI Principles")

    assert "0 created, 1 updated, 84 unchanged" in output
    assert content_version() > before


def test_the_import_prints_its_progress_on_stderr_and_its_report_on_stdout():
    out, err = io.StringIO(), io.StringIO()

    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=out, stderr=err)

    progress = err.getvalue().splitlines()
    assert progress[0].startswith(f"Parsed 1/5 files ({LISTINGS}/llm-foundations.page-1.")
    assert progress[4].startswith(f"Parsed 5/5 files ({LISTINGS}/model-architectures.page-1.")
    assert progress[5].startswith("Imported 55/85 cards (LLM Foundations), ")
    assert progress[6].startswith("Imported 85/85 cards (Model Architectures), ")
    assert progress[7].startswith("Recorded 55/85 revisions, ")
    assert progress[8].startswith("Recorded 85/85 revisions, ")
    # stdout is the report, as before.
    assert out.getvalue().splitlines() == [
        "Category created: ai-principles",
        "Category created: ai-principles/llm-foundations",
        "Category created: ai-principles/model-architectures",
        "85 created, 0 updated, 0 unchanged",
    ]


def test_progress_lines_come_every_round_number_of_cards_not_every_card(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    for number in range(1, 5):
        (folder / f"category-{number}.txt").write_bytes(
            synthetic_cards(100, category=f"Synthetic {number}", start=number * 1000)
        )
    err = io.StringIO()

    call_command("import_listings", str(folder), stdout=io.StringIO(), stderr=err)

    cards = [line.split(" (")[0] for line in err.getvalue().splitlines() if "cards" in line]
    # A line when a multiple of 20 (400 / 20) is passed: here, after each category.
    assert cards == [f"Imported {n}/400 cards" for n in (100, 200, 300, 400)]


def test_on_a_terminal_the_progress_is_a_bar():
    err = Terminal()

    run_import(LISTINGS, parent="AI Principles", stderr=err)

    shown = err.getvalue()
    assert "Parsing files" in shown and "Importing cards" in shown
    assert "━" in shown and "85/85" in shown
    assert "Parsed 1/5" not in shown  # no plain lines on a terminal


def test_verbosity_0_prints_no_progress():
    err = io.StringIO()

    run_import(LISTINGS, parent="AI Principles", stderr=err, verbosity=0)

    assert err.getvalue() == ""


def test_at_most_one_categorys_explainers_are_in_memory_at_once(tmp_path):
    """A big import holds a category at a time, not the table: 3 categories of 40 cards
    never have more than 40 explainers in memory, importing or re-importing them."""
    folder = tmp_path / "three"
    folder.mkdir()
    for number in range(3):
        (folder / f"category-{number}.txt").write_bytes(
            synthetic_cards(40, category=f"Synthetic {number}", start=number * 1000)
        )
    alive = most = 0

    def gone():
        nonlocal alive
        alive -= 1

    def count(sender, instance, **kwargs):
        nonlocal alive, most
        alive += 1
        weakref.finalize(instance, gone)
        if alive > most:
            gc.collect()  # what is only waiting for the collector does not count
            most = max(most, alive)

    post_init.connect(count, sender=Explainer, weak=False)
    try:
        assert "120 created" in run_import(folder)
        assert most <= 41
        most = 0
        assert "120 unchanged" in run_import(folder)
        assert most <= 41
    finally:
        post_init.disconnect(count, sender=Explainer)
    assert Explainer.objects.count() == 120


def cards_of(category: str, *titles: str) -> bytes:
    """A card listing of ``category`` with a card for each title."""
    cards = [f"Diagram\nMONA explainer 3 min\n\n{title}\n\nAbout {title} …" for title in titles]
    return (f"{category}\n\nA generated category.\n\n" + "\n\n".join(cards) + "\n").encode()


def test_an_explainer_moved_to_a_later_category_leaves_its_old_listing_dense(tmp_path):
    alpha, beta = tmp_path / "a.txt", tmp_path / "b.txt"
    alpha.write_bytes(cards_of("Alpha", "One", "Two", "Three"))
    beta.write_bytes(cards_of("Beta", "Four"))
    run_import(alpha, beta)
    # "One" moves from Alpha (read first) to Beta (read after).
    alpha.write_bytes(cards_of("Alpha", "Two", "Three"))
    beta.write_bytes(cards_of("Beta", "Four", "One"))

    output = run_import(alpha, beta, verbosity=2)

    assert "Explainer updated (category, position): One" in output
    listing = {
        name: list(
            Explainer.objects.filter(category__name=name)
            .order_by("position")
            .values_list("title", "position")
        )
        for name in ("Alpha", "Beta")
    }
    assert listing == {"Alpha": [("Two", 0), ("Three", 1)], "Beta": [("Four", 0), ("One", 1)]}


def test_new_slugs_skip_those_taken_in_the_database_and_in_the_same_run(tmp_path):
    elsewhere = make_category("Elsewhere")
    for slug in ["what-is-attention", "what-is-attention-3"]:
        Explainer.objects.create(
            title=f"Unrelated {slug}", slug=slug, category=elsewhere, excerpt="x", reading_time=1
        )
    listing = tmp_path / "attention.txt"
    listing.write_bytes(cards_of("Synthetic", "What is attention?", "What Is Attention!"))

    run_import(listing)

    slugs = Explainer.objects.filter(category__name="Synthetic").order_by("position")
    assert list(slugs.values_list("slug", flat=True)) == [
        "what-is-attention-2",
        "what-is-attention-4",
    ]


def test_a_title_listed_in_two_categories_is_refused_naming_both_places(tmp_path):
    alpha, beta = tmp_path / "a.txt", tmp_path / "b.txt"
    alpha.write_bytes(cards_of("Alpha", "One"))
    beta.write_bytes(cards_of("Beta", "Two", "One"))

    with pytest.raises(CommandError) as refused:
        run_import(alpha, beta)

    assert str(refused.value) == (
        f"{beta}:15: “One”: category “Beta” disagrees with “Alpha” in {alpha}:8"
    )
    assert not Category.objects.exists() and not Explainer.objects.exists()

"""fixtures/explainers.json: the same content as the importer, loadable again and again."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from explainers.listings import parse_listing
from explainers.models import Explainer, HeroImage, Series
from explainers.services.imports import listings_import

from .helpers import LISTINGS, content_snapshot, delete_all_content

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "explainers.json"


def load_fixture():
    call_command("loaddata", "explainers", verbosity=0)


def test_the_fixture_and_the_importer_produce_the_same_content():
    load_fixture()
    from_fixture = content_snapshot()
    delete_all_content()

    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())

    assert content_snapshot() == from_fixture
    assert len(from_fixture["explainers"]) == 85


def test_loading_the_fixture_twice_or_over_imported_content_adds_nothing():
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    imported = content_snapshot()

    load_fixture()
    load_fixture()

    assert content_snapshot() == imported


def test_after_loading_the_fixture_every_hero_has_its_file(media_root):
    load_fixture()

    heroes = HeroImage.objects.all()
    assert heroes.count() == 85
    assert all((media_root / hero.image.name).is_file() for hero in heroes)


def test_the_fixture_uses_natural_keys_and_holds_only_content():
    records = json.loads(FIXTURE.read_text(encoding="utf-8"))

    assert {record["model"] for record in records} == {
        "explainers.category",
        "explainers.heroimage",
        "explainers.series",
        "explainers.explainer",
        "explainers.seriesitem",
    }
    assert not any("pk" in record for record in records)


def test_export_fixture_writes_what_loaddata_reads_back(tmp_path):
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    imported = content_snapshot()
    output = tmp_path / "export.json"
    call_command("export_fixture", output=str(output), stdout=io.StringIO())
    delete_all_content()

    call_command("loaddata", str(output), verbosity=0)

    assert content_snapshot() == imported


def test_load_initial_content_loads_an_empty_database_and_leaves_a_full_one_alone():
    out = io.StringIO()
    call_command("load_initial_content", stdout=out, verbosity=0)
    assert "Loaded 85 explainers in 3 categories." in out.getvalue()
    Explainer.objects.filter(title__startswith="Prompt Engineering").update(body="Edited")

    out = io.StringIO()
    call_command("load_initial_content", stdout=out, verbosity=0)

    assert "already has content" in out.getvalue()
    assert Explainer.objects.filter(body="Edited").count() == 1


# Exporting in bulk


def more_content(count: int, category: str) -> None:
    """``count`` imported explainers in ``category``, with an owner, an editor and an image in
    their bodies: every kind of relation the fixture names by natural key."""
    cards = "\n\n".join(
        f"Diagram {n}\nMONA explainer 3 min\n\n{category} title {n}\n\nAn excerpt {n} …"
        for n in range(count)
    )
    listing = parse_listing(f"{category}\n\nGenerated.\n\n{cards}".encode(), f"{category}.txt")
    listings_import(listings=[listing])
    user, _ = User.objects.get_or_create(username="dana")
    added = Explainer.objects.filter(category__name=category)
    added.update(owner=user, changed_by=user)
    through = Explainer.body_images.through
    through.objects.bulk_create(
        through(explainer_id=explainer.pk, heroimage_id=explainer.hero_id) for explainer in added
    )


def export(path: Path) -> int:
    """Export the content to ``path``; return how many queries it took."""
    with CaptureQueriesContext(connection) as captured:
        call_command("export_fixture", output=str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return len(captured)


def test_export_fixture_asks_as_many_queries_for_50_explainers_as_for_5(tmp_path):
    more_content(5, "Few")
    few = export(tmp_path / "few.json")
    more_content(45, "More")

    many = export(tmp_path / "many.json")

    assert Explainer.objects.count() == 50
    assert many == few <= 12
    records = json.loads((tmp_path / "many.json").read_text(encoding="utf-8"))
    assert sum(record["model"] == "explainers.explainer" for record in records) == 50


def test_export_fixture_writes_the_file_dumpdata_writes(tmp_path):
    more_content(5, "Few")
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    export(tmp_path / "export.json")

    call_command(
        "dumpdata",
        "explainers.Category",
        "explainers.HeroImage",
        "explainers.Series",
        "explainers.Explainer",
        "explainers.SeriesItem",
        natural_foreign=True,
        natural_primary=True,
        indent=2,
        output=str(tmp_path / "dumpdata.json"),
        verbosity=0,
    )

    exported = (tmp_path / "export.json").read_bytes()
    assert exported == (tmp_path / "dumpdata.json").read_bytes()
    assert b'"owner": [\n      "dana"\n    ]' in exported


def test_export_fixture_prints_its_progress_on_stderr(tmp_path):
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    out, err = io.StringIO(), io.StringIO()

    call_command("export_fixture", output=str(tmp_path / "x.json"), stdout=out, stderr=err)

    progress = [line.split(",")[0] for line in err.getvalue().splitlines()]
    assert progress == [
        "Exported 3/3 categories",
        "Exported 85/85 hero images",
        "Exported 2/2 series",
        "Exported 85/85 explainers",
        "Exported 85/85 series items",
    ]
    assert out.getvalue().startswith(f"Wrote {tmp_path / 'x.json'}: 3 categories, 85 hero")


# Loading in bulk


def load_in_bulk(path: Path, **kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_fixture", str(path), stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_load_fixture_puts_back_exactly_what_export_fixture_wrote(tmp_path, media_root):
    more_content(5, "Few")
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    export(tmp_path / "before.json")
    delete_all_content()
    # A new machine: none of the image files yet (the placeholders are drawn by the load).
    shutil.rmtree(media_root)

    out, err = load_in_bulk(tmp_path / "before.json")
    export(tmp_path / "after.json")

    # Every field of every record (times, owners, body images, counts), in the same order.
    assert (tmp_path / "after.json").read_bytes() == (tmp_path / "before.json").read_bytes()
    assert "explainers: 90 new, 0 updated" in out
    assert [line.split(",")[0].split(" (")[0] for line in err.splitlines()] == [
        "Loaded 4/4 categories",
        "Loaded 90/90 hero images",
        "Loaded 2/2 series",
        "Loaded 90/90 explainers",
        "Loaded 90/90 series items",
        "Ordering the listings …",
        "Indexing for search …",
        "Storing the cards …",
        "Counting explainers in categories and series …",
        "Drawing missing placeholder files …",
    ]
    assert all((media_root / hero.image.name).is_file() for hero in HeroImage.objects.all())


def test_load_fixture_over_the_same_content_updates_it_and_adds_nothing(tmp_path, client):
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())
    export(tmp_path / "site.json")
    imported = content_snapshot()
    Explainer.objects.filter(slug__startswith="prompt-engineering").update(title="Edited")

    out, _ = load_in_bulk(tmp_path / "site.json")

    assert content_snapshot() == imported
    assert "explainers: 0 new, 85 updated" in out
    found = client.get("/search/", {"q": "prompt engineering"}).content.decode()
    assert "Prompt Engineering for Image Generation" in found
    home = client.get("/").content.decode()
    assert "55 explainers" in home and "30 explainers" in home


def test_load_fixture_asks_no_query_per_record(tmp_path):
    more_content(5, "Few")
    export(tmp_path / "few.json")
    more_content(45, "More")
    export(tmp_path / "many.json")

    def queries_to_load(path):
        delete_all_content()
        with CaptureQueriesContext(connection) as captured:
            load_in_bulk(path)
        return len(captured)

    few, many = queries_to_load(tmp_path / "few.json"), queries_to_load(tmp_path / "many.json")

    # 225 records more: a batch more where SQLite caps a statement's parameters, and a
    # vocabulary update per distinct count, not a query per record.
    assert many - few <= 5, (few, many)
    assert Explainer.objects.count() == 50


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda explainer: explainer.update(category=["no/such/category"]),
            "category “no/such/category” is neither in the file before it nor in the database",
        ),
        (lambda explainer: explainer.update(created_at="yesterday"), "created_at"),
    ],
)
def test_a_fixture_naming_what_is_not_there_is_refused_whole(tmp_path, change, message):
    more_content(3, "Few")
    export(tmp_path / "site.json")
    records = json.loads((tmp_path / "site.json").read_text(encoding="utf-8"))
    explainers = [record for record in records if record["model"] == "explainers.explainer"]
    change(explainers[-1]["fields"])
    (tmp_path / "broken.json").write_text(json.dumps(records), encoding="utf-8")
    delete_all_content()

    with pytest.raises(CommandError, match=message) as refused:
        load_in_bulk(tmp_path / "broken.json")

    assert str(refused.value).startswith(f"{tmp_path / 'broken.json'}: record ")
    assert not Explainer.objects.exists() and not HeroImage.objects.exists()


def test_a_fixture_of_what_is_not_content_is_refused(tmp_path):
    records = [{"model": "auth.user", "fields": {"username": "mallory", "is_superuser": True}}]
    (tmp_path / "users.json").write_text(json.dumps(records), encoding="utf-8")

    with pytest.raises(CommandError, match="record 1: “auth.user” is not content"):
        load_in_bulk(tmp_path / "users.json")

    assert not User.objects.filter(username="mallory").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ('{"model": "explainers.series"}', "not a JSON list"),
        (
            '[{"model": "explainers.series", "fields": {"name": "A", "slug": "a"}}, {"mo',
            "2: not JSON",
        ),
        ('[{"model": "explainers.series", "fields": {"name": "A", "slug": "a"}}, 7]', "record 2"),
    ],
)
def test_a_file_that_is_not_a_whole_fixture_writes_nothing(tmp_path, text, message):
    (tmp_path / "bad.json").write_text(text, encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        load_in_bulk(tmp_path / "bad.json")

    assert not Series.objects.exists()

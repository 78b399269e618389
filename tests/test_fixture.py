"""fixtures/explainers.json: the same content as the importer, loadable again and again."""

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from explainers.listings import parse_listing
from explainers.models import Explainer, HeroImage
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

"""fixtures/explainers.json: the same content as the importer, loadable again and again."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from explainers.models import Explainer, HeroImage

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

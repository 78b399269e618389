"""A GIN index for full-text search, on PostgreSQL only (SQLite searches without one)."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "explainer_search_gin"


def search_index():
    # Frozen copy of explainers.search.SEARCH_VECTOR: queries use the index while they match.
    config = "english"
    vector = (
        SearchVector("title", weight="A", config=config)
        + SearchVector("excerpt", weight="B", config=config)
        + SearchVector("body", weight="C", config=config)
    )
    return GinIndex(vector, name=INDEX_NAME)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("explainers", "Explainer"), search_index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("explainers", "Explainer"), search_index())


class Migration(migrations.Migration):
    dependencies = [("explainers", "0001_initial")]

    operations = [migrations.RunPython(add_index, remove_index)]

"""PostgreSQL's side of site search, then the index and vocabulary of existing content.

On PostgreSQL: pg_trgm (for the vocabulary's trigram index), a GIN index on the stored
``SearchDocument.vector`` that search matches and ranks from, and the trigram GIN index
that finds the indexed words nearest a misspelled one. The GIN expression index of
migration 0002 goes: nothing queries that expression any more, and every save paid for it.
Other databases skip those steps (SQLite's index is migration 0010's FTS5 tables).

Then every database indexes the explainers it already has (a fresh one has none).
"""

import importlib

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

POSTGRES_INDEXES = [
    "CREATE INDEX search_document_vector ON explainers_searchdocument USING gin (vector)",
    "CREATE INDEX search_term_trigrams ON explainers_searchterm USING gin (word gin_trgm_ops)",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS search_term_trigrams",
    "DROP INDEX IF EXISTS search_document_vector",
]
expression_index = importlib.import_module("explainers.migrations.0002_search_index")


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_INDEXES:
            schema_editor.execute(statement)
        expression_index.remove_index(apps, schema_editor)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        expression_index.add_index(apps, schema_editor)
        for statement in POSTGRES_DROP:
            schema_editor.execute(statement)


def index_existing_content(apps, schema_editor):
    # The service itself rather than a frozen copy: the index is derived data, and a copy
    # here would have to tokenise, weigh and count exactly as it does.
    from explainers.services.search_index import search_index_rebuild

    if apps.get_model("explainers", "Explainer").objects.using(schema_editor.connection.alias).exists():
        search_index_rebuild(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("explainers", "0010_search_documents")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(add_indexes, remove_indexes),
        migrations.RunPython(index_existing_content, migrations.RunPython.noop),
    ]

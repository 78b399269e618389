"""Site search's own tables: a document per explainer and the vocabulary of published words.

On SQLite the text is indexed in an FTS5 table (``explainers_search_fts``, rowid = the
explainer's id: title, excerpt, body, hero alt text, series names, category name) and the
vocabulary's words by their trigrams in another (``explainers_searchterm_trigrams``), which
triggers keep in step with ``explainers_searchterm``. Other databases skip both: PostgreSQL
indexes ``SearchDocument.vector`` (migration 0011).
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE explainers_search_fts USING fts5("
    "title, excerpt, body, alt_text, series, category, "
    "tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE explainers_searchterm_trigrams USING fts5("
    "word, content = 'explainers_searchterm', content_rowid = 'id', tokenize = 'trigram')",
    "CREATE TRIGGER explainers_searchterm_added AFTER INSERT ON explainers_searchterm BEGIN "
    "INSERT INTO explainers_searchterm_trigrams (rowid, word) VALUES (new.id, new.word); END",
    "CREATE TRIGGER explainers_searchterm_removed AFTER DELETE ON explainers_searchterm BEGIN "
    "INSERT INTO explainers_searchterm_trigrams (explainers_searchterm_trigrams, rowid, word) "
    "VALUES ('delete', old.id, old.word); END",
    "CREATE TRIGGER explainers_searchterm_renamed AFTER UPDATE OF word ON explainers_searchterm "
    "BEGIN "
    "INSERT INTO explainers_searchterm_trigrams (explainers_searchterm_trigrams, rowid, word) "
    "VALUES ('delete', old.id, old.word); "
    "INSERT INTO explainers_searchterm_trigrams (rowid, word) VALUES (new.id, new.word); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS explainers_searchterm_renamed",
    "DROP TRIGGER IF EXISTS explainers_searchterm_removed",
    "DROP TRIGGER IF EXISTS explainers_searchterm_added",
    "DROP TABLE IF EXISTS explainers_searchterm_trigrams",
    "DROP TABLE IF EXISTS explainers_search_fts",
]


def run_on_sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("explainers", "0009_listing_indexes")]

    operations = [
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.CharField(max_length=40, unique=True)),
                ("document_count", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                ("explainer", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="search_document", serialize=False, to="explainers.explainer")),
                ("words", models.TextField(blank=True)),
                ("counted", models.BooleanField(default=False)),
                ("vector", django.contrib.postgres.search.SearchVectorField(null=True)),
            ],
            options={
                "indexes": [models.Index(condition=models.Q(("counted", False)), fields=["explainer"], name="search_document_uncounted")],
            },
        ),
        migrations.RunPython(run_on_sqlite(SQLITE_TABLES), run_on_sqlite(SQLITE_DROP)),
    ]

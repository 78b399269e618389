"""Keeping site search's index and vocabulary in step with the explainers.

What is indexed of an explainer: its title, excerpt, body, hero's alt text, series names and
category name, in a ``SearchDocument`` (PostgreSQL: its ``vector``; SQLite: a row of the FTS5
table ``explainers_search_fts`` too). Every explainer has one, drafts too: readers' searches
filter with ``Explainer.objects.published()``, so an explainer scheduled for later is found
from the moment it is published, with no write then.

The vocabulary (``SearchTerm``) is the words of the explainers readers can find, with how many
contain each: what a misspelled query word is corrected to. A document's words are counted
while it was published when last indexed (``counted``); the scheduled ones that have come out
since are counted when a search next needs the vocabulary (``search_terms_catch_up``).

Saves reach here through signals (explainers/signals.py); bulk writes (the importer, bulk
publishing) call ``search_index_refresh`` for the rows they wrote.
"""

import re
from collections import Counter
from collections.abc import Iterable

from django.db import connections, router, transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Greatest

from ..models import Explainer, SearchDocument, SearchTerm, SeriesItem

SEARCH_CONFIG = "english"
BATCH_SIZE = 500
# Words worth offering as corrections: long enough to misspell, short enough to be words.
TERM_LENGTHS = range(3, SearchTerm._meta.get_field("word").max_length + 1)
WORD = re.compile(r"\w+")
FTS_TABLE = "explainers_search_fts"
FTS_COLUMNS = ["title", "excerpt", "body", "alt_text", "series", "category"]
# PostgreSQL's weights (A is the heaviest): the title, the excerpt, the body; what describes
# it from outside its text (alt text, series, category) weighs least.
POSTGRES_WEIGHTS = {"title": "A", "excerpt": "B", "body": "C", "alt_text": "D", "series": "D",
                    "category": "D"}  # fmt: skip


def vocabulary_words(text: str) -> set[str]:
    """The words of ``text`` the vocabulary keeps: lowercased, with a letter, of TERM_LENGTHS."""
    return {
        word
        for word in WORD.findall(text.lower())
        if len(word) in TERM_LENGTHS and not word.isdigit() and "_" not in word
    }


def search_index_refresh(
    *, explainer_ids: Iterable[int], using: str | None = None, count_words: bool = True
) -> None:
    """Index these explainers afresh as they are in the database (one that is gone is taken
    out), and move the vocabulary's counts by the words they gained and lost.

    Without ``count_words`` their new words wait uncounted, as a scheduled explainer's do,
    for the next ``search_terms_catch_up`` to count them all at once (a fixture's rows, each
    saved on its own, would otherwise move the same counts once per row)."""
    ids = sorted(set(explainer_ids))
    using = using or router.db_for_write(Explainer)
    lost, gained = Counter(), Counter()
    with transaction.atomic(using=using):
        for batch in _batches(ids):
            batch_lost, batch_gained = _refresh_batch(batch, using, count_words)
            lost.update(batch_lost)
            gained.update(batch_gained)
        # Once for the whole refresh: an import's 100,000 rows move each word's count in one
        # UPDATE per distinct change, not in one per batch.
        _move_counts(lost, gained, using)


def search_index_remove(*, explainer_ids: Iterable[int], using: str | None = None) -> None:
    """Take these explainers out of the index and their words out of the vocabulary (before
    they are deleted)."""
    ids = sorted(set(explainer_ids))
    using = using or router.db_for_write(Explainer)
    with transaction.atomic(using=using):
        for batch in _batches(ids):
            documents = SearchDocument.objects.using(using).filter(explainer_id__in=batch)
            _move_counts(_counted_words(documents), Counter(), using)
            documents.delete()
            _delete_fts_rows(batch, using)


def search_index_rebuild(*, using: str | None = None, progress=None) -> int:
    """Index every explainer and count the vocabulary from scratch; return how many."""
    using = using or router.db_for_write(Explainer)
    with transaction.atomic(using=using):
        SearchTerm.objects.using(using).all().delete()
        SearchDocument.objects.using(using).all().delete()
        if connections[using].vendor == "sqlite":
            with connections[using].cursor() as cursor:
                cursor.execute(f"DELETE FROM {FTS_TABLE}")
        ids = list(Explainer.objects.using(using).order_by("pk").values_list("pk", flat=True))
        counts = Counter()
        for done, batch in enumerate(_batches(ids), 1):
            for words in _write_documents(_texts(batch, using), using):
                counts.update(words)
            if progress is not None:
                progress(min(done * BATCH_SIZE, len(ids)), len(ids))
        SearchTerm.objects.using(using).bulk_create(
            [SearchTerm(word=word, document_count=count) for word, count in counts.items()],
            batch_size=BATCH_SIZE,
        )
    return len(ids)


def search_terms_catch_up(*, using: str | None = None) -> None:
    """Count the words of scheduled explainers that readers can find now (published since
    they were indexed, with no write at that time)."""
    using = using or router.db_for_write(Explainer)
    come_out = SearchDocument.objects.using(using).filter(
        counted=False, explainer__in=Explainer.objects.using(using).published()
    )
    ids = list(come_out.values_list("explainer_id", flat=True))
    if ids:
        search_index_refresh(explainer_ids=ids, using=using)


def _refresh_batch(ids: list[int], using: str, count_words: bool) -> tuple[Counter, Counter]:
    """Index these afresh; return the counted words they lost and gained."""
    # Locked: two refreshes of one document at once (two searches catching up) would both
    # count its words; the second waits, then finds them counted.
    old = SearchDocument.objects.using(using).filter(explainer_id__in=ids)
    lost = _counted_words(old.select_for_update().order_by("pk"))
    texts = _texts(ids, using)
    gone = set(ids) - {text["id"] for text in texts}
    if gone:
        SearchDocument.objects.using(using).filter(explainer_id__in=gone).delete()
        _delete_fts_rows(sorted(gone), using)
    gained = Counter()
    for words in _write_documents(texts, using, count_words):
        gained.update(words)
    return lost, gained


def _counted_words(documents) -> Counter:
    lost = Counter()
    for words, counted in documents.values_list("words", "counted"):
        if counted:
            lost.update(words.split())
    return lost


def _texts(ids: list[int], using: str) -> list[dict]:
    """What is indexed of these explainers, one dict each (``published``: readers see it)."""
    explainers = Explainer.objects.using(using)
    rows = (
        explainers.filter(pk__in=ids)
        .annotate(published=Exists(explainers.published().filter(pk=OuterRef("pk"))))
        .values("id", "title", "excerpt", "body", "hero__alt_text", "category__name", "published")
    )
    series: dict[int, list[str]] = {}
    members = SeriesItem.objects.using(using).filter(content_object_id__in=ids)
    members = members.order_by("tag__name")
    for explainer_id, name in members.values_list("content_object_id", "tag__name"):
        series.setdefault(explainer_id, []).append(name)
    return [
        {
            "id": row["id"],
            "published": row["published"],
            "title": row["title"],
            "excerpt": row["excerpt"],
            "body": row["body"],
            "alt_text": row["hero__alt_text"] or "",
            "series": " ".join(series.get(row["id"], [])),
            "category": row["category__name"],
        }
        for row in rows
    ]


def _write_documents(texts: list[dict], using: str, count_words: bool = True) -> list[set[str]]:
    """Store these documents (and the full-text index of each); return the words of those
    counted in the vocabulary (published, with ``count_words``)."""
    documents, counted = [], []
    for text in texts:
        words = vocabulary_words(" ".join(text[column] for column in FTS_COLUMNS))
        is_counted = text["published"] and count_words
        documents.append(
            SearchDocument(
                explainer_id=text["id"], words=" ".join(sorted(words)), counted=is_counted
            )
        )
        if is_counted:
            counted.append(words)
    SearchDocument.objects.using(using).bulk_create(
        documents,
        update_conflicts=True,
        unique_fields=["explainer"],
        update_fields=["words", "counted"],
        batch_size=BATCH_SIZE,
    )
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and texts:
            vector = " || ".join(
                f"setweight(to_tsvector('{SEARCH_CONFIG}', v.{column}), '{weight}')"
                for column, weight in POSTGRES_WEIGHTS.items()
            )
            values = ", ".join(["(%s::bigint, %s, %s, %s, %s, %s, %s)"] * len(texts))
            cursor.execute(
                f"UPDATE explainers_searchdocument AS d SET vector = {vector} "
                f"FROM (VALUES {values}) AS v(id, {', '.join(FTS_COLUMNS)}) "
                "WHERE d.explainer_id = v.id",
                [value for text in texts for value in (text["id"], *map(text.get, FTS_COLUMNS))],
            )
        elif connection.vendor == "sqlite" and texts:
            _delete_fts_rows([text["id"] for text in texts], using)
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(FTS_COLUMNS)}) "
                f"VALUES (%s, {', '.join(['%s'] * len(FTS_COLUMNS))})",
                [(text["id"], *map(text.get, FTS_COLUMNS)) for text in texts],
            )
    return counted


def _delete_fts_rows(ids: list[int], using: str) -> None:
    connection = connections[using]
    if connection.vendor == "sqlite" and ids:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({', '.join(['%s'] * len(ids))})", ids
            )


def _move_counts(lost: Counter, gained: Counter, using: str) -> None:
    """Add ``gained - lost`` to the vocabulary's counts; a word no explainer has leaves it."""
    change = Counter(gained)
    change.subtract(lost)
    by_delta: dict[int, list[str]] = {}
    for word, delta in change.items():
        if delta:
            by_delta.setdefault(delta, []).append(word)
    if not by_delta:
        return
    terms = SearchTerm.objects.using(using)
    added = sorted(word for delta, words in by_delta.items() if delta > 0 for word in words)
    # Rows for new words first (another writer adding the same word waits on the unique
    # index, and then skips it), then increments in the database, so that two saves at once
    # both count: one UPDATE per distinct change (+1 and -1, for a save).
    terms.bulk_create([SearchTerm(word=word) for word in added], ignore_conflicts=True,
                      batch_size=BATCH_SIZE)  # fmt: skip
    for delta, words in sorted(by_delta.items()):
        for batch in _batches(sorted(words)):
            terms.filter(word__in=batch).update(
                document_count=Greatest(F("document_count") + delta, Value(0))
            )
    dropped = sorted(word for delta, words in by_delta.items() if delta < 0 for word in words)
    for batch in _batches(dropped):
        terms.filter(word__in=batch, document_count=0).delete()


def _batches(items: list, size: int = BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""Benchmark site search: the search page for a common word, a misspelled word and two-word
queries, on the seed fixture and on N more synthetic explainers.

How:

1. a temporary folder holds a throwaway SQLite database (or, with ``--database-url``, a
   throwaway PostgreSQL database made with createdb and dropped afterwards: bench_database);
2. a subprocess migrates it, loads the seed fixture (85 explainers) and, unless N is 0, adds
   N published explainers (titles, excerpts and ~120-word bodies drawn from a vocabulary of
   real terms and 20,000 made-up words, Zipf-weighted, so that "model" is in about half of
   them), N/20 drafts, N/100 categories in 10 sections and N/1,000 series, with
   bulk_create; then builds the search index and vocabulary (``search_index_rebuild``, timed)
   and runs ANALYZE;
3. a fresh subprocess requests ``/search/?q=…`` through Django's test client, in process,
   with the production settings (DJANGO_DEBUG=0), once to warm up and then ``--repeat``
   times per query, and prints the best and median wall time in ms, the SQL queries of one
   request and what the page says it found.

Run from anywhere, with the project's virtualenv:

    .venv/bin/python bench/search_bench.py                 # the fixture and 20,000 more, SQLite
    .venv/bin/python bench/search_bench.py 0 --repeat 5    # the fixture alone
    .venv/bin/python bench/search_bench.py 100000 --database-url postgres://postgres@127.0.0.1:5432
"""

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_database import database, synthetic_leaves

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PHASE_TIMEOUT = 3600  # seconds; no phase may hang the benchmark for longer
BATCH = 2000
SECTIONS = 10
BODY_WORDS = 120
QUERIES = {
    "common word": "model",
    "misspelled word": "difusion",
    "two words": "attention heads",
    "two words, one misspelled": "softmax temprature",
}
REAL_WORDS = (
    "model attention tokens training inference diffusion transformer embedding gradient "
    "layer weights softmax temperature sampling quantization tokenizer hallucination latent "
    "benchmark alignment reward context window memory cache decoding retrieval vector sparse "
    "expert routing scaling loss data compute probability prediction heads encoder decoder"
).split()
COUNT_LINE = re.compile(r'<p class="lead search-count">(.*?)</p>', re.DOTALL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=20_000, help="synthetic explainers")
    parser.add_argument("--repeat", type=int, default=5, help="requests per query")
    parser.add_argument("--database-url", help="a postgres:// URL (default: SQLite)")
    parser.add_argument("--phase", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count < 0 or args.repeat < 1:
        parser.error("count must be at least 0 and --repeat at least 1")
    if args.phase == "fill":
        fill(args.count)
        return 0
    if args.phase == "measure":
        measure(args.repeat)
        return 0

    with tempfile.TemporaryDirectory(prefix="explainers-search-bench-") as tmp:
        tmp = Path(tmp)
        with database(args.database_url, tmp, "explainers_search_bench") as url:
            env = bench_env(tmp, url)
            started = time.perf_counter()
            filled = json.loads(phase(env, "fill", args).splitlines()[-1])
            kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
            print(
                f"{kind}: {filled['explainers']:,} explainers ({filled['published']:,} "
                f"published), filled in {time.perf_counter() - started:.1f} s; index and "
                f"vocabulary ({filled['terms']:,} words) built in {filled['index_s']:.1f} s"
            )
            report(json.loads(phase(env, "measure", args).splitlines()[-1]))
    return 0


def bench_env(tmp: Path, database_url: str) -> dict:
    """Production settings, in-process requests; nothing inherited from the caller's DJANGO_."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DATABASE_URL=database_url,
        PYTHONPATH=str(PROJECT),
    )
    return env


def phase(env: dict, name: str, args) -> str:
    command = [PYTHON, __file__, str(args.count), "--repeat", str(args.repeat), "--phase", name]
    done = subprocess.run(
        command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=PHASE_TIMEOUT
    )
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def made_up_words(rng: random.Random, count: int) -> list[str]:
    syllables = "ka lo mi ne ru sa ti vo pe da fi gu ho ze xa qui bre stro plan dex".split()
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def fill(count: int) -> None:
    """Migrate, load the fixture, add ``count`` explainers, index (phase 1); print JSON."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from explainers.models import Explainer, SearchTerm, Series, SeriesItem
    from explainers.services.search_index import search_index_rebuild

    call_command("migrate", verbosity=0, interactive=False)
    # Production settings serve hashed static names from the manifest collectstatic writes.
    call_command("collectstatic", verbosity=0, interactive=False)
    call_command("loaddata", "explainers", verbosity=0)
    rng = random.Random(count)
    vocabulary = REAL_WORDS + made_up_words(rng, 20_000)
    # Zipf-like: the n-th word is drawn in proportion to 1/n ("model" first, in about half).
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]

    def text(words):
        return " ".join(rng.choices(vocabulary, weights, k=words))

    now = timezone.now()
    with transaction.atomic():
        leaves = synthetic_leaves(SECTIONS, max(1, count // 100))
        series = Series.objects.bulk_create(
            Series(name=f"Series {n}", slug=f"series-{n}") for n in range(max(1, count // 1000))
        )
        for start in range(0, count + count // 20, BATCH):
            batch = [
                Explainer(
                    title=text(8).title(),
                    slug=f"synthetic-{n}",
                    category=leaves[n % len(leaves)],
                    excerpt=text(20),
                    body=text(BODY_WORDS),
                    reading_time=1,
                    status="draft" if n >= count else Explainer.Status.PUBLISHED,
                    published_at=now - timezone.timedelta(seconds=n),
                    position=n // len(leaves),
                )
                for n in range(start, min(start + BATCH, count + count // 20))
            ]
            Explainer.objects.bulk_create(batch)
            SeriesItem.objects.bulk_create(
                SeriesItem(tag=series[explainer.pk % len(series)], content_object=explainer)
                for explainer in batch[::2]
            )
    started = time.perf_counter()
    search_index_rebuild()
    index_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        json.dumps(
            {
                "explainers": Explainer.objects.count(),
                "published": Explainer.objects.published().count(),
                "terms": SearchTerm.objects.count(),
                "index_s": index_s,
            }
        )
    )


def measure(repeat: int) -> None:
    """Request the search page for each query (phase 2, in a fresh process); print JSON."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get("/search/", {"q": "warm up"})  # templates, URL resolvers, the connection
    results = {}
    for label, query in QUERIES.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get("/search/", {"q": query})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (query, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/search/", {"q": query})
        found = COUNT_LINE.search(response.content.decode())
        results[label] = {
            "query": query,
            "best_ms": min(times),
            "median_ms": statistics.median(times),
            "queries": len(queries),
            "says": " ".join(found[1].split()) if found else "(no count)",
        }
    print(json.dumps(results))


def report(results: dict) -> None:
    print(f"{'query':<44} {'best ms':>8} {'median ms':>10} {'SQL':>4}  page says")
    for label, row in results.items():
        print(
            f"{label + ': ' + row['query']:<44} {row['best_ms']:>8.1f} {row['median_ms']:>10.1f} "
            f"{row['queries']:>4}  {row['says']}"
        )


if __name__ == "__main__":
    sys.exit(main())

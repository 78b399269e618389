"""Benchmark the sitemap: the index and its largest section page, for N published explainers.

How:

1. a temporary folder holds a throwaway SQLite database (or, with ``--database-url``, a
   throwaway PostgreSQL database made with createdb and dropped with dropdb afterwards);
2. a subprocess migrates it and fills it (not timed) with N published explainers (``count``,
   default 20,000), N/20 drafts and N/100 scheduled ones (which no sitemap may list), N/100
   categories in 10 sections, and N/1,000 series of 20 explainers each, written with
   bulk_create, then ANALYZE (the planner's statistics, as a live database has them);
3. a second, fresh subprocess (so that its peak RSS is the sitemap's, not the filling's)
   renders through Django's test client, in process, with the production settings
   (DJANGO_DEBUG=0) and, for the uncached figures, Django's DummyCache in place of the page
   cache: the index once to warm up, then ``--repeat`` times (default 3) the index and every
   page of every section it lists, then the index and the largest section page once more
   from the page cache (locmem) to show a hit. It checks that every published explainer is
   listed exactly once.

It prints, per address: the best and median wall time and the best CPU time in ms, the size
in bytes and the number of addresses listed; then the process's peak RSS (resource.getrusage)
before the first request and after the last. No HTTP server: requests go through the test
client in process; the database is a local file or PostgreSQL on 127.0.0.1. The CPU column
(this process's CPU time, best of the runs) depends less on what else the machine runs than
the wall times do (PostgreSQL's own CPU is not in it).

Run from anywhere, with the project's virtualenv:

    .venv/bin/python bench/sitemap_bench.py
    .venv/bin/python bench/sitemap_bench.py 100000 --repeat 2
    .venv/bin/python bench/sitemap_bench.py --database-url postgres://postgres@127.0.0.1:5432

A ``--database-url`` with a database name uses that name, which must not exist yet (the script
drops only what it created); without one the name is ``explainers_sitemap_bench_<pid>``.
"""

import argparse
import json
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

from bench_database import database, synthetic_leaves

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
LOC = re.compile(rb"<loc>([^<]*)</loc>")
PUBLISHED = re.compile(rb"/published-([0-9]+)/$")
PHASE_TIMEOUT = 1800  # seconds; no phase may hang the benchmark for longer
BATCH = 5000
SECTIONS = 10
SERIES_SIZE = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=20_000, help="published explainers")
    parser.add_argument("--repeat", type=int, default=3, help="uncached renders of each address")
    parser.add_argument("--section-size", type=int, help="SITEMAP_SECTION_SIZE (default 200)")
    parser.add_argument("--database-url", help="a postgres:// URL (default: SQLite)")
    parser.add_argument("--phase", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count < 1 or args.repeat < 1:
        parser.error("count and --repeat must be at least 1")
    if args.phase == "fill":
        fill(args.count)
        return 0
    if args.phase == "measure":
        measure(args.count, args.repeat)
        return 0

    with tempfile.TemporaryDirectory(prefix="explainers-sitemap-bench-") as tmp:
        tmp = Path(tmp)
        with database(args.database_url, tmp, "explainers_sitemap_bench") as url:
            env = bench_env(tmp, url, args.section_size)
            started = time.perf_counter()
            phase(env, "fill", args)
            print(f"filled in {time.perf_counter() - started:.1f} s ({describe(url)})")
            report(json.loads(phase(env, "measure", args).splitlines()[-1]))
    return 0


def bench_env(tmp: Path, database_url: str, section_size: int | None) -> dict:
    """Production settings, in-process requests; nothing inherited from the caller's DJANGO_."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings",
        DJANGO_DEBUG="0",  # DEBUG would keep every query's SQL in memory
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DATABASE_URL=database_url,
        PYTHONPATH=str(PROJECT),
    )
    if section_size is not None:
        env["BENCH_SITEMAP_SECTION_SIZE"] = str(section_size)
    return env


def phase(env: dict, name: str, args) -> str:
    command = [PYTHON, __file__, str(args.count), "--repeat", str(args.repeat), "--phase", name]
    done = subprocess.run(
        command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=PHASE_TIMEOUT
    )
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def describe(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


def setup_django():
    import django

    django.setup()


def fill(count: int) -> None:
    """Migrate and fill the database (phase 1, in its own process)."""
    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from explainers.models import Explainer, Series, SeriesItem

    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    with transaction.atomic():
        leaves = synthetic_leaves(SECTIONS, max(1, count // 100))
        published = Explainer.Status.PUBLISHED
        kinds = [("published", count, published, -1), ("draft", count // 20, "draft", None)]
        kinds.append(("scheduled", count // 100, published, 1))
        created = []
        for prefix, how_many, status, days in kinds:
            for start in range(0, how_many, BATCH):
                batch = [
                    Explainer(
                        title=f"{prefix.title()} {n}",
                        slug=f"{prefix}-{n}",
                        category=leaves[n % len(leaves)],
                        excerpt=f"About {prefix} {n}.",
                        reading_time=5,
                        status=status,
                        published_at=None
                        if days is None
                        else now + timezone.timedelta(days=days, seconds=-n),
                        position=n // len(leaves),
                    )
                    for n in range(start, min(start + BATCH, how_many))
                ]
                Explainer.objects.bulk_create(batch)
                if prefix == "published":
                    created.extend(explainer.pk for explainer in batch[::50])
        series = Series.objects.bulk_create(
            Series(name=f"Series {n}", slug=f"series-{n}") for n in range(max(1, count // 1000))
        )
        SeriesItem.objects.bulk_create(
            SeriesItem(tag=series[(n // SERIES_SIZE) % len(series)], content_object_id=pk)
            for n, pk in enumerate(
                Explainer.objects.filter(status=published, published_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[: len(series) * SERIES_SIZE]
            )
        )
    # The planner's statistics, as a live database has them (autovacuum would take its time):
    # without them PostgreSQL plans the series' subqueries for empty tables, 30 times slower.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(count: int, repeat: int) -> None:
    """Render the sitemap's addresses (phase 2, in a fresh process); print JSON."""
    setup_django()
    from django.core.cache import cache
    from django.test import Client, override_settings

    import explainers.sitemaps  # noqa: F401  (imported before the baseline RSS is read)

    size = os.environ.get("BENCH_SITEMAP_SECTION_SIZE")
    overrides = {"SITEMAP_SECTION_SIZE": int(size)} if size else {}
    dummy = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    client = Client()
    results = {"count": count, "section_size": int(size) if size else None, "pages": {}}
    with override_settings(CACHES=dummy, **overrides):
        index = get(client, "/sitemap.xml")  # warm-up: templates, URL resolvers, connection
        results["rss_before_kb"] = peak_rss_kb()
        pages = [urlsplit(loc.text).path for loc in index.findall("sm:sitemap/sm:loc", NS)]
        # Which published explainers were listed, and how often (a byte each).
        listed = bytearray(count)
        strays = 0
        for address in ["/sitemap.xml", *pages]:
            times, cpu, body = [], [], b""
            for _ in range(repeat):
                body = b""  # the previous answer is not kept while the next one is made
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(address)
                cpu.append((time.process_time() - started_cpu) * 1000)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (address, response.status_code)
                body = response.content
                del response
            # Not ElementTree: a tree of 50,000 elements would weigh on the peak RSS.
            locations = LOC.findall(body)
            if address.startswith("/sitemap-explainers"):
                for location in locations:
                    if (number := PUBLISHED.search(location)) is None:
                        strays += 1  # a draft or a scheduled explainer
                    else:
                        listed[int(number[1])] += 1
            results["pages"][address] = {
                "best_ms": min(times),
                "median_ms": statistics.median(times),
                "cpu_ms": min(cpu),
                "bytes": len(body),
                "addresses": len(locations),
            }
        results["rss_after_kb"] = peak_rss_kb()
    # Every published explainer exactly once; no draft, no scheduled one.
    assert strays == 0, f"{strays} unpublished explainers listed"
    assert listed == bytes([1]) * count, f"{count - listed.count(1)} not listed exactly once"
    # The last of the fullest pages: the deepest OFFSET.
    largest = max(reversed(pages), key=lambda address: results["pages"][address]["addresses"])
    results["largest"] = largest
    with override_settings(**overrides):
        cache.clear()
        for address in ["/sitemap.xml", largest]:
            client.get(address)  # a miss fills the page cache
            started = time.perf_counter()
            response = client.get(address)
            results["pages"][address]["hit_ms"] = (time.perf_counter() - started) * 1000
            assert response["X-Cache"] == "hit", address
    print(json.dumps(results))


def get(client, address):
    response = client.get(address)
    assert response.status_code == 200, (address, response.status_code)
    return ET.fromstring(response.content)


def peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux


def report(results: dict) -> None:
    pages = results["pages"]
    size = results["section_size"] or 10_000
    print(f"{results['count']:,} published explainers, sections of at most {size:,} addresses")
    header = ["address", "best ms", "median ms", "CPU ms", "hit ms", "bytes", "URLs"]
    print("{:<28} {:>8} {:>9} {:>7} {:>7} {:>10} {:>7}".format(*header))
    for address, page in pages.items():
        hit = f"{page['hit_ms']:.1f}" if "hit_ms" in page else ""
        mark = "  (largest)" if address == results["largest"] else ""
        print(
            f"{address:<28} {page['best_ms']:>8.1f} {page['median_ms']:>9.1f}"
            f" {page['cpu_ms']:>7.1f} {hit:>7} {page['bytes']:>10,} {page['addresses']:>7,}{mark}"
        )
    total_ms = sum(page["best_ms"] for page in pages.values())
    total_bytes = sum(page["bytes"] for page in pages.values())
    print(f"all {len(pages)} addresses: {total_ms:.0f} ms, {total_bytes:,} bytes (uncached)")
    print(
        f"peak RSS: {results['rss_before_kb'] / 1024:.0f} MB after the warm-up, "
        f"{results['rss_after_kb'] / 1024:.0f} MB after every page"
    )
    print("every published explainer listed exactly once; no draft or scheduled one")


if __name__ == "__main__":
    sys.exit(main())

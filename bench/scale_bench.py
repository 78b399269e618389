"""Benchmark the site at scale: every page at 85 explainers against the same page at N.

Issue 15's table, measured the way an ops team sizing the site would:

1. two throwaway PostgreSQL databases (bench_database.database: created for the run, dropped
   after it): the small one holds the project's fixture (85 explainers, ``loaddata
   explainers``); the big one N explainers (``--size``, default 100,000) in 1,114 categories
   (11 sections of 10 (one: 1) middle categories of 10 (one: 2) leaves: a 3-level tree) with
   one leaf holding N/5 of them, and 502 series, "MONA explainer" holding half of all
   explainers. The big one is loaded like a real site: synthetic listing files (breadcrumb
   listings place the categories, card listings of 30 cards a page fill them, the format of
   fixtures/listings) through the real ``manage.py import_listings`` (timed, with its peak
   RSS), then ``VACUUM ANALYZE`` (as autovacuum leaves a live database); then ``export_fixture``
   of it and ``load_fixture`` of that dump into a third fresh database are timed (skip them
   with ``--no-fixture``);
2. in each database, a superuser with a confirmed authenticator (TOTP device) and a session
   that has passed both sign-in steps, as ``tests.helpers.sign_in_verified`` makes one: the
   admin pages are measured as a signed-in editor sees them, and two-factor sign-in stays
   exactly as strict as in production (the bench database is the only place it is set up);
3. the addresses to measure, found on each site (the sitemap's largest section page, the last
   page links of the series and category pages and of the admin's list) and each address's
   SQL query count, through Django's test client in a subprocess with the same settings;
4. one gunicorn per database (production settings, DEBUG off, 2 sync workers, no page cache:
   every cache alias is Django's DummyCache, as ../shared/bench/sut_explainers.sh does it)
   on 127.0.0.1; after a warm-up request for each address, ``--rounds`` rounds (default 10)
   send each address to the small and the big site in turn (alternating which goes first),
   one request at a time, so that both see the same machine. After the sitemap's requests, and
   at the end, the workers' peak RSS (VmHWM in /proc/<pid>/status) is read.

It prints, per address: the median and p95 wall time of the small and the big site in ms, the
ratio of the medians, and the SQL queries of each; then the command times and peak RSS, and the
workers' memory. It exits non-zero if a command fails or a page does not answer 200.

Run from the project folder, with the project's virtualenv (PostgreSQL on 127.0.0.1:5432 as
user postgres, trust authentication):

    .venv/bin/python bench/scale_bench.py                 # N = 100,000 (about 15 minutes)
    .venv/bin/python bench/scale_bench.py --size 20000 --rounds 5 --no-fixture
"""

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_database import database
from import_bench import SUBJECTS, WORDS, BenchError, run_measured
from pages_bench import gunicorn

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432"
PHASE_TIMEOUT = 3600  # seconds; no subprocess may hang the benchmark for longer
REQUEST_TIMEOUT = 120  # seconds for one request (a slow sitemap at 100k takes a few)
CARDS_PER_PAGE = 30
SECTIONS, MIDDLES, LEAVES = 10, 10, 10  # the regular tree; plus the archive's branch below
OTHER_SERIES = 501
COMMON_WORD = "model"  # in about every other title and excerpt, at either size
# Every cache alias becomes a DummyCache: each request renders its page and asks the database.
UNCACHED_SETTINGS_SOURCE = """from site_config.settings import *  # noqa: F403

DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
CACHES = {alias: DUMMY for alias in CACHES}  # noqa: F405
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="explainers in the big site")
    parser.add_argument("--rounds", type=int, default=10, help="requests per address and site")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="postgres:// URL")
    parser.add_argument(
        "--no-fixture", action="store_true", help="skip export_fixture and its load_fixture"
    )
    parser.add_argument("--phase", choices=["prepare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "prepare":
        prepare()
        return 0
    if args.size < 1200 or args.rounds < 1:
        parser.error("--size must be at least 1,200 (the tree's leaves) and --rounds at least 1")
    try:
        run_benchmark(args)
    except BenchError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_benchmark(args) -> None:
    base = args.database_url.rstrip("/")
    commands: list[tuple[str, float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="explainers-scale-bench-") as tmp,
        database(base, Path(tmp), "explainers_scale_small") as small_url,
        database(base, Path(tmp), "explainers_scale_big") as big_url,
    ):
        tmp = Path(tmp)
        (tmp / "uncached_settings.py").write_text(UNCACHED_SETTINGS_SOURCE)
        small_env, big_env = bench_env(tmp, small_url, "small"), bench_env(tmp, big_url, "big")
        listings = tmp / "listings"
        listings.mkdir()
        write_listings(listings, args.size)

        say("small site: migrate, loaddata explainers")
        manage(small_env, "migrate", "--no-input", "-v0")
        manage(small_env, "collectstatic", "--no-input", "-v0")  # one folder for all three
        commands.append(("loaddata, the fixture (85)", *timed(small_env, "loaddata", "explainers")))
        say(f"big site: migrate, import_listings of {args.size:,} cards")
        manage(big_env, "migrate", "--no-input", "-v0")
        commands.append(
            (f"import_listings ({args.size:,})", *timed(big_env, "import_listings", str(listings)))
        )
        psql(big_url, "VACUUM ANALYZE")
        psql(small_url, "VACUUM ANALYZE")
        if not args.no_fixture:
            dump = tmp / "dump.json"
            say("big site: export_fixture, then load_fixture of it into a third database")
            commands.append(
                (
                    f"export_fixture ({args.size:,})",
                    *timed(big_env, "export_fixture", "--output", str(dump)),
                )
            )
            with database(base, tmp, "explainers_scale_load") as load_url:
                load_env = bench_env(tmp, load_url, "load")
                manage(load_env, "migrate", "--no-input", "-v0")
                commands.append(
                    (f"load_fixture ({args.size:,})", *timed(load_env, "load_fixture", str(dump)))
                )

        say("finding the addresses and counting their queries")
        small = json.loads(prepare_phase(small_env))
        big = json.loads(prepare_phase(big_env))
        say("serving both sites")
        results, memory = measure(small_env, big_env, small, big, args.rounds)
    print_report(args.size, results, commands, memory)


def bench_env(tmp: Path, database_url: str, name: str) -> dict:
    """Production settings without a page cache; nothing inherited from the caller's DJANGO_."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    media = tmp / f"media-{name}"
    media.mkdir(exist_ok=True)
    env.update(
        DJANGO_SETTINGS_MODULE="uncached_settings",
        PYTHONPATH=os.pathsep.join([str(tmp), str(PROJECT)]),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=f"{HOST},localhost,testserver",
        # Plain HTTP on the loopback: in production TLS ends at the proxy in front.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_MEDIA_ROOT=str(media),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DATABASE_URL=database_url,
        # The figures are for 2 sync workers (gunicorn.conf.py has threads).
        GUNICORN_CMD_ARGS="--worker-class sync --threads 1",
    )
    return env


def manage(env: dict, *arguments: str) -> str:
    return run_measured([PYTHON, "manage.py", *arguments], env)[0]


def timed(env: dict, *arguments: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one manage.py command."""
    started = time.perf_counter()
    _, peak_mb = run_measured([PYTHON, "manage.py", *arguments], env)
    return time.perf_counter() - started, peak_mb


def psql(url: str, sql: str) -> None:
    done = subprocess.run(["psql", url, "-qc", sql], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"psql {sql}: {done.stderr}")


# The big site's listings


def tree(size: int) -> list[tuple[tuple[str, ...], str, int]]:
    """The leaves as (ancestors, name, cards): the regular tree shares what the big leaf
    (a fifth of all cards, in the archive's branch) leaves over, one card apart at most."""
    leaves = [
        ((f"Section {s}", f"Shelf {s}.{m}"), f"Leaf {s}.{m}.{n}")
        for s in range(1, SECTIONS + 1)
        for m in range(1, MIDDLES + 1)
        for n in range(1, LEAVES + 1)
    ]
    leaves.append((("Archive", "Backlist"), "Oddments"))
    big = size // 5
    each, extra = divmod(size - big, len(leaves))
    sized = [(a, n, each + (i < extra)) for i, (a, n) in enumerate(leaves)]
    return [(("Archive", "Backlist"), "Everything Else", big), *sized]


def write_listings(folder: Path, size: int) -> None:
    """One breadcrumb listing per leaf (its place in the tree, no items) and its card pages."""
    number = 0
    for index, (ancestors, name, cards) in enumerate(tree(size)):
        stem = f"leaf-{index:04d}"
        description = f"Synthetic explainers of {name}, for the scale benchmark."
        trail = "\n".join(f"- {crumb} /" for crumb in ("Home", *ancestors)) + f"\n- {name}\n"
        (folder / f"{stem}.page-00.breadcrumbs.txt").write_text(
            f"{name}\n{description}\n{trail}", encoding="utf-8"
        )
        page_cards = []
        for _ in range(cards):
            number += 1
            page_cards.append(card(number))
        for page, start in enumerate(range(0, cards, CARDS_PER_PAGE), start=1):
            text = "\n\n".join(page_cards[start : start + CARDS_PER_PAGE])
            (folder / f"{stem}.page-{page:04d}.cards.txt").write_text(
                f"{name}\n\n{description}\n\n{text}\n", encoding="utf-8"
            )


def card(number: int) -> str:
    """Card ``number``: every other one in "MONA explainer", the rest over 501 other series;
    the common word in about half of them."""
    subject = SUBJECTS[number % len(SUBJECTS)]
    words = [WORDS[(number * 7 + k * 3) % len(WORDS)] for k in range(8)]
    series = "MONA explainer" if number % 2 else f"Series {number // 2 % OTHER_SERIES + 1}"
    return "\n".join(
        [
            f"Diagram of {subject.lower()} with {' '.join(words[:6])}",
            f"{series} {number % 30 + 1} min",
            "",
            f"{subject}, Part {number}: {' '.join(words[:3]).title()}",
            "",
            f"{subject} shape {' '.join(words[2:])}. Learn how it works …",
        ]
    )


# Addresses and query counts (a subprocess with the site's settings)

PREPARE_USER = "bench-admin"


def prepare_phase(env: dict) -> str:
    command = [PYTHON, __file__, "--phase", "prepare"]
    done = subprocess.run(
        command, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=PHASE_TIMEOUT
    )
    if done.returncode != 0:
        raise BenchError(f"prepare failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout.splitlines()[-1]


def prepare() -> None:
    """Print the addresses to measure, each with its query count, and an admin session."""
    import re

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from explainers.models import Category, Explainer, Series

    user = User.objects.create_superuser(PREPARE_USER, "bench@example.org", secrets.token_hex())
    device = TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            DEVICE_ID_SESSION_KEY: device.persistent_id,
        }
    )
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    client = Client(HTTP_HOST=HOST)
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    def get(path: str) -> bytes:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        return b"".join(response) if response.streaming else response.content

    def deepest(path: str, name: str) -> str:
        """The last page of ``path`` (``?<name>=N``), as its first page says: the highest page
        it links to (the admin's) or "Page 1 of N" (the readers' pages)."""
        html = get(path).decode()
        numbers = [int(n) for n in re.findall(rf"[?&;]{name}=(\d+)", html)]
        numbers += [int(n.replace(",", "")) for n in re.findall(r"Page 1 of ([\d,]+)", html)]
        return f"{path}?{name}={max(numbers)}" if numbers else path

    index = get("/sitemap.xml").decode()
    sections = [re.sub(r"^https?://[^/]+", "", loc) for loc in re.findall(r"<loc>([^<]+)", index)]
    largest = max(sections, key=lambda path: len(get(path)))
    mona = Series.objects.get(name="MONA explainer")
    biggest = Category.objects.annotate(n=Count("explainers")).order_by("-n", "pk").first()
    section = (
        Category.objects.filter(parent=None)
        .annotate(n=Count("children__children__explainers"))
        .order_by("-n", "pk")
        .first()
    )
    detail = (
        Explainer.objects.published()
        .filter(category=biggest, series=mona)
        .order_by("position", "pk")[Explainer.objects.filter(category=biggest).count() // 2 :]
        .first()
        or Explainer.objects.published().filter(series=mona).first()
    )
    changelist = "/admin/explainers/explainer/"
    pages = [
        ("/sitemap.xml", "/sitemap.xml", False),
        ("sitemap, largest section page", largest, False),
        (f"search, “{COMMON_WORD}”", f"/search/?q={COMMON_WORD}", False),
        ("series page, last", deepest(mona.get_absolute_url(), "page"), False),
        ("explainer detail", detail.get_absolute_url(), False),
        ("home", "/", False),
        ("category, last page", deepest(biggest.get_absolute_url(), "page"), False),
        ("RSS, all", "/feeds/rss.xml", False),
        ("RSS, section feed", f"/feeds/categories/{section.path}/rss.xml", False),
        ("admin: explainers", changelist, True),
        ("admin: explainers, last page", deepest(changelist, "p"), True),
        (f"admin: explainers, search “{COMMON_WORD}”", f"{changelist}?q={COMMON_WORD}", True),
        ("admin: categories", "/admin/explainers/category/", True),
        ("admin: heroes", "/admin/explainers/heroimage/", True),
        (
            "admin: hero autocomplete",
            "/admin/autocomplete/?app_label=explainers&model_name=explainer"
            "&field_name=hero&term=diagram",
            True,
        ),
        (
            "admin: category autocomplete",
            "/admin/autocomplete/?app_label=explainers&model_name=explainer"
            "&field_name=category&term=in",  # a term categories of both sites hold
            True,
        ),
    ]
    measured = []
    for label, path, admin in pages:
        get(path)  # warm: the first request of a process loads templates and the like
        with CaptureQueriesContext(connection) as queries:
            get(path)
        measured.append({"label": label, "path": path, "admin": admin, "queries": len(queries)})
    print(json.dumps({"pages": measured, "cookie": cookie}))


# Serving and measuring


def request(port: int, path: str, cookie: str | None) -> float:
    """One GET; its wall time in seconds (until the whole answer is read)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    headers = {"Cookie": cookie} if cookie else {}
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise BenchError(f"{path} on port {port}: HTTP {response.status}")
    return elapsed


def worker_memory_mb(master: int) -> float:
    """The largest VmHWM (peak resident set) of ``master``'s worker processes, in MB."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue  # a process that ended meanwhile
        if int(fields.get("PPid", "0").strip()) == master and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak / 1024


def measure(small_env, big_env, small, big, rounds):
    sites = {"small": small, "big": big}
    times = {site: [[] for _ in small["pages"]] for site in sites}
    memory = {}
    with (
        gunicorn(small_env, Path(small_env["DJANGO_MEDIA_ROOT"]) / "gunicorn.log") as (
            small_port,
            small_master,
        ),
        gunicorn(big_env, Path(big_env["DJANGO_MEDIA_ROOT"]) / "gunicorn.log") as (
            big_port,
            big_master,
        ),
    ):
        ports = {"small": small_port, "big": big_port}
        masters = {"small": small_master, "big": big_master}
        sitemap_pages = [i for i, page in enumerate(small["pages"]) if "sitemap" in page["path"]]
        # Both workers of each server answer each address once before anything is timed.
        for site, data in sites.items():
            for page in data["pages"]:
                for _ in range(2):
                    request(ports[site], page["path"], data["cookie"] if page["admin"] else None)
        for site, data in sites.items():
            for index in sitemap_pages:
                for _ in range(2):
                    request(ports[site], data["pages"][index]["path"], None)
            memory[f"{site}: after the sitemap"] = worker_memory_mb(masters[site])
        for number in range(rounds):
            say(f"round {number + 1} of {rounds}")
            order = ["small", "big"] if number % 2 == 0 else ["big", "small"]
            for index in range(len(small["pages"])):
                for site in order:
                    page = sites[site]["pages"][index]
                    cookie = sites[site]["cookie"] if page["admin"] else None
                    times[site][index].append(request(ports[site], page["path"], cookie))
        for site in sites:
            memory[f"{site}: at the end"] = worker_memory_mb(masters[site])
    results = []
    for index, page in enumerate(small["pages"]):
        results.append(
            {
                "label": page["label"],
                "small": times["small"][index],
                "big": times["big"][index],
                "queries": (page["queries"], big["pages"][index]["queries"]),
                "big_path": big["pages"][index]["path"],
            }
        )
    return results, memory


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def print_report(size, results, commands, memory) -> None:
    print(
        f"PostgreSQL, production settings, no page cache (DummyCache), gunicorn 2 sync workers "
        f"per site; {len(results[0]['small'])} alternating requests per address and site; "
        "ms as median / p95"
    )
    print()
    print(f"| page | 85 | {size:,} | ratio | queries 85 / {size:,} |")
    print("|---|---:|---:|---:|---:|")
    for result in results:
        small, big = (
            (1000 * statistics.median(result[site]), 1000 * p95(result[site]))
            for site in ("small", "big")
        )
        ratio = big[0] / small[0] if small[0] else float("inf")
        queries = "{} / {}".format(*result["queries"])
        print(
            f"| {result['label']} | {small[0]:,.0f} / {small[1]:,.0f} | {big[0]:,.0f} / "
            f"{big[1]:,.0f} | {ratio:,.1f}× | {queries} |"
        )
    print()
    print("| command | seconds | peak RSS MB |")
    print("|---|---:|---:|")
    for label, seconds, peak in commands:
        print(f"| {label} | {seconds:,.1f} | {peak:,.0f} |")
    print()
    print("| gunicorn worker peak RSS (VmHWM) | MB |")
    print("|---|---:|")
    for label, mb in memory.items():
        print(f"| {label} | {mb:,.0f} |")
    print()
    print("big site's addresses:")
    for result in results:
        print(f"  {result['label']}: {result['big_path']}")


if __name__ == "__main__":
    sys.exit(main())

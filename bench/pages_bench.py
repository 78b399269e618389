"""Benchmark the reader pages: requests per second and p50/p99 latency under gunicorn.

It measures four pages served by gunicorn (2 sync workers) on 127.0.0.1 with production-like
settings (DJANGO_DEBUG=0, a random secret key, whitenoise with collected static files):

* ``home``: the home page ``/``;
* ``category``: ``/ai-principles/llm-foundations/``, the first page of a category (30 cards),
  served from the shared page cache (Redis) after the warm-up;
* ``category, uncached``: the same page from a second gunicorn whose settings differ only in
  the cache (Django's DummyCache, as ``../shared/bench`` does): every request renders the page
  and queries the database. (A distinct query string no longer does it: the page cache
  ignores every parameter but ``page``.)
* ``explainer``: the first explainer of that category (found in the database);
* ``api explainers``: ``/api/v1/explainers?limit=30``, the API's list answer of as many
  explainers as the category page shows, from the API's answer cache and, on the uncached
  server, built afresh on every request;
* ``static``: the very bytes of the category page, written into STATIC_ROOT as
  ``bench/category.html`` and served by whitenoise as ``/static/bench/category.html``. Same
  server, same workers, same size, no Django view: the ceiling the pages could reach.

How:

1. a temporary folder holds a throwaway SQLite database (or, with ``--database-url``, a
   throwaway PostgreSQL database, created with createdb and dropped with dropdb afterwards), the
   MEDIA_ROOT and the STATIC_ROOT; ``migrate``, ``loaddata explainers`` and ``collectstatic``
   run in subprocesses (not timed);
2. Django's test client, in a subprocess with the same settings, renders the category page once
   and the bytes are written into STATIC_ROOT before gunicorn starts (whitenoise indexes
   STATIC_ROOT when it starts);
3. gunicorn starts on a free port with docker/gunicorn.conf.py (its access log goes to a file
   here) but without recycling workers during the run; each page is warmed up
   (its answer must be 200, and the static copy must have the category page's size);
4. each page gets ``--requests`` GETs (default 2,000) from ``--concurrency`` threads (default 8),
   each thread with its own ``http.client`` connection and a 10 s timeout per request, and each
   page stops after ``--max-seconds`` (default 120) even if requests are left, so a run is
   bounded in requests and in time. The pages take turns in ``--rounds`` rounds (default 5):
   these machines are virtual and their speed drifts by a third within minutes, which would
   otherwise fall on whichever page ran then (ratios such as cached : static included).
   Latencies are measured in the client, from sending the request to reading the last byte of
   the answer; a non-200 answer or a failed request is an error. Below the table it prints the
   CPU time per request of gunicorn's workers, of PostgreSQL's processes (when the database is
   PostgreSQL) and of the load generator, all from Linux's /proc: these depend far less on
   what else the machine is running than req/s and latency do.

The interpreter matters as much as the code. The image's CPython (the official
python:3.11-slim, built with --enable-optimizations --with-lto) is an optimised build, and so
is Debian's /usr/bin/python3.11 (it ran a pure-Python loop 1.2 to 1.4 times as fast here); the
pyenv build these machines put first on PATH has neither flag in its CONFIG_ARGS and spent
7-39% more CPU on the same uncached page in our runs. The output names the interpreter and
times a pure-Python loop on it. To measure what production runs, use a virtualenv made with an
optimised build:

    /usr/bin/python3.11 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install -r requirements.txt
    /tmp/bench-venv/bin/python bench/pages_bench.py

The load generator is Python threads in this process: it shares the machine's CPU cores with
gunicorn's workers, and at high rates (the static copy) it takes a large share of them. The
table is therefore a comparison between pages on the same machine, not a capacity figure; the
output says how much CPU the client used. gunicorn's sync workers close the connection after
each answer, so every request opens a new TCP connection (as a client without a proxy would).

Run from anywhere, with the project's virtualenv:

    .venv/bin/python bench/pages_bench.py
    .venv/bin/python bench/pages_bench.py --requests 500 --concurrency 4
    .venv/bin/python bench/pages_bench.py --database-url postgres://postgres@127.0.0.1:5432

A ``--database-url`` with a database name uses that name, which must not exist yet (the script
drops only what it created); without one the name is ``explainers_pages_bench_<pid>``.

It exits non-zero if a set-up step fails or any request failed.
"""

import argparse
import http.client
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench_database import database
from import_bench import BenchError, manage, run  # the same set-up steps, the same errors

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
HOST = "127.0.0.1"  # the only address this script ever sends requests to
WORKERS = 2
CATEGORY_PATH = "/ai-principles/llm-foundations/"
API_LIST = "/api/v1/explainers?limit=30"  # the API's list answer beside the category page
STATIC_COPY = "bench/category.html"  # inside STATIC_ROOT
START_TIMEOUT = 30  # seconds for gunicorn to answer
REQUEST_TIMEOUT = 10  # seconds for each request
REDIS_URL = "redis://127.0.0.1:6379/11"  # the shared page cache; flushed before each run
# The settings of the uncached server: the project's, with Django's DummyCache.
UNCACHED_SETTINGS = "bench_uncached_settings"
UNCACHED_SETTINGS_SOURCE = """from site_config.settings import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
"""
WARM_UP_REQUESTS = 40  # per page, at the run's concurrency so that both workers see the page

# Run by Django's test client in a subprocess with the benchmark's settings: find the first
# explainer of the category and write the category page's bytes where whitenoise will find them.
PREPARE = """
import json, sys
import django
django.setup()
from django.test import Client
from explainers.models import Category, Explainer

category_path, copy_path = sys.argv[1], sys.argv[2]
category = Category.objects.get(path=category_path.strip("/"))
cards = Explainer.objects.published().filter(category=category).order_by("position", "pk")
response = Client(HTTP_HOST="127.0.0.1").get(category_path)
assert response.status_code == 200, response.status_code
with open(copy_path, "wb") as copy:
    copy.write(response.content)
print(json.dumps({
    "explainer": cards.first().get_absolute_url(),
    "size": len(response.content),
    "cards": response.content.count(b'<article class="card">'),
}))
"""


@dataclass
class Page:
    label: str
    path: str
    size: int | None = None  # when set, the warm-up checks the answer has this many bytes
    uncached: bool = False  # served by the server without a page cache


@dataclass
class Result:
    page: Page
    latencies: list[float] = field(default_factory=list)  # seconds, one per request done
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0  # wall seconds for the whole page
    client_cpu: float = 0.0  # CPU seconds this process used meanwhile
    server_cpu: float = 0.0  # CPU seconds gunicorn's workers used meanwhile
    database_cpu: float = 0.0  # CPU seconds PostgreSQL's processes used meanwhile

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        return 1000 * ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per page (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120,
        help="stop a page's load after this long even if requests are left (default 120)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="pages take turns in this many rounds, so that a change in the machine's speed "
        "during the run touches every page alike (default 5)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgres://USER@HOST:PORT[/NEW_DB]) instead of SQLite",
    )
    args = parser.parse_args()
    if min(args.requests, args.concurrency, args.rounds) < 1 or args.max_seconds <= 0:
        parser.error("--requests, --concurrency, --rounds and --max-seconds must be positive")
    if args.rounds > args.requests:
        parser.error("--rounds cannot exceed --requests")

    # `kill` (SIGTERM) ends the run like ctrl-c: gunicorn is stopped and the temporary files go.
    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    try:
        results, notes = run_benchmark(args)
    except BenchError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_table(results, args.concurrency)
    for note in notes:
        print(note)
    print(f"total run time {time.monotonic() - started:.1f} s")
    failed = [result for result in results if result.errors]
    for result in failed:
        print(f"ERRORS on {result.page.path}: {result.errors}, first: {result.first_error}")
    return 1 if failed else 0


def interrupt(signum, frame):
    raise KeyboardInterrupt


def run_benchmark(args) -> tuple[list[Result], list[str]]:
    with tempfile.TemporaryDirectory(prefix="explainers-pages-bench-") as tmp:
        tmp = Path(tmp)
        with database(args.database_url, tmp, "explainers_pages_bench") as url:
            env = bench_env(tmp, url)
            run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], env)
            say("migrate, loaddata explainers, collectstatic ...")
            manage(env, "migrate", "--no-input", "-v0")
            manage(env, "loaddata", "explainers", "-v0")
            manage(env, "collectstatic", "--no-input", "-v0")

            copy = tmp / "static" / STATIC_COPY
            copy.parent.mkdir(parents=True, exist_ok=True)
            facts = json.loads(run([PYTHON, "-c", PREPARE, CATEGORY_PATH, str(copy)], env))
            pages = [
                Page("home", "/"),
                Page(f"category ({facts['cards']} cards)", CATEGORY_PATH),
                Page("category, uncached", CATEGORY_PATH, uncached=True),
                Page("explainer", facts["explainer"]),
                Page("api explainers (30)", API_LIST),
                Page("api explainers, uncached", API_LIST, uncached=True),
                Page("static copy of category", f"/static/{STATIC_COPY}", size=facts["size"]),
            ]

            (tmp / f"{UNCACHED_SETTINGS}.py").write_text(UNCACHED_SETTINGS_SOURCE)
            uncached_env = {
                **env,
                "DJANGO_SETTINGS_MODULE": UNCACHED_SETTINGS,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp), env.get("PYTHONPATH")])),
            }
            load_before = os.getloadavg()[0]
            with (
                gunicorn(env, tmp / "gunicorn.log") as cached,
                gunicorn(uncached_env, tmp / "gunicorn-uncached.log") as uncached,
            ):
                servers = {False: cached, True: uncached}
                say(f"gunicorn on {HOST}:{cached[0]} (and uncached on {uncached[0]}); warming up")
                for page in pages:
                    warm_up(servers[page.uncached][0], page, args.concurrency)
                results = [Result(page) for page in pages]
                for round_number in range(1, args.rounds + 1):
                    say(f"round {round_number} of {args.rounds} ...")
                    for result in results:
                        share = round_share(args.requests, args.rounds, round_number)
                        measure(*servers[result.page.uncached], result, share, args)
            load_after = os.getloadavg()[0]

    backend = "PostgreSQL" if args.database_url else "SQLite"
    notes = [
        "",
        f"server: gunicorn, {WORKERS} sync workers, DEBUG off, {backend} (throwaway); "
        "each request opens a new TCP connection",
        f"machine: {os.cpu_count()} CPU cores shared by the server, this load generator (Python "
        "threads) and anything else running;",
        f"  1-minute load average {load_before:.1f} before the load, {load_after:.1f} after",
        "CPU per request, in ms (server: gunicorn's workers; database: PostgreSQL's processes, "
        "0 on SQLite, which runs inside the workers; client: this process):",
        *(
            f"  {r.page.label:<26}server {per_request(r.server_cpu, r):6.1f}"
            f"   database {per_request(r.database_cpu, r):5.1f}"
            f"   client {per_request(r.client_cpu, r):5.1f}"
            for r in results
        ),
        f"python: {sys.executable} {platform.python_version()}; a pure-Python loop of "
        f"a million additions takes {interpreter_speed_ms():.1f} ms on it",
        "pages:",
        *(f"  {r.page.label:<26}{r.page.path}" for r in results),
        f"the category page has {facts['size']:,} bytes; the static copy is the same bytes",
    ]
    cut = [r.page.label for r in results if r.requests < args.requests]
    if cut:
        notes.append(f"stopped by --max-seconds before all requests were sent: {', '.join(cut)}")
    return results, notes


def bench_env(tmp: Path, database_url: str) -> dict:
    """Production-like settings; nothing inherited from the caller's DJANGO_ variables."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in {"DATABASE_URL", "GUNICORN_CMD_ARGS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        # Plain HTTP on the loopback: in production TLS ends at the proxy in front.
        DJANGO_SECURE_SSL_REDIRECT="0",
        REDIS_URL=REDIS_URL,
        # Every request comes from 127.0.0.1: the API's throttle must not answer them.
        DJANGO_API_ANON_REQUESTS_PER_MINUTE="100000000",
    )
    return env


@contextmanager
def gunicorn(env: dict, log_path: Path, project: Path = PROJECT):
    """Start gunicorn in ``project`` on a free port of 127.0.0.1, yield (port, master pid);
    always stop it."""
    port = free_port()
    command = [
        GUNICORN,
        "site_config.wsgi:application",
        # The production configuration, but workers are not recycled while being measured.
        *("--config", "docker/gunicorn.conf.py"),
        *("--max-requests", "0"),
        *("--workers", str(WORKERS)),
        *("--bind", f"{HOST}:{port}"),
    ]
    with open(log_path, "wb") as log:
        # A session of its own: stopping its process group stops the master and its workers.
        server = subprocess.Popen(
            command, cwd=project, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        wait_until_answering(server, port, log_path)
        yield port, server.pid
    finally:
        stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until_answering(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited with {server.returncode}:\n{tail(log_path)}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise BenchError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{tail(log_path)}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # our own process group: gunicorn's master and workers
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def workers_cpu_seconds(master: int) -> float:
    """User + system CPU seconds used so far by the children of `master` (Linux's /proc)."""
    return cpu_seconds(lambda name, ppid: ppid == master)


def postgres_cpu_seconds() -> float:
    """The same for every PostgreSQL process on the machine (the bench's database is the only
    busy one): it runs on the cores the workers need."""
    return cpu_seconds(lambda name, ppid: name.startswith("postgres"))


def cpu_seconds(chosen) -> float:
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
        if chosen(name, int(fields[1])):  # fields from the state on: ppid, ..., utime, stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def per_request(cpu: float, result: Result) -> float:
    return 1000 * cpu / max(result.requests, 1)


def interpreter_speed_ms() -> float:
    """How fast this Python runs pure-Python code: interpreters built differently (with or
    without PGO and LTO) run the same pages at very different speeds."""
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for number in range(1_000_000):
            total += number
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def round_share(requests: int, rounds: int, round_number: int) -> int:
    """This round's part of a page's requests (the rounds add up to ``requests``)."""
    return requests * round_number // rounds - requests * (round_number - 1) // rounds


def measure(port: int, master: int, result: Result, requests: int, args) -> None:
    """Load ``result.page`` with ``requests`` GETs and add what happened to ``result``."""
    server_cpu, database_cpu = workers_cpu_seconds(master), postgres_cpu_seconds()
    spent = result.elapsed
    part = load(port, result.page, requests, args.concurrency, args.max_seconds - spent)
    result.server_cpu += workers_cpu_seconds(master) - server_cpu
    result.database_cpu += postgres_cpu_seconds() - database_cpu
    result.latencies += part.latencies
    result.errors += part.errors
    result.first_error = result.first_error or part.first_error
    result.elapsed += part.elapsed
    result.client_cpu += part.client_cpu


def warm_up(port: int, page: Page, concurrency: int) -> None:
    """Request the page a few times; fail unless every answer is 200 (and of the right size)."""
    result = load(port, page, WARM_UP_REQUESTS, concurrency, max_seconds=60)
    if result.errors or result.requests < WARM_UP_REQUESTS:
        raise BenchError(f"warm-up of {page.path}: {result.errors} errors, {result.first_error}")
    if page.size is not None:
        got = fetch_size(port, page.path)
        if got != page.size:
            raise BenchError(f"{page.path} has {got} bytes, the category page {page.size}")


def fetch_size(port: int, path: str) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path)
        return len(connection.getresponse().read())
    finally:
        connection.close()


def load(port: int, page: Page, requests: int, concurrency: int, max_seconds: float) -> Result:
    """Send at most `requests` GETs from `concurrency` threads, for at most `max_seconds`."""
    result = Result(page)
    lock = threading.Lock()
    left = [requests]
    deadline = time.monotonic() + max_seconds

    def take_ticket() -> int | None:
        with lock:
            if left[0] <= 0 or time.monotonic() > deadline:
                return None
            left[0] -= 1
            return left[0]

    def client() -> None:
        connection = None
        latencies, errors, first_error = [], 0, ""
        while take_ticket() is not None:
            if connection is None:
                connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            start = time.perf_counter()
            try:
                connection.request("GET", page.path)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors += 1
                    first_error = first_error or f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as error:
                errors += 1
                first_error = first_error or repr(error)
                connection.close()
                connection = None
            latencies.append(time.perf_counter() - start)
        if connection is not None:
            connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    wall, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - wall
    result.client_cpu = time.process_time() - cpu
    return result


def tail(path: Path, size: int = 2000) -> str:
    return path.read_text(errors="replace")[-size:]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(results: list[Result], concurrency: int) -> None:
    print(
        f"{'page':<26}{'requests':>9}{'concurrency':>12}{'req/s':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for r in results:
        print(
            f"{r.page.label:<26}{r.requests:>9,}{concurrency:>12}{r.rate:>9.1f}"
            f"{r.percentile(0.50):>9.1f}{r.percentile(0.99):>9.1f}{r.errors:>8}"
        )


if __name__ == "__main__":
    sys.exit(main())

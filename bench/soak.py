"""Soak test: two gunicorn "machines" under steady load while things go wrong, on 127.0.0.1.

Set-up: production settings (DEBUG off, a random secret, SSL redirect on, so every request
carries ``X-Forwarded-Proto: https`` as the TLS proxy's would, and ``Host: localhost`` whichever
instance it goes to, as behind one proxy), a throwaway PostgreSQL database
``explainers_soak_<pid>`` (collectstatic into a temporary STATIC_ROOT, migrate, setup_roles,
``loaddata explainers``, a superuser with a random password) and Redis db 12 (FLUSHDB before
and after, that db only). Two gunicorn instances, A and B, start from docker/gunicorn.conf.py with
2 workers each on two free ports and share the database, Redis and MEDIA_ROOT.

Load: locust, headless, in a subprocess (bench/soak_locustfile.py): for ``--seconds``
(default 60), ``--clients`` users per instance (default 4) cycle, closed-loop, over the home
page, a category, an explainer and /readyz; each user keeps its connection when the server
allows it (gunicorn's sync workers close it after every answer). Every request's send time,
duration, status, X-Cache header and error is recorded; the figures (requests, req/s,
p50/p99, non-2xx/3xx answers, connection errors) are printed per phase, per instance, per page
and overall, from those records.

Meanwhile, one after the other:

* edit: an editor signs in to A's admin (urllib, a cookie jar, the CSRF token) and renames an
  explainer; the next request for the category page on B must show the new title;
* worker kill: one of A's workers gets SIGKILL; A's master must start a new one, and no
  request sent after that may fail;
* import kill: ``manage.py import_listings`` on 20,000 synthetic cards (bench/import_bench.py's
  generator) gets SIGKILL 1 s into its bulk inserts (it spends its first seconds parsing, then
  creates categories, then inserts hero images and explainers by the hundred; the script
  watches its session in pg_stat_activity); the database must be exactly as before (row
  counts, checksums of the titles and category paths);
* PostgreSQL restart (once per run, with pg_ctlcluster): requests may fail meanwhile (pages in
  the Redis cache may still be served; the output says how many), then every request must
  succeed again, within RECOVERY_LIMIT s of the restart and without restarting gunicorn.

It ends with a verdict line per requirement and exits non-zero if any fails. Gunicorns, the
database, Redis db 12 and the temporary files are removed even after an error, ctrl-c or
`kill`, and PostgreSQL is left running. The whole run stops after --seconds + 120 s.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust authentication; one Debian cluster that
root may restart with pg_ctlcluster) and Redis on 127.0.0.1:6379. Restarting PostgreSQL
interrupts anything else using it on the machine. Run from anywhere, with the project's
virtualenv:

    .venv/bin/python bench/soak.py --seconds 60
"""

import argparse
import html
import http.client
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

# This folder is on sys.path when the script runs: reuse the other benchmarks' parts.
from import_bench import write_listings
from pages_bench import (
    GUNICORN,
    HOST,
    PROJECT,
    PYTHON,
    BenchError,
    bench_env,
    database,
    free_port,
    interrupt,
    manage,
    run,
    say,
    stop,
    wait_until_answering,
)

LOCUSTFILE = Path(__file__).with_name("soak_locustfile.py")
DATABASE_NAME = f"explainers_soak_{os.getpid()}"
PG = ["-h", HOST, "-U", "postgres"]
REDIS_URL = f"redis://{HOST}:6379/12"
WORKERS = 2  # per instance
# What the TLS proxy in front would send: HTTPS done, and the site's one host name for both
# instances (cached pages are keyed by host, so A and B share them as machines behind one
# proxy would).
SITE_HOST = "localhost"
HEADERS = {"X-Forwarded-Proto": "https", "Host": SITE_HOST}
CATEGORY_PATH = "ai-principles/llm-foundations"
EDITOR = "soak-editor"
REQUEST_TIMEOUT = 20  # s; well above the database pool's wait, so that slow failures show
RECOVERY_LIMIT = 15  # s after the restart command returns, by which requests must succeed
IMPORT_KILL_AFTER = 1.0  # s after the import's first bulk insert (its explainers' heroes)
IMPORT_DEADLINE = 90  # s: killed then at the latest, if it never got that far
IMPORT_APP_NAME = "explainers-soak-import"  # its application_name in pg_stat_activity
EXTRA_SECONDS = 120  # the run's cap is --seconds plus this
# When each event starts, as a share of --seconds; the restart comes last, so that the load
# after it shows the recovery.
SCHEDULE = {"edit": 0.10, "worker kill": 0.20, "import kill": 0.30, "PostgreSQL restart": 0.60}

# Run by `manage.py shell` in the set-up: the editor, and the explainer the test renames.
SET_UP_EDITOR = f"""
import json, os
from django.contrib.auth import get_user_model
from explainers.models import Category, Explainer

get_user_model().objects.create_superuser(
    "{EDITOR}", "soak@example.com", os.environ["SOAK_PASSWORD"]
)
category = Category.objects.get(path="{CATEGORY_PATH}")
first = Explainer.objects.published().filter(category=category).order_by("position", "pk")[0]
print(json.dumps({{"pk": first.pk, "title": first.title, "url": first.get_absolute_url()}}))
"""

SNAPSHOT = """
SELECT json_build_object(
  'explainers', (SELECT count(*) FROM explainers_explainer),
  'categories', (SELECT count(*) FROM explainers_category),
  'hero images', (SELECT count(*) FROM explainers_heroimage),
  'series', (SELECT count(*) FROM explainers_series),
  'series items', (SELECT count(*) FROM explainers_seriesitem),
  'titles md5', (SELECT md5(coalesce(string_agg(title, E'\\n' ORDER BY id), ''))
                 FROM explainers_explainer),
  'category paths md5', (SELECT md5(coalesce(string_agg(path, E'\\n' ORDER BY id), ''))
                         FROM explainers_category))
"""
# Rows inserted so far, committed or not: the statistics count a rolled-back insert too.
INSERTED_ROWS = (
    "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE relname LIKE 'explainers%'"
)
# The time stamp that starts a gunicorn or Django log line.
TIME_STAMP = re.compile(r"^\[?\d{4}-\d\d-\d\d [\d:,]+(?: [+-]\d{4}\])? ")
IMPORT_SESSIONS = (
    "SELECT count(*) FROM pg_stat_activity "
    f"WHERE datname = '{DATABASE_NAME}' AND application_name = '{IMPORT_APP_NAME}'"
)


class OutOfTime(BenchError):
    pass


@dataclass
class Instance:
    name: str
    port: int
    server: subprocess.Popen
    log: Path


@dataclass(slots=True)
class Record:
    """One request of the load; times in seconds since the load began."""

    instance: str
    page: str
    start: float
    duration: float
    status: int  # 0: no answer
    error: str  # the exception's name when there was no answer
    cache: str  # the X-Cache header

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def failed(self) -> bool:
        return not 200 <= self.status < 400


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="load duration (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="users per instance (default 4)")
    parser.add_argument("--cards", type=int, default=20_000, help="cards in the killed import")
    args = parser.parse_args()
    if args.seconds < 30 or args.clients < 1 or args.cards < 1000:
        parser.error("--seconds must be at least 30, --clients 1, --cards 1000")

    signal.signal(signal.SIGTERM, interrupt)  # `kill` cleans up like ctrl-c
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.seconds + EXTRA_SECONDS))
    started = time.monotonic()
    try:
        with ExitStack() as cleanup:
            try:
                failed = soak(args, cleanup)
            finally:
                # Nothing may cut the clean-up short.
                signal.alarm(0)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                say("cleaning up ...")
    except BenchError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        print(f"total run time {time.monotonic() - started:.1f} s", flush=True)
    return 1 if failed else 0


def out_of_time(signum, frame):
    raise OutOfTime("the run went over its time cap (--seconds + 120 s)")


def soak(args, cleanup: ExitStack) -> bool:
    """Set up, load, break things, print the figures; return whether a requirement failed.

    Clean-up steps go on `cleanup` as soon as there is something to clean, and run in reverse:
    the load and the gunicorns stop, PostgreSQL is checked to be running, the database is
    dropped, Redis db 12 flushed, the temporary folder removed.
    """
    tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="explainers-soak-")))
    flush_redis()
    cleanup.callback(flush_redis)
    url = cleanup.enter_context(database(f"postgres://postgres@{HOST}:5432/{DATABASE_NAME}", tmp))
    cleanup.callback(ensure_postgresql_running)
    env, facts, password = set_up(tmp, url)
    listings = tmp / "listings"
    listings.mkdir()
    write_listings(listings, args.cards)

    a = start_gunicorn(env, "A", tmp, cleanup)
    b = start_gunicorn(env, "B", tmp, cleanup)
    pages = {
        "home": "/",
        "category": f"/{CATEGORY_PATH}/",
        "explainer": facts["url"],
        "readyz": "/readyz",
    }
    for instance in (a, b):
        # Production settings indeed: without X-Forwarded-Proto, a redirect to HTTPS.
        status, headers, _ = get(instance.port, "/", {"Host": SITE_HOST})
        if status != 301 or not headers.get("Location", "").startswith("https://"):
            raise BenchError(f"/ over plain HTTP on {instance.name} answered {status}, no redirect")
        # Every page answers, and is in the cache.
        for path in pages.values():
            status, _, _ = get(instance.port, path)
            if status != 200:
                raise BenchError(f"warm-up: {path} on {instance.name} answered {status}")

    load = Load({"A": a.port, "B": b.port}, pages, args.seconds, args.clients, tmp)
    say(f"load for {args.seconds:.0f} s on A (port {a.port}) and B (port {b.port}) ...")
    load.start()
    cleanup.callback(load.stop)
    events = {}
    at = {name: share * args.seconds for name, share in SCHEDULE.items()}
    load.sleep_until(at["edit"])
    say("edit through A's admin ...")
    events["edit"] = edit_then_read(load, a, b, facts, pages, password)
    load.sleep_until(at["worker kill"])
    say("SIGKILL to one of A's workers ...")
    events["worker kill"] = kill_worker(load, a)
    load.sleep_until(at["import kill"])
    say(f"import of {args.cards:,} cards, killed midway ...")
    events["import kill"] = kill_import(load, env, listings, tmp / "media", tmp / "import.log")
    load.sleep_until(at["PostgreSQL restart"])
    say("PostgreSQL restart ...")
    events["PostgreSQL restart"] = restart_postgresql(load)
    load.wait()
    say("load done")
    readyz = {i.name: get(i.port, "/readyz") for i in (a, b)}
    events["after"] = {
        "readyz": {name: (status, body.strip()) for name, (status, _, body) in readyz.items()},
        "masters alive": {i.name: i.server.poll() is None for i in (a, b)},
    }
    return report(load, events, (a, b))


# Set-up ------------------------------------------------------------------------------------


def set_up(tmp: Path, database_url: str) -> tuple[dict, dict, str]:
    """Production settings for the throwaway database; the content, roles and an editor."""
    env = bench_env(tmp, database_url)
    # pages_bench turns the HTTPS redirect off; production has it on.
    dropped = ("GUNICORN_", "PG", "REDIS_URL", "DJANGO_SECURE_SSL_REDIRECT")
    for name in [name for name in env if name.startswith(dropped)]:
        del env[name]
    env.update(REDIS_URL=REDIS_URL, GUNICORN_WORKERS=str(WORKERS))
    say("collectstatic, migrate, setup_roles, loaddata explainers, an editor ...")
    manage(env, "collectstatic", "--no-input", "-v0")
    manage(env, "migrate", "--no-input", "-v0")
    manage(env, "setup_roles", "-v0")
    manage(env, "loaddata", "explainers", "-v0")
    password = secrets.token_urlsafe(24)
    output = run(
        [PYTHON, "manage.py", "shell", "-v0", "-c", SET_UP_EDITOR],
        {**env, "SOAK_PASSWORD": password},
    )
    return env, json.loads(output.strip().splitlines()[-1]), password


def start_gunicorn(env: dict, name: str, tmp: Path, cleanup: ExitStack) -> Instance:
    """gunicorn from docker/gunicorn.conf.py, in a session of its own (stopped with its group)."""
    port = free_port()
    log = tmp / f"gunicorn-{name}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [GUNICORN, "--config", "docker/gunicorn.conf.py", "site_config.wsgi:application"],
            cwd=PROJECT,
            env={**env, "GUNICORN_BIND": f"{HOST}:{port}"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cleanup.callback(stop, server)
    wait_until_answering(server, port, log)
    return Instance(name, port, server, log)


def flush_redis() -> None:
    run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], dict(os.environ))


def psql(sql: str) -> str:
    return run(["psql", *PG, "-d", DATABASE_NAME, "-XAtq", "-c", sql], dict(os.environ)).strip()


def postgresql_cluster() -> str:
    """The version of the machine's one Debian PostgreSQL cluster (/etc/postgresql/<version>)."""
    versions = sorted(os.listdir("/etc/postgresql"))
    if len(versions) != 1:
        raise BenchError(f"expected one PostgreSQL version in /etc/postgresql, found {versions}")
    return versions[0]


def ensure_postgresql_running() -> None:
    """Wait for PostgreSQL to accept connections (start the cluster if it stays down)."""
    for second in range(90):
        if subprocess.run(["pg_isready", "-q", "-h", HOST], check=False).returncode == 0:
            return
        if second == 30:
            command = ["pg_ctlcluster", "--skip-systemctl-redirect", postgresql_cluster()]
            subprocess.run([*command, "main", "start"], check=False)
        time.sleep(1)
    print("WARNING: PostgreSQL does not accept connections", file=sys.stderr)


# Load --------------------------------------------------------------------------------------


def get(port: int, path: str, headers=HEADERS) -> tuple[int, http.client.HTTPMessage, str]:
    """One GET as a reader (no cookie); (status, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()


class Load:
    """Locust (bench/soak_locustfile.py) in a subprocess: users bound to one instance each,
    cycling over the pages until the time is up. Its records are read when it ends."""

    def __init__(self, ports: dict[str, int], pages: dict[str, str], seconds, clients, tmp: Path):
        self.ports, self.pages, self.seconds, self.clients = ports, pages, seconds, clients
        self.records_path, self.log_path = tmp / "load-records.jsonl", tmp / "locust.log"
        self.records: list[Record] = []
        self.complaints: list[str] = []  # locust's warnings
        self.process: subprocess.Popen | None = None
        self.t0 = time.time()  # when locust's users start; records carry epoch times too

    def now(self) -> float:
        return time.time() - self.t0

    def start(self) -> None:
        """Start locust; the clock starts when its users do (it takes a second to boot)."""
        env = {
            **os.environ,
            "SOAK_HOSTS": json.dumps(
                {name: f"http://{HOST}:{p}" for name, p in self.ports.items()}
            ),
            "SOAK_PAGES": json.dumps(self.pages),
            "SOAK_HEADERS": json.dumps(HEADERS),
            "SOAK_TIMEOUT": str(REQUEST_TIMEOUT),
            "SOAK_CLIENTS": str(self.clients),
            "SOAK_RECORDS": str(self.records_path),
        }
        users = self.clients * len(self.ports)
        command = [
            *(PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"),
            *("--users", str(users), "--spawn-rate", str(users)),
            *("--run-time", f"{self.seconds:.0f}s", "--stop-timeout", "5"),
            # Failed requests are the soak's to judge, not a reason for locust to fail.
            *("--exit-code-on-error", "0", "--loglevel", "WARNING"),
        ]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            text = self.records_path.read_text() if self.records_path.exists() else ""
            if "\n" in text:
                self.t0 = json.loads(text.split("\n", 1)[0])["load started"]
                return
            time.sleep(0.05)
        exited = self.process.poll() is not None
        how = f"exited with {self.process.returncode}" if exited else "waited 30 s"
        raise BenchError(f"locust {how} before starting its users:\n{self.log_tail()}")

    def sleep_until(self, moment: float) -> None:
        time.sleep(max(0.0, moment - self.now()))

    def wait(self) -> None:
        """Wait for locust to finish its run-time, then read every request it made."""
        if self.process.wait(timeout=self.seconds + 60) != 0:
            raise BenchError(f"locust exited with {self.process.returncode}:\n{self.log_tail()}")
        with self.records_path.open(encoding="utf-8") as lines:
            next(lines)  # "load started"
            for line in lines:
                fields = json.loads(line)
                fields["start"] -= self.t0
                self.records.append(Record(**fields))
        # Such as its own warning that its CPU is saturated, which would make the load unsteady.
        self.complaints = [
            line for line in self.log_path.read_text().splitlines() if "WARNING" in line
        ]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process)

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])


# Edit through A's admin, read through B ------------------------------------------------------


class BehindTLSProxy(DefaultCookiePolicy):
    """Send the Secure cookies over plain HTTP: X-Forwarded-Proto stands for the TLS proxy."""

    def return_ok_secure(self, cookie, request):
        return True


class KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hand redirects to the caller (as HTTPError) instead of following them."""

    def redirect_request(self, *args, **kwargs):
        return None


class FormFields(HTMLParser):
    """The (name, value) pairs a browser would submit from the form with a given id.

    Enough for Django's admin: inputs (checked boxes only), textareas and selects whose
    options all have a value attribute.
    """

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self.textarea, self.text = None, []
        self.select, self.multiple, self.options = None, False, []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "option" and self.select is not None:
            self.options.append((attributes.get("value", ""), "selected" in attributes))
        elif "name" not in attributes or "disabled" in attributes:
            return
        elif tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attributes:
                    self.fields.append((attributes["name"], attributes.get("value", "on")))
                return
            self.fields.append((attributes["name"], attributes.get("value", "")))
        elif tag == "textarea":
            self.textarea, self.text = attributes["name"], []
        elif tag == "select":
            self.select, self.options = attributes["name"], []
            self.multiple = "multiple" in attributes

    def handle_data(self, data):
        if self.textarea is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the line break that follows <textarea> (Django writes one).
            self.fields.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            chosen = [value for value, selected in self.options if selected]
            if not chosen and self.options and not self.multiple:
                chosen = [self.options[0][0]]
            self.fields.extend((self.select, value) for value in chosen)
            self.select = None


def form_fields(page: str, form_id: str) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(page)
    parser.close()
    if not parser.fields:
        raise BenchError(f"no form #{form_id} in the page")
    return parser.fields


class Editor:
    """A browser on one instance's admin: a cookie jar, the CSRF token, an Origin header."""

    def __init__(self, port: int):
        self.base, self.origin = f"http://{HOST}:{port}", f"https://{SITE_HOST}"
        cookies = urllib.request.HTTPCookieProcessor(CookieJar(BehindTLSProxy()))
        self.opener = urllib.request.build_opener(cookies, KeepRedirects)

    def open(self, path: str, fields: list | None = None) -> tuple[int, str, str]:
        """GET, or POST the fields; (status, Location header, body)."""
        data = None if fields is None else urllib.parse.urlencode(fields).encode()
        headers = {**HEADERS, "Origin": self.origin, "Referer": self.origin + path}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, "", response.read().decode(errors="replace")
        except urllib.error.HTTPError as answer:  # the redirects too
            location = answer.headers.get("Location", "")
            return answer.code, location, answer.read().decode(errors="replace")

    def submit(self, path: str, form_id: str, changes: dict, extra: list) -> str:
        """Fill the page's form as it is, with `changes`; POST it; return where it redirects."""
        status, _, page = self.open(path)
        if status != 200:
            raise BenchError(f"GET {path} on the admin answered {status}")
        fields = [(name, changes.get(name, value)) for name, value in form_fields(page, form_id)]
        fields += [(name, value) for name, value in changes.items() if name not in dict(fields)]
        status, location, answer = self.open(path, fields + extra)
        if status != 302:
            problem = answer[answer.find('class="errornote"') :][:300] or answer[:300]
            raise BenchError(f"POST {path} answered {status}, not a redirect: {problem}")
        return location


def edit_then_read(load: Load, a: Instance, b: Instance, facts, pages, password) -> dict:
    """Rename the explainer through A's admin, then read its category page from B at once."""
    started = load.now()
    before = get(b.port, pages["category"])
    editor = Editor(a.port)
    editor.submit(
        "/admin/login/?next=/admin/", "login-form", {"username": EDITOR, "password": password}, []
    )
    title = f"Soak edit {secrets.token_hex(4)}"
    change = f"/admin/explainers/explainer/{facts['pk']}/change/"
    location = editor.submit(change, "explainer_form", {"title": title}, [("_save", "Save")])
    saved = load.now()
    category = get(b.port, pages["category"])
    read = load.now()
    explainer = get(b.port, pages["explainer"])
    return {
        "old title": facts["title"],
        "title": title,
        "pk": facts["pk"],
        "redirected to": location,
        "started at": started,
        "saved at": saved,
        "read after": read - saved,
        "before": summary_of(before, facts["title"]),
        "category": summary_of(category, title),
        "explainer": summary_of(explainer, title),
    }


def summary_of(answer: tuple[int, http.client.HTTPMessage, str], title: str) -> dict:
    status, headers, body = answer
    return {"status": status, "cache": headers.get("X-Cache"), "shown": html.escape(title) in body}


# Worker kill ---------------------------------------------------------------------------------


def workers_of(master: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def leaving(log: str, pid: int) -> bool:
    """Whether gunicorn's log says the worker is already on its way out (max_requests)."""
    return f"[{pid}] [INFO] Autorestarting worker" in log or f"Worker exiting (pid: {pid})" in log


def kill_worker(load: Load, instance: Instance) -> dict:
    """SIGKILL one worker; wait (30 s at most) until the master has started another."""
    master = instance.server.pid
    # Not a worker that max_requests is recycling already: it would be replaced anyway.
    deadline = time.monotonic() + 10
    while True:
        before = workers_of(master)
        log = instance.log.read_text(errors="replace")
        staying = sorted((pid for pid in before if not leaving(log, pid)), reverse=True)
        if len(before) == WORKERS and staying:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"{instance.name} has workers {sorted(before)}, none settled")
        time.sleep(0.05)
    victim = staying[0]
    killed = load.now()
    os.kill(victim, signal.SIGKILL)
    result = {"victim": victim, "before": sorted(before), "killed at": killed, "replaced at": None}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = workers_of(master)
        born = now - before
        if victim not in now and born and len(now) == WORKERS:
            result.update({"replaced at": load.now(), "new": sorted(born), "after": sorted(now)})
            break
        time.sleep(0.02)
    # What the master said about it: "Worker (pid:N) was sent SIGKILL!", "Booting worker ...".
    pids = [str(pid) for pid in [victim, *result.get("new", [])]]
    log = instance.log.read_text(errors="replace")
    result["log"] = [
        line
        for line in log.splitlines()
        if "duration_ms" not in line and any(pid in line for pid in pids)
    ]
    result["was leaving"] = leaving(log, victim)  # then the check proves nothing
    return result


# Import kill ---------------------------------------------------------------------------------


def kill_import(load: Load, env: dict, listings: Path, media: Path, log: Path) -> dict:
    """Start the import, SIGKILL it IMPORT_KILL_AFTER s into its bulk inserts, compare."""
    before, inserted_before = json.loads(psql(SNAPSHOT)), int(psql(INSERTED_ROWS))
    files_before = count_files(media)
    result = {"started at": load.now(), "writing at": None, "bulk at": None, "killed at": None}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [PYTHON, "manage.py", "import_listings", str(listings)],
            cwd=PROJECT,
            env={**env, "PGAPPNAME": IMPORT_APP_NAME},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        writing = f"{IMPORT_SESSIONS} AND backend_xid IS NOT NULL"  # a transaction that wrote
        bulk = f"""{writing} AND query ~ '^INSERT INTO "explainers_(heroimage|explainer)"'"""
        deadline = time.monotonic() + IMPORT_DEADLINE
        while process.poll() is None and time.monotonic() < deadline:
            if result["writing at"] is None and psql(writing) != "0":
                result["writing at"] = load.now()
            if result["writing at"] and result["bulk at"] is None and psql(bulk) != "0":
                result["bulk at"] = load.now()
            if result["bulk at"] and load.now() >= result["bulk at"] + IMPORT_KILL_AFTER:
                break
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            result["killed at"] = load.now()
        result["exit"] = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # PostgreSQL rolls back when it notices the client is gone: wait for its session to end.
    deadline = time.monotonic() + 15
    while psql(IMPORT_SESSIONS) != "0" and time.monotonic() < deadline:
        time.sleep(0.1)
    result["session gone after"] = load.now() - (result["killed at"] or load.now())
    time.sleep(0.6)  # the statistics reach the shared counters within a second
    result.update(
        before=before,
        after=json.loads(psql(SNAPSHOT)),
        inserted=int(psql(INSERTED_ROWS)) - inserted_before,
        files_left=count_files(media) - files_before,
        output=log.read_text(errors="replace").strip()[-300:],
    )
    return result


def count_files(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.is_file())


# PostgreSQL restart ------------------------------------------------------------------------


def restart_postgresql(load: Load) -> dict:
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", postgresql_cluster(), "main"]
    started = load.now()
    run([*command, "restart"], dict(os.environ))
    return {"started at": started, "done at": load.now()}


# Report --------------------------------------------------------------------------------------


def percentile_ms(durations: list[float], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not durations:
        return math.nan
    ordered = sorted(durations)
    return 1000 * ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def row(label: str, records: list[Record], seconds: float) -> str:
    durations = [r.duration for r in records]
    bad = sum(1 for r in records if r.status and r.failed)
    lost = sum(1 for r in records if not r.status)
    rate = len(records) / seconds if seconds > 0 else math.nan
    return (
        f"{label:<36}{len(records):>9,}{rate:>8.1f}{percentile_ms(durations, 0.5):>8.1f}"
        f"{percentile_ms(durations, 0.99):>9.1f}{bad:>13}{lost:>13}"
    )


def describe(record: Record, origin: float = 0.0) -> str:
    answer = record.status or record.error
    return (
        f"sent {record.start - origin:+.2f} s, answered {record.end - origin:+.2f} s, "
        f"{record.instance} {record.page}: {answer}"
    )


def report(load: Load, events: dict, instances: tuple[Instance, Instance]) -> bool:
    """Print every figure, then a verdict line per requirement; return whether one failed."""
    records = sorted(load.records, key=lambda r: r.start)
    end = max((r.end for r in records), default=load.seconds)
    kill, restart = events["worker kill"], events["PostgreSQL restart"]
    replaced = kill["replaced at"]
    window_end = restart["done at"] + RECOVERY_LIMIT

    # The failures an event excuses: PostgreSQL's restart, those answered from its start to
    # RECOVERY_LIMIT s after it ended; the killed worker, A's answered until its replacement.
    def in_restart_window(record: Record) -> bool:
        return restart["started at"] <= record.end <= window_end

    def lost_with_worker(record: Record) -> bool:
        until = replaced if replaced is not None else end
        return record.instance == "A" and kill["killed at"] <= record.end <= until

    failures = [r for r in records if r.failed]
    pg_failures = [r for r in failures if in_restart_window(r)]
    kill_failures = [r for r in failures if lost_with_worker(r) and not in_restart_window(r)]
    outside = [r for r in failures if not in_restart_window(r) and not lost_with_worker(r)]
    recovered_at = max([r.end for r in pg_failures] + [restart["done at"]])

    print_load(load, records, events, recovered_at, end)
    edit_seen = print_edit(events["edit"])
    worker_ok = print_worker_kill(kill, records, kill_failures, in_restart_window)
    import_ok = print_import(events["import kill"])
    recovered, window = print_restart(
        load, records, restart, pg_failures, recovered_at, window_end, events["after"]
    )
    print_logs(instances)
    if outside:
        print()
        print(f"failures outside the excused windows: {len(outside)}; the first ones:")
        for record in outside[:10]:
            print(f"  {describe(record)}")

    lost = f" ({len(kill_failures)} in flight on the killed worker)" if kill_failures else ""
    verdicts = [
        (not outside, f"no 5xx/no error outside the PostgreSQL restart window{lost}"),
        (edit_seen, "edit visible on the other instance at once"),
        (
            recovered,
            "recovered after PostgreSQL restart without restarting gunicorn "
            f"(failure window {window:.1f} s)",
        ),
        (worker_ok, "killed worker replaced, no failure after"),
        (import_ok, "killed import left the database unchanged"),
    ]
    print()
    for passed, text in verdicts:
        print(f"{'PASS' if passed else 'FAIL'}: {text}")
    return not all(passed for passed, _ in verdicts)


def print_load(load: Load, records: list[Record], events: dict, recovered_at, end) -> None:
    print()
    print("== load ==")
    pages = ", ".join(f"{name} {path}" for name, path in load.pages.items())
    print(
        f"{len(load.ports)} instances x {WORKERS} gunicorn sync workers; {load.clients} locust "
        f"users per instance, closed loop, {REQUEST_TIMEOUT} s timeout; pages: {pages}"
    )
    print(
        f"{'':<36}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>9}"
        f"{'non-2xx/3xx':>13}{'conn errors':>13}"
    )
    phases = [
        ("1 steady", 0.0),
        ("2 edit via A's admin", events["edit"]["started at"]),
        ("3 worker kill", events["worker kill"]["killed at"]),
        ("4 import kill", events["import kill"]["started at"]),
        ("5 PostgreSQL restart", events["PostgreSQL restart"]["started at"]),
        ("6 after recovery", recovered_at),
    ]
    for index, (name, start) in enumerate(phases):
        until = phases[index + 1][1] if index + 1 < len(phases) else end
        chunk = [r for r in records if start <= r.start < until]
        print(row(f"{name} ({start:.1f}-{until:.1f} s)", chunk, until - start))
    for instance in load.ports:
        print(row(f"instance {instance}", [r for r in records if r.instance == instance], end))
    for page in load.pages:
        print(row(f"page {page}", [r for r in records if r.page == page], end))
    print(row("all", records, end))
    answers = Counter(r.status or r.error for r in records)
    print("answers: " + ", ".join(f"{k}: {v:,}" for k, v in answers.most_common()))
    hits = Counter(r.cache for r in records if r.page != "readyz" and not r.failed)
    print(f"X-Cache of the pages served: hit {hits['hit']:,}, miss {hits['miss']:,}")
    print(f"locust's warnings: {len(load.complaints)}")
    for line in load.complaints[:5]:
        print(f"  {line}")


def print_edit(edit: dict) -> bool:
    print()
    print("== edit through A, read through B ==")
    print(
        f"explainer {edit['pk']}: {edit['old title']!r} -> {edit['title']!r}, saved at "
        f"{edit['saved at']:.2f} s (admin redirected to {edit['redirected to']})"
    )
    before, category, explainer = edit["before"], edit["category"], edit["explainer"]
    print(
        f"B's category page before the edit: {before['status']}, X-Cache {before['cache']}, "
        f"old title shown: {yes(before['shown'])}"
    )
    print(
        f"B's category page, answered {1000 * edit['read after']:.0f} ms after the save: "
        f"{category['status']}, X-Cache {category['cache']}, new title shown: "
        f"{yes(category['shown'])}"
    )
    print(
        f"B's explainer page next: {explainer['status']}, X-Cache {explainer['cache']}, "
        f"new title shown: {yes(explainer['shown'])}"
    )
    return category["status"] == 200 and category["shown"]


def print_worker_kill(kill: dict, records, kill_failures, in_restart_window) -> bool:
    print()
    print("== worker kill (instance A) ==")
    print(
        f"workers before: {kill['before']}; "
        f"SIGKILL to {kill['victim']} at {kill['killed at']:.2f} s"
    )
    replaced = kill["replaced at"]
    if replaced is None:
        print("no new worker within 30 s")
        return False
    print(
        f"new worker {kill['new']} after {1000 * (replaced - kill['killed at']):.0f} ms; "
        f"workers now {kill['after']}"
    )
    for line in kill["log"]:
        print(f"  gunicorn A: {line[:150]}")
    if kill["was leaving"]:
        print("the victim had begun a max_requests restart when it was killed: inconclusive")
    print(f"requests lost with the killed worker: {len(kill_failures)}")
    for record in kill_failures:
        print(f"  {describe(record, kill['killed at'])}")
    after = [r for r in records if r.instance == "A" and r.start >= replaced]
    failed = [r for r in after if r.failed and not in_restart_window(r)]
    print(
        f"A's requests sent after the replacement: {len(after):,}, failed: {len(failed)} "
        "(not counting the PostgreSQL restart's window)"
    )
    return bool(after) and not failed and not kill["was leaving"]


def print_import(imported: dict) -> bool:
    print()
    print("== import killed midway ==")
    writing, bulk, killed = imported["writing at"], imported["bulk at"], imported["killed at"]
    print(f"import_listings started at {imported['started at']:.2f} s", end="")
    print(f", first write at {writing:.2f} s" if writing is not None else ", no write", end="")
    print(f", bulk inserts from {bulk:.2f} s" if bulk is not None else ", no bulk insert")
    if killed is not None:
        print(
            f"SIGKILL at {killed:.2f} s (exit {imported['exit']}); its database session ended "
            f"{1000 * imported['session gone after']:.0f} ms later"
        )
    else:
        print(f"it finished by itself (exit {imported['exit']}): {imported['output']}")
    print(
        "rows it had inserted, rolled back (pg_stat_user_tables.n_tup_ins): "
        f"{imported['inserted']:,}"
    )
    print(f"{'':<22}{'before':>34}{'after':>34}")
    for key, value in imported["before"].items():
        mark = "" if imported["after"].get(key) == value else "   <- CHANGED"
        print(f"{key:<22}{value!s:>34}{imported['after'].get(key)!s:>34}{mark}")
    print(f"files left in MEDIA_ROOT by the killed import: {imported['files_left']:,}")
    return killed is not None and imported["before"] == imported["after"]


def print_restart(load, records, restart, failures, recovered_at, window_end, final):
    """The restart's figures; return (recovered in time, failure window in seconds)."""
    print()
    print("== PostgreSQL restart ==")
    origin, done = restart["started at"], restart["done at"]
    print(f"pg_ctlcluster restart from {origin:.2f} s to {done:.2f} s ({done - origin:.2f} s)")
    window = 0.0
    if failures:
        first, last = failures[0], max(failures, key=lambda r: r.end)
        window = last.end - min(r.start for r in failures)
        print(f"failed requests: {len(failures)}; times relative to the restart's start:")
        print(f"  first failure: {describe(first, origin)}")
        print(f"  last failure:  {describe(last, origin)}")
        kinds = Counter(f"{r.page} {r.status or r.error}" for r in failures)
        print("  by page and answer: " + ", ".join(f"{k}: {v}" for k, v in kinds.most_common()))
    else:
        print("no request failed")
    during = [r for r in records if r.start <= done and r.end >= origin]
    served = Counter(f"{r.page} ({r.cache or 'no X-Cache'})" for r in during if not r.failed)
    print(
        f"requests in flight during the restart: {len(during):,}, answered fine "
        f"{sum(served.values()):,}: " + ", ".join(f"{k} {v}" for k, v in sorted(served.items()))
    )
    if during:
        slowest = max(during, key=lambda r: r.duration)
        print(
            f"  over 1 s: {sum(r.duration > 1 for r in during)}; slowest "
            f"{1000 * slowest.duration:.0f} ms ({describe(slowest, origin)})"
        )
    after = [r for r in records if r.start > recovered_at]
    ok_by_instance = Counter(r.instance for r in after if not r.failed)
    ready_by_instance = {r.instance for r in after if r.page == "readyz" and not r.failed}
    print(
        f"after the last failure: {len(after):,} requests, {sum(r.failed for r in after)} "
        "failed; " + ", ".join(f"{name} {ok_by_instance[name]:,} ok" for name in load.ports)
    )
    readyz = ", ".join(
        f"{name} /readyz {status} {body}" for name, (status, body) in final["readyz"].items()
    )
    alive = ", ".join(f"{name} {yes(up)}" for name, up in final["masters alive"].items())
    print(f"after the load: {readyz}; first gunicorn masters still running: {alive}")
    recovered = (
        recovered_at <= window_end
        and not any(r.failed for r in after)
        and ready_by_instance == set(load.ports)
        and all(status == 200 for status, _ in final["readyz"].values())
        and all(final["masters alive"].values())
    )
    return recovered, window


def print_logs(instances) -> None:
    """Per instance: workers started, and the warning and error lines, grouped."""
    print()
    print("== gunicorn logs ==")
    words = ("WARNING", "ERROR", "CRITICAL", "Traceback")
    for instance in instances:
        lines = instance.log.read_text(errors="replace").splitlines()
        boots = sum("Booting worker" in line for line in lines)
        # Grouped without their time stamps and object addresses.
        problems = Counter(
            re.sub(r"0x[0-9a-f]+", "0x...", TIME_STAMP.sub("", line))
            for line in lines
            if any(word in line for word in words)
        )
        print(
            f"{instance.name}: {len(lines):,} lines; {boots} workers started (2 at start, then "
            f"replacements and max_requests recycling); {sum(problems.values())} lines with "
            + "/".join(words)
        )
        for line, count in problems.most_common(8):
            print(f"  {count:>4} x {line[:200]}")


def yes(value: bool) -> str:
    return "yes" if value else "NO"


if __name__ == "__main__":
    sys.exit(main())

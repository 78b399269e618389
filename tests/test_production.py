"""The site as production runs it: real gunicorn processes, DEBUG off, behind a TLS proxy.

Each server is started with the environment the image gets (docker/prod_check.py), a fresh
secret key, and its own throwaway database: a temporary SQLite file, or a PostgreSQL database
created for the run when the tests themselves run on PostgreSQL (DATABASE_URL). Requests come
from 127.0.0.1 with `X-Forwarded-Proto: https`, as the proxy would send them, unless a test is
about plain HTTP. Every process started here is stopped before the test ends.
"""

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

PROJECT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SHARED_REDIS = "redis://127.0.0.1:6379/13"  # this suite's own Redis database: flushed freely
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_DATABASE = "postgres://postgres@127.0.0.1:1/explainers?connect_timeout=2"
CATEGORY = "/ai-principles/llm-foundations/"
ADMIN_PASSWORD = secrets.token_urlsafe(16)
HTTP_TIMEOUT = 30  # /readyz may wait 10 s for the database pool before it answers 503


# Processes


def run(command: list[str], env: dict | None = None, timeout: float = 180) -> str:
    result = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    return run([PYTHON, "manage.py", *args], env, timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    log: Path

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs) -> "Answer":
        return fetch(self.port, path, **kwargs)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(env: dict, log: Path):
    """gunicorn with the project's config and one worker, on a free port, until the block ends."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", "docker/gunicorn.conf.py", "site_config.wsgi"],
            cwd=PROJECT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port, log)
    try:
        wait_until_answering(server, process)
        yield server
    finally:
        stop(process)


def wait_until_answering(server: Server, process: subprocess.Popen, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped while starting:\n{server.log_text()}")
        try:
            if server.get("/healthz", https=False, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not answer within {seconds:.0f} s:\n{server.log_text()}")


def stop(process: subprocess.Popen):
    """SIGTERM to the server's own process group, SIGKILL if it has not gone within 15 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# HTTP


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def __getitem__(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookie(self, name: str):
        """The Set-Cookie morsel for ``name`` (None if the answer does not set it)."""
        for line in self.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(line)
            if name in jar:
                return jar[name]
        return None

    def json(self):
        return json.loads(self.text)

    def first_card_title(self) -> str:
        return re.search(r'<h3 class="card-title"><a href="[^"]+">([^<]+)</a>', self.text)[1]


def fetch(
    port: int,
    path: str,
    *,
    https: bool = True,
    method: str = "GET",
    headers: dict | None = None,
    body: str | None = None,
    timeout: float = HTTP_TIMEOUT,
) -> Answer:
    """One request, redirects not followed; ``https`` says so as the TLS proxy would."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = {"X-Forwarded-Proto": "https"} if https else {}
        connection.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read().decode())
    finally:
        connection.close()


def cache_control(answer: Answer) -> set[str]:
    return {part.strip().lower() for part in (answer["Cache-Control"] or "").split(",")}


def content_security_policy(answer: Answer) -> dict[str, list[str]]:
    directives = {}
    for directive in (answer["Content-Security-Policy"] or "").split(";"):
        name, *values = directive.split()
        directives[name] = values
    return directives


# The production environment


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("production")


@pytest.fixture(scope="module")
def database_url(workdir):
    """A throwaway database: PostgreSQL when the tests run on it, SQLite otherwise."""
    configured = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not configured.scheme.startswith("postgres"):
        yield f"sqlite:///{workdir / 'db.sqlite3'}"
        return
    name = f"{configured.path.strip('/')}_prod_{os.getpid()}"
    postgres = ["-h", configured.hostname, "-p", str(configured.port or 5432)]
    postgres += ["-U", configured.username or "postgres"]
    run(["createdb", *postgres, name], timeout=30)
    try:
        yield configured._replace(path=f"/{name}", query="").geturl()
    finally:
        run(["dropdb", *postgres, "--if-exists", "--force", name], timeout=30)


@pytest.fixture(scope="module")
def production_env(workdir, database_url):
    """What the image's environment holds: DEBUG off, a fresh secret, no Redis unless asked."""
    return {
        "PATH": f"{Path(PYTHON).parent}:/usr/bin:/bin",
        "HOME": str(workdir),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_URL": database_url,
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def site_env(production_env):
    """The production environment with collected static files, the content and an admin."""
    manage(production_env, "collectstatic", "--no-input", "-v0")
    manage(production_env, "migrate", "--no-input", "-v0")
    manage(production_env, "loaddata", "explainers", "-v0")
    manage(
        {
            **production_env,
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
            "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
        },
        "createsuperuser",
        "--no-input",
    )
    return production_env


@pytest.fixture(scope="module")
def site(site_env, workdir):
    with gunicorn(site_env, workdir / "site.log") as server:
        yield server


@pytest.fixture(scope="module")
def shared_redis():
    """Redis database 13, emptied before and after; tests fail on CI if Redis is down."""
    import redis

    client = redis.Redis.from_url(SHARED_REDIS, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as error:
        message = f"Redis does not answer at {SHARED_REDIS}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


# Settings


# What a process loads. Imported by the admin, the API or writes only: a process that serves
# readers alone never loads them (site_config/public_urls.py), and loads each when first asked.
ADMIN_MODULES = ["explainers.admin", "reversion_compare.admin", "adminsortable2.admin"]
API_MODULES = ["api.views", "ninja", "pydantic", "django.test"]
WRITERS_MODULES = ["PIL", "markdown_it", "nh3", "explainers.drawing"]
SERVE_IN_ONE_PROCESS = """
import io, json, os, re, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings"  # as site_config/wsgi.py sets it
django.setup()
from django.core.handlers.wsgi import WSGIHandler
application = WSGIHandler()
watched = json.loads(sys.argv[1])

def get(path):
    address, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": address, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "443", "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
    }
    statuses = []
    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body.decode()

report = []
for paths in json.loads(sys.argv[2]):
    statuses = {}
    for path in paths:
        statuses[path], page = get(path)
        if path.endswith("-foundations/"):  # the category: its first card's explainer
            first = re.search(r'class="card-title"><a href="([^"]+)"', page)
            explainer = first[1] if first else "the category page lists no card"
            statuses[explainer] = get(explainer)[0]
    report.append({"statuses": statuses, "loaded": [m for m in watched if m in sys.modules]})
print(json.dumps(report))
"""


def test_a_process_serving_readers_loads_neither_the_admin_nor_the_api(site_env):
    readers = ["/", "/ai-principles/", CATEGORY, f"{CATEGORY}?page=2", "/search/?q=attention"]
    readers += ["/series/mona-explainer/", "/feeds/atom.xml", "/sitemap.xml", "/robots.txt"]
    watched = [*ADMIN_MODULES, *API_MODULES, *WRITERS_MODULES]
    steps = [readers, ["/admin/login/"], ["/api/v1/categories"]]
    output = run(
        [PYTHON, "-c", SERVE_IN_ONE_PROCESS, json.dumps(watched), json.dumps(steps)], site_env
    )
    as_readers, then_admin, then_api = json.loads(output.splitlines()[-1])

    assert len(as_readers["statuses"]) == len(readers) + 1  # and the explainer
    assert set(as_readers["statuses"].values()) == {"200 OK"}, as_readers["statuses"]
    assert as_readers["loaded"] == []
    # The same process still answers the admin and the API, loading them when asked.
    assert then_admin["statuses"] == {"/admin/login/": "200 OK"}
    assert set(ADMIN_MODULES) <= set(then_admin["loaded"])
    assert then_api["statuses"] == {"/api/v1/categories": "200 OK"}
    assert set(API_MODULES) <= set(then_api["loaded"])


def test_the_admins_checks_see_every_registered_admin_before_any_url_is_loaded(production_env):
    # The admin's modules load with its addresses; `manage.py check` must still check them.
    script = (
        "import django; django.setup()\n"
        "from django.contrib import admin; from django.core import checks\n"
        "from explainers.models import Explainer\n"
        "before = admin.site.is_registered(Explainer)\n"
        "checks.run_checks(tags=[checks.Tags.admin])\n"
        "print(before, admin.site.is_registered(Explainer))\n"
    )
    env = {**production_env, "DJANGO_SETTINGS_MODULE": "site_config.settings"}
    assert run([PYTHON, "-c", script], env).split() == ["False", "True"]


def test_check_deploy_finds_nothing_to_warn_about_in_production_settings(production_env):
    output = manage(production_env, "check", "--deploy", "--fail-level", "WARNING", timeout=60)

    assert "System check identified no issues" in output


# Security headers, HTTPS and request ids


@pytest.mark.parametrize("path", ["/", CATEGORY, "/admin/login/"])
def test_every_answer_carries_the_security_headers(site, path):
    answers = [site.get(path), site.get(path)]  # the second of a public page is a cache hit

    if path != "/admin/login/":
        assert [answer["X-Cache"] for answer in answers] == ["miss", "hit"]
    for answer in answers:
        assert answer.status == 200
        hsts = answer["Strict-Transport-Security"]
        # Subdomains and preload are opt-in (tests/test_settings.py).
        assert hsts == "max-age=31536000"
        assert answer["X-Frame-Options"] == "DENY"
        assert answer["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert "camera=()" in answer["Permissions-Policy"]
        policy = content_security_policy(answer)
        assert policy["script-src"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"]


def test_the_csrf_and_session_cookies_are_secure(site):
    login_page = site.get("/admin/login/")
    csrf = login_page.cookie("csrftoken")
    assert csrf is not None and csrf["secure"] is True
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)[1]

    signed_in = site.get(
        "/admin/login/?next=/admin/",
        method="POST",
        body=urlencode(
            {"csrfmiddlewaretoken": token, "username": "admin", "password": ADMIN_PASSWORD}
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf.value}",
            "Origin": f"https://{site.origin}",
        },
    )

    assert signed_in.status == 302, signed_in.text[:2000]
    assert signed_in["Location"] == "/admin/"
    session = signed_in.cookie("sessionid")
    assert session is not None and session["secure"] is True and session["httponly"] is True
    assert signed_in.cookie("csrftoken")["secure"] is True


def test_plain_http_is_redirected_to_https_except_the_health_checks(site):
    for path in ["/", CATEGORY, "/admin/"]:
        answer = site.get(path, https=False)

        assert answer.status == 301, path
        assert answer["Location"] == f"https://{site.origin}{path}"

    assert site.get("/healthz", https=False).status == 200
    assert site.get("/readyz", https=False).status == 200


def test_a_request_id_is_echoed_when_sent_and_generated_when_not(site):
    echoed = site.get("/", headers={"X-Request-ID": "proxy-4f2a.17_b"})
    generated = [site.get("/"), site.get("/healthz", https=False)]
    replaced = site.get("/", headers={"X-Request-ID": "not an id; <script>"})

    assert echoed["X-Request-ID"] == "proxy-4f2a.17_b"
    for answer in [*generated, replaced]:
        assert re.fullmatch(r"[0-9a-f]{32}", answer["X-Request-ID"])
    assert generated[0]["X-Request-ID"] != generated[1]["X-Request-ID"]
    # gunicorn's access log line carries the same id (docker/gunicorn.conf.py).
    deadline = time.monotonic() + 5
    while "request_id=proxy-4f2a.17_b" not in site.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert 'path="/" status=200' in site.log_text()
    assert "request_id=proxy-4f2a.17_b" in site.log_text()


# Health checks


def test_readyz_answers_200_when_the_database_and_redis_answer(shared_redis, site_env, workdir):
    with gunicorn({**site_env, "REDIS_URL": SHARED_REDIS}, workdir / "ready.log") as server:
        answer = server.get("/readyz", https=False)

    assert answer.status == 200
    assert answer.json() == {"database": "ok", "cache": "ok"}
    assert "no-cache" in cache_control(answer)


def test_readyz_names_the_database_when_it_is_unreachable_and_healthz_still_answers(
    site_env, workdir
):
    env = {**site_env, "DATABASE_URL": UNREACHABLE_DATABASE}

    with gunicorn(env, workdir / "database-down.log") as server:
        health = server.get("/healthz", https=False)
        started = time.monotonic()
        ready = server.get("/readyz", https=False)
        waited = time.monotonic() - started

    assert health.status == 200 and health.text == "ok\n"
    assert ready.status == 503
    assert ready["Content-Type"] == "application/json"
    assert ready.json()["database"].startswith("unavailable: ")
    assert ready.json()["cache"] == "ok"
    assert waited < 20  # the pool gives up after its 10 s timeout


def test_readyz_names_the_cache_when_redis_is_unreachable_and_pages_still_answer(site_env, workdir):
    env = {**site_env, "REDIS_URL": UNREACHABLE_REDIS}

    with gunicorn(env, workdir / "redis-down.log") as server:
        ready = server.get("/readyz", https=False)
        page = server.get(CATEGORY)

    assert ready.status == 503
    assert ready.json() == {"database": "ok", "cache": "unavailable: ConnectionError"}
    assert page.status == 200
    assert page["X-Cache"] is None
    assert "LLM Foundations" in page.text


# One page cache for every web process


def test_two_processes_share_cached_pages_and_their_invalidation(shared_redis, site_env, workdir):
    # Each process answers repeats from its own copy for this long (explainers.cache).
    local_seconds = 1
    env = {**site_env, "REDIS_URL": SHARED_REDIS, "DJANGO_CACHE_LOCAL_SECONDS": str(local_seconds)}
    new_title = f"Renamed in another process {uuid.uuid4().hex[:8]}"
    shared_redis.flushdb()  # no page cached by an earlier test

    with gunicorn(env, workdir / "a.log") as a, gunicorn(env, workdir / "b.log") as b:
        # Behind one load balancer both machines see the site's one host name.
        site = {"Host": "localhost"}
        first = a.get(CATEGORY, headers=site)
        from_b = b.get(CATEGORY, headers=site)
        b_copied_at = time.monotonic()
        assert (first.status, from_b.status) == (200, 200)
        assert (first["X-Cache"], from_b["X-Cache"]) == ("miss", "hit")
        assert from_b.text == first.text
        old_title = first.first_card_title()

        # A third process saves the first explainer of the page, as an editor's save would.
        manage(
            env,
            "shell",
            "-c",
            "from explainers.models import Explainer\n"
            "explainer = Explainer.objects.published()"
            ".filter(category__path='ai-principles/llm-foundations')"
            ".order_by('position', 'pk').first()\n"
            f"explainer.title = {new_title!r}\n"
            "explainer.save()\n",
            timeout=60,
        )

        # The change reaches B's readers once B's copy of its last lookup has run out.
        time.sleep(max(0, b_copied_at + local_seconds + 0.2 - time.monotonic()))
        b_after = b.get(CATEGORY, headers=site)
        a_after = a.get(CATEGORY, headers=site)

    assert b_after["X-Cache"] == "miss"
    assert b_after.first_card_title() == new_title
    assert a_after["X-Cache"] == "hit"  # the page B stored under the new version
    assert a_after.first_card_title() == new_title
    assert old_title not in a_after.text
